"""The stack's alarms, schedule and topic subscriptions in the local account: created from the
template (moto's CloudWatch, EventBridge Scheduler and SNS), saved with the account and restored
with it, so `calltime status` reads them locally as it does on AWS. They hold state only: no
metric is evaluated and no schedule fires locally (the template's own tests check their
definitions)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

# The parameters of PutMetricAlarm that DescribeAlarms gives back.
_ALARM_FIELDS = ("AlarmName", "AlarmDescription", "AlarmActions", "MetricName", "Namespace",
                 "Statistic", "ExtendedStatistic", "Dimensions", "Period", "EvaluationPeriods",
                 "Threshold", "ComparisonOperator", "TreatMissingData", "Metrics")
_SCHEDULE_FIELDS = ("Name", "Description", "ScheduleExpression", "ScheduleExpressionTimezone",
                    "State", "FlexibleTimeWindow", "Target")


def create_from_template(resources: dict[str, Any], resolve: Callable[[Any], Any]) -> None:
    """The template's alarms, schedules and topic subscriptions (idempotent)."""
    for resource in resources.values():
        kind = resource["Type"]
        if kind not in ("AWS::CloudWatch::Alarm", "AWS::Scheduler::Schedule",
                        "AWS::SNS::Subscription"):
            continue
        props = resolve(resource.get("Properties", {}))
        if kind == "AWS::CloudWatch::Alarm":
            _put_alarm({k: v for k, v in props.items() if k in _ALARM_FIELDS})
        elif kind == "AWS::Scheduler::Schedule":
            _create_schedule({k: v for k, v in props.items() if k in _SCHEDULE_FIELDS})
        elif kind == "AWS::SNS::Subscription":
            boto3.client("sns").subscribe(TopicArn=props["TopicArn"], Protocol=props["Protocol"],
                                          Endpoint=props["Endpoint"])


def _put_alarm(definition: dict[str, Any]) -> None:
    boto3.client("cloudwatch").put_metric_alarm(**definition)


def _create_schedule(definition: dict[str, Any]) -> None:
    """Created, or updated to the definition when it exists (a setting changed since)."""
    scheduler = boto3.client("scheduler")
    try:
        scheduler.create_schedule(**definition)
    except ClientError as err:
        if err.response["Error"]["Code"] != "ConflictException":
            raise
        scheduler.update_schedule(**definition)


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """What save_state keeps: the topics, each alarm's definition and state, each schedule,
    each subscription."""
    cloudwatch, scheduler, sns = (boto3.client(s) for s in ("cloudwatch", "scheduler", "sns"))
    alarms = [{**{k: a[k] for k in _ALARM_FIELDS if k in a}, "StateValue": a["StateValue"],
               "StateReason": a.get("StateReason", "")}
              for page in cloudwatch.get_paginator("describe_alarms").paginate()
              for a in page["MetricAlarms"]]
    schedules = []
    for page in scheduler.get_paginator("list_schedules").paginate():
        for listed in page["Schedules"]:
            found = scheduler.get_schedule(Name=listed["Name"])
            schedules.append({k: found[k] for k in _SCHEDULE_FIELDS if k in found})
    subscriptions = [{k: s[k] for k in ("TopicArn", "Protocol", "Endpoint")}
                     for page in sns.get_paginator("list_subscriptions").paginate()
                     for s in page["Subscriptions"]]
    topics = [t["TopicArn"].rsplit(":", 1)[-1]
              for page in sns.get_paginator("list_topics").paginate() for t in page["Topics"]]
    return {"topics": topics, "alarms": alarms, "schedules": schedules,
            "subscriptions": subscriptions}


def restore(saved: Any, where: str = "state.json") -> list[str]:
    """Re-create what `snapshot` saved. An entry that cannot be restored (a damaged or
    hand-edited file) is skipped and named, on stderr and in the returned list: these are the
    template's, and `make pipeline` makes them again when it stands the template up."""
    saved = saved if isinstance(saved, dict) else {"(the monitoring section)": saved}
    sns, cloudwatch = boto3.client("sns"), boto3.client("cloudwatch")

    def alarm(entry: dict[str, Any]) -> None:
        _put_alarm({k: v for k, v in entry.items() if k in _ALARM_FIELDS})
        if entry["StateValue"] != "INSUFFICIENT_DATA":
            cloudwatch.set_alarm_state(AlarmName=entry["AlarmName"],
                                       StateValue=entry["StateValue"],
                                       StateReason=entry.get("StateReason") or "restored")

    kinds = {"topics": lambda name: sns.create_topic(Name=name), "alarms": alarm,
             "schedules": lambda entry: _create_schedule(entry),
             "subscriptions": lambda entry: sns.subscribe(**entry)}
    skipped = []
    for kind, entries in saved.items():
        if kind not in kinds:
            skipped.append(f"monitoring.{kind}: not a section a save writes")
            continue
        if not isinstance(entries, list):
            skipped.append(f"monitoring.{kind}: not a list")
            continue
        for index, entry in enumerate(entries):
            try:
                kinds[kind](entry)
            except (KeyError, TypeError, ValueError, ClientError, BotoCoreError) as err:
                skipped.append(f"monitoring.{kind}[{index}]: {type(err).__name__}: {err}"[:200])
    if skipped:
        print(f"{where}: skipped what could not be restored ({'; '.join(skipped)}); `make "
              "pipeline` makes the stack's alarms, schedule and topic again from its template",
              file=sys.stderr)
    return skipped
