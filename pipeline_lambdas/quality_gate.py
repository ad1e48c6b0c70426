"""Step 3 core: deploy the new model only if it is not worse than the live one on the same data.

Both models are scored on the new run's temporal holdout (the train step scores the live model
there: `live_model_on_holdout` in metrics.json). A drop in ROC AUC beyond the tolerance keeps the
current model unless the execution input says `force_deploy`; so does a live model trained on
exactly this run's data (a rerun on the same log). Keeping the current model is a normal
outcome, not an error: the state machine branches on `decision`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from pipeline_lambdas.clients import client
from pipeline_lambdas.contract import GateDecision, version_prefix
from pipeline_lambdas.events import read_field
from pipeline_lambdas.observability import step_handler
from pipeline_lambdas.settings import PipelineSettings
from training.outputs import METRICS_FILE


@dataclass(frozen=True)
class GateResult:
    decision: GateDecision
    reason: str
    new_roc_auc: float
    live_roc_auc: float | None
    tolerance: float
    forced: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(new_metrics: dict[str, Any], tolerance: float, force_deploy: bool = False
           ) -> GateResult:
    new_auc = float(new_metrics["classification"]["roc_auc"])
    deploy, keep = GateDecision.DEPLOY, GateDecision.KEEP_CURRENT
    live = new_metrics.get("live_model_on_holdout")
    if live is None:
        return GateResult(deploy, "first deployment: no live model", new_auc, None,
                          tolerance, force_deploy)
    if live.get("same_data") and live.get("comparable") and not force_deploy:
        # A rerun on the log the live model was trained on: the new model is that model again
        # (or differs by chance); replacing it would be churn, not an improvement. (A live
        # model that cannot be compared, tampered or of another feature set, does not hold.)
        live_auc = live.get("roc_auc")
        return GateResult(keep, f"the live model {live.get('model_version')} was trained on "
                          "exactly this data (same fingerprint); kept it (force_deploy "
                          "replaces it anyway)", new_auc,
                          float(live_auc) if live_auc is not None else None, tolerance, False)
    if not live.get("comparable"):
        return GateResult(deploy, f"live model {live.get('model_version')} not comparable: "
                          f"{live.get('reason')}; the health check still guards the deploy",
                          new_auc, None, tolerance, force_deploy)
    live_auc = float(live["roc_auc"])
    basis = f" (live model measured on {live['basis']})" if live.get("basis") else ""
    worse = new_auc < live_auc - tolerance
    if worse and not force_deploy:
        return GateResult(keep, f"new ROC AUC {new_auc:.4f} is below the live model's "
                          f"{live_auc:.4f} by more than {tolerance}; kept the current "
                          f"model{basis}", new_auc, live_auc, tolerance, False)
    reason = (f"forced: new ROC AUC {new_auc:.4f} vs live {live_auc:.4f}" if worse else
              f"new ROC AUC {new_auc:.4f} vs live {live_auc:.4f} (tolerance {tolerance})"
              f"{basis}")
    return GateResult(deploy, reason, new_auc, live_auc, tolerance, force_deploy)


@step_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = PipelineSettings.from_env()
    version = read_field(event, "model_version", str)
    key = version_prefix(version, settings.models_prefix) + METRICS_FILE
    metrics = json.loads(client("s3").get_object(Bucket=settings.models_bucket,
                                                  Key=key)["Body"].read())
    force = read_field(event, "force_deploy", bool, False)
    return decide(metrics, settings.quality_gate_tolerance, force).to_dict()
