"""`calltime status`: is the deployed system healthy, in one screen, and what needs a person.

    calltime status [--stack calltime-prod] [--region il-central-1]
    calltime status --local-state out/local-aws

One line per thing an operator would otherwise look up in five consoles: the live version and
since when, the endpoint's status and config, the last runs and how they ended, the lock, the
schedule (enabled, next run), alarms in ALARM, the topic's unconfirmed subscriptions, the
region's serverless support. Exit code 0 when nothing needs a person, 1 when something does
(each such line is marked `!!` and named again at the end), 2 when the stack is not found.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from operations.account import Account, add_target, chosen
from operations.runs import run_summary
from operations.schedule_times import Unsupported, next_run
from operations.versions import live_version, read_json
from pipeline_lambdas.contract import (
    ALARM_IDS,
    HISTORY_FILE,
    IN_PROGRESS_STATUSES,
    LOCK_KEY,
    EndState,
    Outcome,
    history_key,
)
from pipeline_lambdas.deployment import describe
from pipeline_lambdas.run_lock import owner_running
from pipeline_lambdas.serverless_regions import SERVERLESS_INFERENCE_REGIONS

RUNS_SHOWN = 3
# How a run ended (its outcome, or the end state a failed execution names as its error): these
# need a person to look. A refused run (another held the lock) and a kept model do not.
_ROLLED_BACK = "the new model failed and the previous one serves again"
_ROLLBACK_FAILED = "the endpoint may not serve the previous model"
_FAILED = "a step failed before the endpoint was touched"
NEEDS_A_PERSON = {Outcome.ROLLED_BACK: _ROLLED_BACK, EndState.ROLLED_BACK: _ROLLED_BACK,
                  Outcome.ROLLBACK_FAILED: _ROLLBACK_FAILED,
                  EndState.ROLLBACK_FAILED: _ROLLBACK_FAILED,
                  Outcome.FAILED: _FAILED, EndState.PIPELINE_FAILED: _FAILED}
OK, ATTENTION, NOTE = "ok", "!!", "--"


@dataclass
class Line:
    topic: str
    mark: str  # OK, ATTENTION (needs a person) or NOTE (worth knowing, not an alarm)
    text: str


def deployed_by(account: Account, version: str | None) -> dict[str, Any] | None:
    """The newest run in the stack's history (Notify's) that deployed `version`."""
    key = history_key(HISTORY_FILE, account.models_prefix)
    records = read_json(account.s3, account.bucket, key)
    return next((r for r in reversed(records if isinstance(records, list) else [])
                 if isinstance(r, dict) and r.get("model_version") == version
                 and r.get("outcome") == Outcome.DEPLOYED), None)


def endpoint_lines(account: Account, run_running: bool) -> list[Line]:
    """The live version and since when; the endpoint's status and config."""
    sagemaker, endpoint_name = account.sagemaker, account.endpoint_name
    endpoint = describe(sagemaker, endpoint_name) if endpoint_name else None
    if endpoint is None:
        if run_running:
            return [Line("endpoint", NOTE, f"{endpoint_name} does not exist yet: the run under "
                         "way creates it")]
        return [Line("endpoint", ATTENTION, f"{endpoint_name or 'the endpoint'} does not exist: "
                     "nothing serves; the first run creates it (start the state machine)")]
    status, config = endpoint["EndpointStatus"], endpoint["EndpointConfigName"]
    described = sagemaker.describe_endpoint_config(EndpointConfigName=config)
    serverless = described["ProductionVariants"][0].get("ServerlessConfig", {})
    sized = (f"{serverless.get('MemorySizeInMB', '?')} MB, max concurrency "
             f"{serverless.get('MaxConcurrency', '?')}")
    since = endpoint.get("LastModifiedTime")
    since_text = since.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") \
        if isinstance(since, dt.datetime) else str(since or "?")
    lines = []
    if status == "InService":
        version = live_version(sagemaker, endpoint_name, account.models_prefix)
        run = deployed_by(account, version) if version else None
        since_text = f"{run['finished_at'][:16].replace('T', ' ')} UTC (deployed by run " \
                     f"{run['execution']})" if run and run.get("finished_at") else \
            f"{since_text} (the endpoint's last change)"
        lines.append(Line("live version", OK, f"{version or '(not a published version)'} since "
                                                   f"{since_text}"))
        lines.append(Line("endpoint", OK, f"{endpoint_name} InService on {config} ({sized})"))
    elif status in IN_PROGRESS_STATUSES:
        held = "a run is deploying" if run_running else "no run is deploying"
        what = {"Creating": (f"being created ({held}); nothing answers until it is InService",
                             not run_running),
                "Updating": (f"being updated ({held}); it answers on the config it had",
                             not run_running),
                "RollingBack": ("an update failed and SageMaker is putting the previous config "
                                f"back ({held}); it answers on the config it had", True),
                "SystemUpdating": ("SageMaker is maintaining it; it answers meanwhile", False)}
        text, needs = what.get(status, (f"{status} ({held})", True))
        lines.append(Line("endpoint", ATTENTION if needs else NOTE,
                          f"{endpoint_name} {status} on {config}: {text}"))
    else:
        reason = endpoint.get("FailureReason") or "no FailureReason given"
        lines.append(Line("endpoint", ATTENTION, f"{endpoint_name} {status} on {config}: "
                          f"{reason}"))
    return lines


def run_lines(account: Account) -> tuple[list[Line], bool]:
    """The newest runs, and whether one is running now."""
    newest = account.runs.newest(RUNS_SHOWN)
    if not newest:
        return [Line("last runs", NOTE, "none yet")], False
    lines, running = [], False
    finished_seen = False
    for execution in newest:
        summary = run_summary({**execution, **account.runs.describe(execution["executionArn"])})
        outcome = summary["outcome"] or summary["status"].lower()
        text = f"{summary['name']}  {summary['status']}  {summary['started']}  {summary['run']}"
        if summary["status"] == "RUNNING":
            running = True
            lines.append(Line("run", NOTE, f"{text} (running now)"))
            continue
        text += f"  {outcome}"
        failed = summary["status"] != "SUCCEEDED" and outcome not in (
            Outcome.REFUSED, EndState.RUN_REFUSED)
        if finished_seen:  # an older run: how it ended is history, not today's state
            lines.append(Line("run", NOTE if failed else OK, text))
            continue
        finished_seen = True  # the last run that ended says how the system stands
        if failed:
            why = NEEDS_A_PERSON.get(outcome, "it did not end in an outcome of its own (see the "
                                     "runbook by its error)")
            lines.append(Line("last run", ATTENTION, f"{text}: {why}; calltime runs show "
                              f"{summary['name']}"))
        else:
            lines.append(Line("run", OK, text))
    return lines, running


def lock_line(account: Account) -> Line:
    if account.sfn is None:  # a local account: a run under way in another process holds it
        holder = _local_holder(account)
        if holder is not None:
            return Line("lock", NOTE, f"held by run {holder} (running in another process; "
                        "the account's S3 is saved when it ends)")
    try:
        raw = account.s3.get_object(Bucket=account.bucket, Key=LOCK_KEY)["Body"].read()
    except ClientError as err:
        code = err.response["Error"]["Code"]
        if code in ("NoSuchKey", "404"):
            return Line("lock", OK, "free (no run has taken it yet)")
        if code == "AccessDenied":  # S3's answer for a key that is not there, too, without
            return Line("lock", NOTE, f"s3://{account.bucket}/{LOCK_KEY} cannot be read with "
                        "these credentials (AccessDenied: no s3:GetObject, or no such key and "
                        "no s3:ListBucket)")
        raise
    try:
        holder = json.loads(raw)
        owner = holder.get("owner") if isinstance(holder, dict) else ...
    except ValueError:
        owner = ...
    if owner is ...:
        return Line("lock", ATTENTION, f"s3://{account.bucket}/{LOCK_KEY} is not a lock this "
                    "pipeline wrote: no run can start (calltime unlock --force)")
    if owner is None:
        return Line("lock", OK, "free")
    running = owner_running(account.sfn, holder.get("execution_arn")) \
        if account.sfn is not None else _running_locally(account, holder.get("execution_arn"))
    since = holder.get("acquired_at", "?")
    if running:
        return Line("lock", NOTE, f"held by run {owner} since {since} (running)")
    state = "no longer running" if running is False else "whether it runs cannot be told"
    return Line("lock", NOTE, f"held by run {owner} since {since}, {state}: the next run takes "
                "it over (or calltime unlock)")


def _local_holder(account: Account) -> str | None:
    """The local run under way that has taken the lock and not released it: a local account's
    S3 is saved when its run ends, so the saved lock does not show a run in progress; its
    history does (AcquireLock left, ReleaseLock not yet)."""
    for execution in account.runs.newest(RUNS_SHOWN):
        if execution["status"] != "RUNNING":
            continue
        _, _, events = account.runs.history(execution["executionArn"])
        exits = {e["stateExitedEventDetails"]["name"]: e["stateExitedEventDetails"]
                 for e in events if e["type"].endswith("StateExited")}
        if "AcquireLock" not in exits or "ReleaseLock" in exits:
            continue
        out = json.loads(exits["AcquireLock"].get("output") or "{}")
        taken = isinstance(out.get("lock"), dict) and out["lock"].get("etag")
        refused = isinstance(out.get("error"), dict) and out["error"].get("Error")
        if taken and not refused:
            return execution["name"]
    return None


def _running_locally(account: Account, execution_arn: str | None) -> bool | None:
    if not execution_arn:
        return None
    for execution in account.runs.newest(1000):
        if execution["executionArn"] == execution_arn:
            return execution["status"] == "RUNNING"
    return False


def schedule_line(account: Account, now: dt.datetime) -> Line:
    if account.scheduler is None or not account.schedule_name:
        return Line("schedule", NOTE, "not known here")
    try:
        schedule = account.scheduler.get_schedule(Name=account.schedule_name)
    except ClientError as err:
        if err.response["Error"]["Code"] == "ResourceNotFoundException":
            return Line("schedule", ATTENTION, f"{account.schedule_name} does not exist: no "
                        "weekly retraining")
        raise
    expression = schedule["ScheduleExpression"]
    zone = schedule.get("ScheduleExpressionTimezone")
    if schedule.get("State") != "ENABLED":
        return Line("schedule", NOTE, f"{account.schedule_name} DISABLED ({expression}): runs "
                    "only when started by hand (setting schedule_enabled)")
    end = schedule.get("EndDate")
    try:
        upcoming = next_run(expression, zone, now)
        if expression.startswith("rate("):
            nxt = "every " + expression[5:-1] + " from its start"
        elif upcoming is None or (isinstance(end, dt.datetime) and upcoming > end):
            return Line("schedule", ATTENTION, f"{account.schedule_name} enabled, {expression}: "
                        "it will not run again (no time left in its expression or before its "
                        "EndDate)")
        else:
            nxt = upcoming.strftime("%Y-%m-%d %H:%M %Z")
    except Unsupported as err:
        nxt = f"see the console ({err})"
    return Line("schedule", OK, f"{account.schedule_name} enabled, {expression} {zone or 'UTC'}"
                f"; next run {nxt}")


def alarm_line(account: Account) -> Line:
    if account.cloudwatch is None or not account.resource_prefix:
        return Line("alarms", NOTE, "not known here")
    names = [f"{account.resource_prefix}-{alarm_id}" for alarm_id in ALARM_IDS]
    # The stack's alarms by their names (a prefix would match another environment's, e.g.
    # calltime-dev- and calltime-dev-eu-).
    alarms = [a for page in account.cloudwatch.get_paginator("describe_alarms").paginate(
        AlarmNames=names) for a in page["MetricAlarms"]]
    firing = [a["AlarmName"] for a in alarms if a["StateValue"] == "ALARM"]
    if firing:
        return Line("alarms", ATTENTION, "in ALARM: " + ", ".join(firing) +
                    " (docs/operating.md, Runbook, by name)")
    total = len(alarms)
    if total < len(names):
        missing = sorted(set(names) - {a["AlarmName"] for a in alarms})
        return Line("alarms", ATTENTION, f"missing: {', '.join(missing)} (deleted by hand, or "
                    "not calltime's stack?)")
    return Line("alarms", OK, f"none in ALARM ({total} alarms)")


def subscription_line(account: Account) -> Line:
    if account.sns is None or not account.topic_arn:
        return Line("notifications", NOTE, "not known here")
    return subscriptions_line([s for page in account.sns.get_paginator(
        "list_subscriptions_by_topic").paginate(TopicArn=account.topic_arn)
        for s in page["Subscriptions"]])


def subscriptions_line(subscriptions: list[dict[str, Any]]) -> Line:
    """ListSubscriptionsByTopic's answer: a subscription not yet confirmed has the
    SubscriptionArn "PendingConfirmation" (SNS API reference)."""
    pending = [s["Endpoint"] for s in subscriptions
               if s["SubscriptionArn"] == "PendingConfirmation"]
    if pending:
        return Line("notifications", ATTENTION, "unconfirmed: " + ", ".join(pending) +
                    " (the e-mail has a confirmation link; until then nothing reaches them)")
    if not subscriptions:
        return Line("notifications", NOTE, "no one subscribed to the topic: alarms and run "
                    "outcomes reach no one (setting notification_email)")
    return Line("notifications", OK, f"{len(subscriptions)} confirmed subscription(s)")


def region_line(region: str | None, endpoint_in_service: bool) -> Line:
    if not region:
        return Line("region", NOTE, "not known")
    if region in SERVERLESS_INFERENCE_REGIONS:
        return Line("region", OK, f"{region}: SageMaker Serverless Inference is offered")
    if endpoint_in_service:
        return Line("region", OK, f"{region}: not in the serverless guide's region list, but "
                    "the endpoint serves here")
    return Line("region", ATTENTION, f"{region}: SageMaker Serverless Inference is not in the "
                "documented regions; confirm it in the AWS Regional Services List "
                "(docs/deploying.md)")


def _read(topic: str, make, *args) -> Line | list[Line]:
    """One topic's line(s); a call AWS refuses becomes that topic's line, not the command's end
    (an operator's role may lack one permission: docs/operating.md lists them)."""
    try:
        return make(*args)
    except ClientError as err:
        error = err.response.get("Error", {})
        return Line(topic, ATTENTION, f"could not be read: {error.get('Code')}: "
                    f"{error.get('Message', '')}"[:300])


def status(account: Account, now: dt.datetime | None = None) -> list[Line]:
    now = now or dt.datetime.now(dt.UTC)
    runs = _read("last runs", run_lines, account)
    runs, running = (runs, False) if isinstance(runs, Line) else runs
    endpoint = _read("endpoint", endpoint_lines, account, running)
    endpoint = [endpoint] if isinstance(endpoint, Line) else endpoint
    runs = [runs] if isinstance(runs, Line) else runs
    in_service = any(line.topic == "live version" for line in endpoint)
    return [*endpoint, *runs, _read("lock", lock_line, account),
            _read("schedule", schedule_line, account, now), _read("alarms", alarm_line, account),
            _read("notifications", subscription_line, account),
            region_line(account.region, in_service)]


def render(account: Account, lines: list[Line]) -> str:
    width = max(len(line.topic) for line in lines)
    body = [f"calltime status: {account.label}"]
    body += [f"  {line.mark}  {line.topic.ljust(width)}  {line.text}" for line in lines]
    needing = [line.topic for line in lines if line.mark == ATTENTION]
    body.append("needs a person: " + ", ".join(needing) if needing else
                "healthy: nothing needs a person")
    return "\n".join(body)


def _status(args: argparse.Namespace) -> int:
    with chosen(args) as account:
        lines = status(account)
        print(render(account, lines))
    return 1 if any(line.mark == ATTENTION for line in lines) else 0


def add_status(parser: argparse.ArgumentParser) -> None:
    add_target(parser)
    parser.set_defaults(func=_status)
