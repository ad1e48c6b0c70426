"""The quality gate's rule: deploy the new model only if it is not worse than the live one on
the same data, by both things it serves: the probability of one call (holdout ROC AUC, within a
tolerance) and its recommendations (the answer rate of held-out calls at each model's top slot,
`recommendation.comparisons` in metrics.json: a loss beyond two standard errors keeps the live
model). A model whose served archetypes recommend worse than the ones evaluated is kept out too,
live model or not. A pure function of the new model's metrics (which hold the live model's
numbers on the same holdout: `live_model_on_holdout`), so the report of a version states the
decision the pipeline's QualityGate step (pipeline_lambdas/quality_gate.py) then makes with
it."""

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
    # The recommendations' comparison the decision read (new minus live answer rate at each
    # one's top slot on held-out calls, and two standard errors); None when not measured.
    recommendation_difference: float | None = None
    recommendation_noise: float | None = None
    recommendation_basis: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _loss(comparison: dict[str, Any]) -> bool:
    """A loss beyond noise: the difference is below zero by more than two standard errors."""
    return bool(comparison.get("measurable")) and \
        comparison["difference"] + comparison["noise"] < 0


def _said(comparison: dict[str, Any], what: str) -> str:
    if not comparison:
        return f"{what}: not compared"
    if not comparison.get("measurable"):
        return (f"{what}: too few held-out calls on the picks to compare "
                f"({'/'.join(str(c) for c in comparison.get('calls', []))})")
    rates = comparison["answer_rates"]
    return (f"{what}: answer rate {rates[0]:.3f} vs {rates[1]:.3f} at the top slots, "
            f"{comparison['difference']:+.3f} (noise {comparison['noise']:.3f}) on "
            f"{'/'.join(str(c) for c in comparison['calls'])} {comparison.get('basis', '')}"
            ).rstrip()


def decide(new_metrics: dict[str, Any], tolerance: float, force_deploy: bool = False
           ) -> GateResult:
    new_auc = float(new_metrics["classification"]["roc_auc"])
    deploy, keep = DEPLOY, KEEP_CURRENT
    live = new_metrics.get("live_model_on_holdout")
    compared = new_metrics.get("recommendation", {}).get("comparisons", {})
    served = compared.get("served_vs_evaluated", {})
    if _loss(served) and not force_deploy:
        # Whatever the live model: the archetypes it would serve are not the ones it was
        # evaluated with (they were refit on every call, these calls among them).
        return GateResult(keep, "the archetypes this model would serve recommend worse than "
                          "the ones it was evaluated with; "
                          + _said(served, "served vs evaluated") + "; kept the current model",
                          new_auc, None if live is None else live.get("roc_auc"), tolerance,
                          False, served["difference"], served["noise"], served.get("basis", ""))
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
    versus = compared.get("new_vs_live", {})
    measured = (versus["difference"], versus["noise"]) if versus.get("measurable") else \
        (None, None)
    recommendations = _said(versus, "recommendations vs live")
    worse = new_auc < live_auc - tolerance
    if worse and not force_deploy:
        return GateResult(keep, f"new ROC AUC {new_auc:.4f} is below the live model's "
                          f"{live_auc:.4f} by more than {tolerance}; kept the current "
                          f"model{basis}; {recommendations}", new_auc, live_auc, tolerance,
                          False, *measured, versus.get("basis", ""))
    if _loss(versus) and not force_deploy:
        return GateResult(keep, f"its recommendations lose to the live model's beyond noise: "
                          f"{recommendations}; kept the current model (ROC AUC {new_auc:.4f} "
                          f"vs live {live_auc:.4f}{basis})", new_auc, live_auc, tolerance,
                          False, *measured, versus.get("basis", ""))
    forced = worse or _loss(versus)
    reason = (f"forced: new ROC AUC {new_auc:.4f} vs live {live_auc:.4f}; {recommendations}"
              if forced else
              f"new ROC AUC {new_auc:.4f} vs live {live_auc:.4f} (tolerance {tolerance})"
              f"{basis}; {recommendations}")
    return GateResult(deploy, reason, new_auc, live_auc, tolerance, force_deploy, *measured,
                      versus.get("basis", ""))
