"""The local account's alarms, schedule and topic: saved and restored with it; a damaged entry
is skipped and named, never the traceback of every command that restores the account."""

from __future__ import annotations

import boto3

from localaws import monitoring_state
from localaws.runtime import LocalAWS

ALARM = {"AlarmName": "calltime-local-rollback", "MetricName": "Rollbacks",
         "Namespace": "calltime", "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1,
         "Threshold": 1.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold"}


def test_a_save_is_restored_with_the_alarms_state(tmp_path) -> None:
    with LocalAWS(work_dir=tmp_path / "a"):
        boto3.client("sns").create_topic(Name="calltime-local-notifications")
        cloudwatch = boto3.client("cloudwatch")
        cloudwatch.put_metric_alarm(**ALARM)
        cloudwatch.set_alarm_state(AlarmName=ALARM["AlarmName"], StateValue="ALARM",
                                   StateReason="a rollback")
        saved = monitoring_state.snapshot()
    with LocalAWS(work_dir=tmp_path / "b"):
        assert monitoring_state.restore(saved) == []
        alarm = boto3.client("cloudwatch").describe_alarms()["MetricAlarms"][0]
        assert (alarm["AlarmName"], alarm["StateValue"]) == (ALARM["AlarmName"], "ALARM")
        assert boto3.client("sns").list_topics()["Topics"][0]["TopicArn"].endswith(
            ":calltime-local-notifications")


def test_a_damaged_entry_is_skipped_and_named(tmp_path, capsys) -> None:
    damaged = {"topics": ["calltime-local-notifications"],
               "alarms": [{"AlarmName": "no-state"}, {**ALARM, "StateValue": "OK"}],
               "schedules": "not a list", "surprise": []}
    with LocalAWS(work_dir=tmp_path / "c"):
        skipped = monitoring_state.restore(damaged, "out/local-aws/state.json")
        names = [a["AlarmName"] for a in boto3.client("cloudwatch").describe_alarms()[
            "MetricAlarms"]]
    assert ALARM["AlarmName"] in names  # what could be restored was
    assert skipped == ["monitoring.alarms[0]: KeyError: 'StateValue'",
                       "monitoring.schedules: not a list",
                       "monitoring.surprise: not a section a save writes"]
    said = capsys.readouterr().err
    assert said.startswith("out/local-aws/state.json: skipped what could not be restored")
    assert "`make pipeline` makes the stack's alarms, schedule and topic again" in said
    with LocalAWS(work_dir=tmp_path / "d"):
        assert monitoring_state.restore(["not", "a", "dict"])  # the whole section: named
