"""Step 3 core: deploy the new model only if it is not worse than the live one on the same data.

Both models are scored on the new run's temporal holdout (the train step scores the live model
there: `live_model_on_holdout` in metrics.json, and its recommendations beside the new one's:
`recommendation.comparisons`). A drop in ROC AUC beyond the tolerance, or recommendations that
lose beyond noise (the live model's, or the ones the new model was evaluated with, against what
it would serve), keeps the current model unless the execution input says `force_deploy`; so
does a live model trained on exactly this run's data (a rerun on the same log). Keeping the
current model is a normal outcome, not an error: the state machine branches on `decision`.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline_lambdas.clients import client
from pipeline_lambdas.contract import version_prefix
from pipeline_lambdas.events import read_field
from pipeline_lambdas.observability import step_handler
from pipeline_lambdas.settings import PipelineSettings
from training.gate import GateResult, decide
from training.outputs import METRICS_FILE

__all__ = ["GateResult", "decide", "handler"]


@step_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = PipelineSettings.from_env()
    version = read_field(event, "model_version", str)
    key = version_prefix(version, settings.models_prefix) + METRICS_FILE
    metrics = json.loads(client("s3").get_object(Bucket=settings.models_bucket,
                                                  Key=key)["Body"].read())
    force = read_field(event, "force_deploy", bool, False)
    return decide(metrics, settings.quality_gate_tolerance, force).to_dict()
