"""The gate compares new and live on the same holdout and keeps the current model when worse."""

from __future__ import annotations

import json

import boto3
import pytest

from pipeline_lambdas.contract import GateDecision
from pipeline_lambdas.deployment import deploy
from pipeline_lambdas.endpoint_config import create_model_and_config
from pipeline_lambdas.quality_gate import decide
from pipeline_lambdas.train_step import run_training
from tests.support.local_account import BUCKET, artifact_uri, settle
from training.log_faults import shuffled_labels
from training.model import ModelSettings
from training.train import TrainSettings


def _metrics(new: float, live: float | None = None, comparable: bool = True,
             same_data: bool = False) -> dict:
    metrics = {"classification": {"roc_auc": new}}
    if live is not None or not comparable:
        metrics["live_model_on_holdout"] = {"model_version": "v1", "comparable": comparable,
                                            "roc_auc": live, "reason": "feature set changed",
                                            "same_data": same_data}
    return metrics


@pytest.mark.parametrize(("metrics", "force", "decision", "reason"), [
    (_metrics(0.70), False, GateDecision.DEPLOY, "first deployment"),
    (_metrics(0.70, 0.71), False, GateDecision.DEPLOY, "tolerance 0.02"),
    (_metrics(0.66, 0.71), False, GateDecision.KEEP_CURRENT, "kept the current model"),
    (_metrics(0.66, 0.71), True, GateDecision.DEPLOY, "forced"),
    (_metrics(0.60, comparable=False), False, GateDecision.DEPLOY, "not comparable"),
    # A rerun on the live model's own data keeps it, even when the new AUC is a hair higher.
    (_metrics(0.72, 0.71, same_data=True), False, GateDecision.KEEP_CURRENT,
     "trained on exactly this data"),
    (_metrics(0.72, 0.71, same_data=True), True, GateDecision.DEPLOY, "tolerance 0.02"),
    (_metrics(0.60, comparable=False, same_data=True), False, GateDecision.DEPLOY,
     "not comparable"),
])
def test_decisions(metrics: dict, force: bool, decision: str, reason: str) -> None:
    result = decide(metrics, tolerance=0.02, force_deploy=force)
    assert result.decision == decision
    assert reason in result.reason


def _compared(metrics: dict, **comparisons: tuple[float, float] | None) -> dict:
    """Metrics with recommendation comparisons (difference, noise), or not measurable (None),
    as training/evaluate.py's replay_difference writes them."""
    metrics["recommendation"] = {"comparisons": {
        name: {"measurable": False, "calls": [40, 35]} if value is None else
        {"measurable": True, "difference": value[0], "noise": value[1], "calls": [900, 850],
         "answer_rates": [0.3 + value[0], 0.3], "basis": "held-out calls"}
        for name, value in comparisons.items()}}
    return metrics


@pytest.mark.parametrize(("metrics", "force", "decision", "reason"), [
    # A loss beyond noise (difference + 2 SE below zero) keeps the live model, AUC fine.
    (_compared(_metrics(0.72, 0.71), new_vs_live=(-0.05, 0.02)), False,
     GateDecision.KEEP_CURRENT, "lose to the live model's beyond noise"),
    (_compared(_metrics(0.72, 0.71), new_vs_live=(-0.01, 0.02)), False, GateDecision.DEPLOY,
     "-0.010 (noise 0.020)"),
    (_compared(_metrics(0.72, 0.71), new_vs_live=None), False, GateDecision.DEPLOY,
     "too few held-out calls on the picks to compare (40/35)"),
    (_compared(_metrics(0.72, 0.71), new_vs_live=(-0.05, 0.02)), True, GateDecision.DEPLOY,
     "forced"),
    # Served archetypes worse than the evaluated ones: kept out, first deployment or not.
    (_compared(_metrics(0.72), served_vs_evaluated=(-0.08, 0.03)), False,
     GateDecision.KEEP_CURRENT, "would serve recommend worse"),
    (_compared(_metrics(0.72), served_vs_evaluated=(0.01, 0.03)), False, GateDecision.DEPLOY,
     "first deployment"),
    # A rerun on the live model's own data is kept whatever the comparisons say.
    (_compared(_metrics(0.72, 0.71, same_data=True), new_vs_live=(0.05, 0.02)), False,
     GateDecision.KEEP_CURRENT, "trained on exactly this data"),
])
def test_decisions_on_recommendations(metrics: dict, force: bool, decision: str,
                                      reason: str) -> None:
    result = decide(metrics, tolerance=0.02, force_deploy=force)
    assert result.decision == decision
    assert reason in result.reason


@pytest.mark.slow
def test_a_weaker_model_is_blocked_against_the_live_one(aws, settings, demo_log,
                                                         tmp_path) -> None:
    s3, sm = boto3.client("s3"), boto3.client("sagemaker")
    # The same log with its labels shuffled: a model trained on it has learnt nothing.
    shuffled = shuffled_labels(demo_log[0], tmp_path / "shuffled.csv")
    s3.put_object(Bucket=BUCKET, Key="data/calls/calls.csv", Body=shuffled.read_bytes())
    live = create_model_and_config(sm, settings, "live", artifact_uri("good"))
    deploy(sm, settings.endpoint_name, live.endpoint_config_name)
    settle(sm, settings.endpoint_name, live.endpoint_config_name)
    weak = TrainSettings(model=ModelSettings(max_iter=30))
    out = run_training(s3, settings, f"s3://{BUCKET}/data/calls/", "v-weak", weak, sagemaker=sm)
    assert out.live_model_version == "20260601T000000Z-test01"
    metrics = json.loads(s3.get_object(Bucket=BUCKET,
                                       Key="staging/v-weak/metrics.json")["Body"].read())
    # The live model trained on this very period: it is judged by its own holdout AUC.
    assert metrics["live_model_on_holdout"]["basis"].startswith("its own holdout ROC AUC")
    decision = decide(metrics, tolerance=0.01)
    assert decision.decision == GateDecision.KEEP_CURRENT
    assert decision.new_roc_auc < 0.56
    assert decision.live_roc_auc > decision.new_roc_auc + 0.01
    assert decide(metrics, tolerance=0.01, force_deploy=True).decision == GateDecision.DEPLOY
