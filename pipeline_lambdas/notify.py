"""Step 10: one SNS message per run outcome (deployed, kept current model, rolled back, failed)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline_lambdas import run_history
from pipeline_lambdas.clients import client
from pipeline_lambdas.contract import (
    HISTORY_PAGE,
    Outcome,
    history_key,
    notification_key,
    resource_prefix,
    version_prefix,
)
from pipeline_lambdas.errors import InvalidStepInput
from pipeline_lambdas.events import read_field
from pipeline_lambdas.observability import logger, step_handler
from pipeline_lambdas.settings import PipelineSettings
from training.outputs import REPORT_FILE

OUTCOMES = tuple(Outcome)


def links(settings: PipelineSettings, region: str, version: str | None,
          execution_arn: str | None) -> dict[str, str]:
    out = {"endpoint": f"https://{region}.console.aws.amazon.com/sagemaker/home?region="
                       f"{region}#/endpoints/{settings.endpoint_name}"}
    if version:
        out["report"] = (f"s3://{settings.models_bucket}/"
                         f"{version_prefix(version, settings.models_prefix)}{REPORT_FILE}")
    out["history"] = (f"s3://{settings.models_bucket}/"
                      f"{history_key(HISTORY_PAGE, settings.models_prefix)}")
    if execution_arn:
        out["execution"] = (f"https://{region}.console.aws.amazon.com/states/home?region="
                            f"{region}#/v2/executions/details/{execution_arn}")
    return out


def notify(sns, s3, settings: PipelineSettings, outcome: str, details: dict[str, Any],
           execution_name: str, region: str, execution_arn: str | None = None
           ) -> dict[str, Any]:
    """Publish once per execution and outcome: a retried step does not send it again, and one
    whose Publish failed does (the marker is claimed first, released if SNS refuses)."""
    if outcome not in OUTCOMES:
        raise InvalidStepInput(f"input field 'outcome' must be one of {', '.join(OUTCOMES)}, "
                               f"got {outcome!r}")
    version = details.get("model_version")
    subject = f"calltime {settings.environment}: {outcome} ({version or 'no model'})"[:100]
    message = json.dumps({"outcome": outcome, "endpoint": settings.endpoint_name, **details,
                          "links": links(settings, region, version, execution_arn)},
                         indent=2, default=str)
    marker = notification_key(execution_name, outcome)
    try:
        s3.put_object(Bucket=settings.models_bucket, Key=marker, Body=message.encode(),
                      IfNoneMatch="*")
    except ClientError as err:
        if err.response["Error"]["Code"] != "PreconditionFailed":
            raise
        return {"outcome": outcome, "published": False, "reason": "already notified"}
    if not settings.topic_arn:
        logger.info("no notification topic configured", extra={"subject": subject})
        return {"outcome": outcome, "published": False, "reason": "no topic configured"}
    try:
        response = sns.publish(TopicArn=settings.topic_arn, Subject=subject, Message=message)
    except (ClientError, BotoCoreError):
        # Not sent: the marker goes, so a retry (or a rerun of this step) sends it.
        s3.delete_object(Bucket=settings.models_bucket, Key=marker)
        raise
    return {"outcome": outcome, "published": True, "message_id": response["MessageId"]}


def add_to_history(s3, settings: PipelineSettings, outcome: str, details: dict[str, Any],
                   execution_name: str) -> str:
    """The run on the stack's history page; housekeeping: a failure is reported in the step's
    output and logged, never in place of the notification."""
    record = run_history.run_record(outcome, details, execution_name, dt.datetime.now(dt.UTC))
    try:
        recorded = run_history.record_run(s3, settings.models_bucket, settings.models_prefix,
                                          resource_prefix(settings.project_name,
                                                          settings.environment), record)
    except (ClientError, BotoCoreError, RuntimeError) as err:
        logger.warning("history not updated", extra={"error": str(err)})
        return f"not updated: {err}"
    if recorded.damaged:
        logger.warning("history was damaged", extra={"history": recorded.damaged})
    return str(recorded)


@step_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = PipelineSettings.from_env()
    outcome, details = read_field(event, "outcome", str), read_field(event, "details", dict, {})
    execution_name = read_field(event, "execution_name", str)
    sent = notify(client("sns"), client("s3"), settings, outcome, details, execution_name,
                  client("sns").meta.region_name, read_field(event, "execution_arn", str, None))
    return {**sent, "history": add_to_history(client("s3"), settings, outcome, details,
                                              execution_name)}
