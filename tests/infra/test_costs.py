"""The cost table follows the settings it is computed from."""

from __future__ import annotations

from pathlib import Path

from infra.costs import ALARM_METRICS, Usage, estimate, table
from infra.settings import build, load


def _endpoint(rows: dict[str, float]) -> float:
    return next(cost for name, cost in rows.items() if name.startswith("endpoint compute"))


def test_endpoint_cost_scales_with_memory_and_traffic() -> None:
    small = estimate(build({"memory_size_mb": 1024}), Usage())
    large = estimate(build({"memory_size_mb": 3072}), Usage())
    busy = estimate(build({"memory_size_mb": 1024}), Usage(requests=5_000_000))
    assert _endpoint(large) == 3 * _endpoint(small)
    assert _endpoint(busy) == 5 * _endpoint(small)
    # 1 GB x 20 ms x 1M requests at $0.00002 per GB-second
    assert round(_endpoint(small), 6) == 0.4


def test_the_documented_cost_table_is_what_make_costs_prints_for_prod() -> None:
    """docs/deploying.md quotes `make costs CDK_ENV=prod`; a change of price, setting or item
    that is not carried to it fails here."""
    page = (Path(__file__).parents[2] / "docs" / "deploying.md").read_text()
    quoted = page.split("For the `prod` settings and 1M requests a month:", 1)[1]
    quoted = quoted.split("```", 2)[1].strip("\n")
    printed = table(load({"env": "prod"}), Usage())
    assert quoted == printed.strip("\n")
    rows = printed.splitlines()[2:-1]
    total = float(printed.splitlines()[-1].split()[-1])
    assert abs(total - sum(float(r.split()[-1]) for r in rows)) <= 0.005 * len(rows)  # rounding


def test_the_alarm_count_is_the_templates(synthesized) -> None:
    """CloudWatch bills every metric an alarm watches: one for a single-metric alarm, each
    MetricStat of a metric-math alarm. The cost table's count must be the template's."""
    _, _, template = synthesized
    alarms = template.find_resources("AWS::CloudWatch::Alarm").values()
    watched = sum(1 if "MetricName" in alarm["Properties"] else
                  sum("MetricStat" in m for m in alarm["Properties"]["Metrics"])
                  for alarm in alarms)
    assert watched == ALARM_METRICS
