"""The cost table follows the settings it is computed from."""

from __future__ import annotations

from infra.costs import ALARM_METRICS, Usage, estimate, table
from infra.settings import build


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


def test_table_totals_its_rows() -> None:
    settings = build({})
    text = table(settings, Usage())
    total = float(text.splitlines()[-1].split()[-1])
    assert abs(total - sum(estimate(settings, Usage()).values())) < 0.01


def test_the_alarm_count_is_the_templates(synthesized) -> None:
    """CloudWatch bills every metric an alarm watches: one for a single-metric alarm, each
    MetricStat of a metric-math alarm. The cost table's count must be the template's."""
    _, _, template = synthesized
    alarms = template.find_resources("AWS::CloudWatch::Alarm").values()
    watched = sum(1 if "MetricName" in alarm["Properties"] else
                  sum("MetricStat" in m for m in alarm["Properties"]["Metrics"])
                  for alarm in alarms)
    assert watched == ALARM_METRICS
