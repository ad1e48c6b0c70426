"""docs/deploying.md's settings table is what an unset setting gives: each default it states
is read from that page and compared with the settings and with the template they synthesize (the
functions' environment, the log groups, the maps, the bucket), so a default changed in code
and not in the page, or the other way round, fails here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra.settings import build
from tests.support.stacks import definition, synth
from training import footprint

DEPLOYING = Path(__file__).resolve().parents[2] / "docs" / "deploying.md"


def documented_defaults() -> dict[str, str]:
    """{setting: default as docs/deploying.md writes it} for every row of the settings table that
    names its settings in backticks and gives one default for each."""
    defaults: dict[str, str] = {}
    for line in DEPLOYING.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`(\w+)`", cells[0])
        remarks_dropped = re.sub(r" \([^)]*\)", "", cells[1])  # "4096 (1,024..10,240)"
        values = [v.strip() for v in re.split(r",(?![^(]*\))", remarks_dropped)]
        if len(names) == len(values):
            defaults.update(zip(names, values, strict=True))
    return defaults


def _plain(value: str) -> str:
    return value.strip("`").replace(",", "")


SIMPLE = ("memory_size_mb", "max_concurrency", "schedule_expression", "schedule_time_zone",
          "schedule_enabled", "versions_to_keep", "quality_gate_tolerance",
          "health_max_latency_ms", "training_memory_mb", "training_timeout_minutes",
          "log_retention_days", "scale_out_buckets", "scale_out_concurrency")


def test_every_default_the_settings_table_states_is_the_settings_default() -> None:
    stated, settings = documented_defaults(), build({})
    assert set(SIMPLE) <= set(stated), sorted(set(SIMPLE) - set(stated))
    for name in SIMPLE:
        value = getattr(settings, name)
        shown = str(value).lower() if isinstance(value, bool) else \
            f"{value:g}" if isinstance(value, float) else str(value)
        assert _plain(stated[name]) == shown, (name, stated[name], value)
    assert stated["scale_out_rows"] == "what `training_memory_mb` holds"
    assert settings.scale_out_rows == 0  # 0: what training_memory_mb holds
    assert stated["notification_email"] == "none" and settings.notification_email is None
    alarms = dict(re.findall(r"`(\w+)` ([\d.]+)", next(
        line for line in DEPLOYING.read_text().splitlines() if line.startswith("   | `alarms`"))))
    assert {k: float(v) for k, v in alarms.items()} == vars(settings.alarms)


@pytest.fixture(scope="module")
def default_template(tmp_path_factory):
    """The dev stack with every setting at its default, and one with an e-mail to notify and
    other serverless sizes."""
    return synth(tmp_path_factory)[1].to_json(), synth(
        tmp_path_factory, notification_email="ops@example.com", memory_size_mb=2048,
        max_concurrency=50)[1].to_json()


def _resources(template: dict, kind: str) -> list[dict]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def test_the_defaults_reach_the_template(default_template) -> None:
    template, _ = default_template
    settings = build({})
    for function in _resources(template, "AWS::Lambda::Function"):
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["SCALE_OUT_ROWS"] == str(footprint.rows_that_fit(
            settings.training_memory_mb))  # what the train function's memory holds
        assert variables["SCALE_OUT_BUCKETS"] == "64"
        assert (variables["VERSIONS_TO_KEEP"], variables["QUALITY_GATE_TOLERANCE"],
                variables["HEALTH_MAX_LATENCY_MS"]) == ("3", "0.01", "3000.0")
    groups = _resources(template, "AWS::Logs::LogGroup")
    assert groups and {g["Properties"]["RetentionInDays"] for g in groups} == {90}
    maps = [s for s in _states(definition(template))
            if s.get("ItemProcessor", {}).get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED"]
    assert len(maps) == 3 and {m["MaxConcurrency"] for m in maps} == {100}


def _states(machine: dict):
    for state in machine["States"].values():
        yield state
        for inner in (state.get("ItemProcessor") or state.get("Iterator"),
                      *state.get("Branches", [])):
            if inner:
                yield from _states(inner)


def _defaults_of_a_run(template: dict) -> list[dict]:
    """What the state machine merges under an execution's input (`{}` from the console)."""
    return [state["Parameters"]["defaults"] for state in _states(definition(template))
            if "defaults" in state.get("Parameters", {})]


def test_a_run_started_with_nothing_gets_the_settings_serverless_sizes(default_template) -> None:
    template, other = default_template
    assert [(d["memory_size_mb"], d["max_concurrency"]) for d in _defaults_of_a_run(template)] \
        == [(1024, 200)]
    assert [(d["memory_size_mb"], d["max_concurrency"]) for d in _defaults_of_a_run(other)] \
        == [(2048, 50)]


def test_the_bucket_outlives_the_stack_and_the_email_is_subscribed(default_template) -> None:
    template, notified = default_template
    buckets = _resources(template, "AWS::S3::Bucket")
    assert buckets and all(b["DeletionPolicy"] == "Retain" for b in buckets)
    assert _resources(template, "AWS::SNS::Subscription") == []
    assert [(s["Properties"]["Protocol"], s["Properties"]["Endpoint"])
            for s in _resources(notified, "AWS::SNS::Subscription")] == [
        ("email", "ops@example.com")]
    assert json.dumps(notified).count("ops@example.com") == 1
