"""Step 10: one SNS message per run outcome (deployed, kept current model, rolled back, failed)."""

from __future__ import annotations

import json
from typing import Any

from pipeline_lambdas.clients import client
from pipeline_lambdas.events import read_field
from pipeline_lambdas.observability import logger, step_handler
from pipeline_lambdas.settings import PipelineSettings

OUTCOMES = ("deployed", "kept-current-model", "rolled-back", "rollback-failed", "failed")


def notify(sns, topic_arn: str, settings: PipelineSettings, outcome: str,
           details: dict[str, Any]) -> dict[str, Any]:
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
    version = details.get("model_version", "unknown version")
    subject = f"calltime {settings.environment}: {outcome} ({version})"[:100]
    message = json.dumps({"outcome": outcome, "endpoint": settings.endpoint_name,
                          **details}, indent=2, default=str)
    if not topic_arn:
        logger.info("no notification topic configured", extra={"subject": subject})
        return {"outcome": outcome, "published": False}
    response = sns.publish(TopicArn=topic_arn, Subject=subject, Message=message)
    return {"outcome": outcome, "published": True, "message_id": response["MessageId"]}


@step_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = PipelineSettings.from_env()
    outcome = read_field(event, "outcome", str)
    details = read_field(event, "details", dict, {})
    return notify(client("sns"), settings.topic_arn, settings, outcome, details)
