"""The quality gate's rule: deploy the new model only if it is not worse than the live one on
the same data. A pure function of the new model's metrics (which hold the live model's numbers
on the same holdout: `live_model_on_holdout`), so the report of a version states the decision
the pipeline's QualityGate step (pipeline_lambdas/quality_gate.py) then makes with it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

DEPLOY, KEEP_CURRENT = "deploy", "keep-current"  # the gate's `decision` values
DEFAULT_TOLERANCE = 0.01  # allowed drop in holdout ROC AUC


@dataclass(frozen=True)
class GateResult:
    decision: str  # DEPLOY or KEEP_CURRENT
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
    deploy, keep = DEPLOY, KEEP_CURRENT
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
