"""The quality gate judges what is served (issue 27): beside the forest's ROC AUC, the
recommendations of the new model and the live one on the same held-out calls (the calls the
live model never saw), and those of the archetypes the new model would serve against the ones
it was evaluated with. A loss beyond noise keeps the current model; a better model and a rerun
on the live model's own data are decided as before."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from inference_code.archetypes import Archetypes
from training import archetype_fit, artifact, dataset
from training.gate import DEFAULT_TOLERANCE, DEPLOY, KEEP_CURRENT, decide
from training.train import train

pytestmark = pytest.mark.slow


def _reversed_hours(model: Archetypes) -> Archetypes:
    """The same archetypes with every day type's 24 hours in reverse order: curves that put
    the evening's answers in the small hours (a broken fit, as a bug would leave it)."""
    rates = model.rates.reshape(model.k, -1, 24)[:, :, ::-1].reshape(model.k, -1)
    return Archetypes(np.ascontiguousarray(rates), model.weights, model.zone_weights,
                      model.levels)


@pytest.fixture(scope="module")
def live(demo_log, tmp_path_factory):
    """A live model trained on the first 75 % of the period: the new runs' holdout (the last
    20 %) is new to it."""
    work = tmp_path_factory.mktemp("gate")
    calls = pd.read_csv(demo_log[0], dtype=str)
    stamps = pd.to_datetime(calls["called_at"], utc=True, errors="coerce", format="ISO8601")
    early = work / "early.csv"
    calls[stamps < stamps.quantile(0.75)].to_csv(early, index=False)
    trained = train(early, work / "live", version="20260101T000000Z-live01")
    return early, artifact.extract(trained.artifact, work / "live-extracted")


def _decision(result):
    return decide(json.loads(result.metrics_path.read_text()), DEFAULT_TOLERANCE)


def test_a_better_model_is_deployed_and_a_rerun_kept_as_before(live, demo_log, tmp_path
                                                               ) -> None:
    early, live_dir = live
    better = _decision(train(demo_log[0], tmp_path / "new", baseline_model_dir=live_dir))
    assert better.decision == DEPLOY, better.reason
    assert "recommendations vs live: answer rate" in better.reason
    assert better.recommendation_basis == "held-out calls after the live model's data"
    assert better.recommendation_difference + better.recommendation_noise >= 0
    rerun = _decision(train(early, tmp_path / "rerun", baseline_model_dir=live_dir))
    assert rerun.decision == KEEP_CURRENT and "exactly this data" in rerun.reason


def test_served_archetypes_that_are_broken_are_kept_out_though_the_forest_is_good(
        live, demo_log, tmp_path, monkeypatch) -> None:
    refit = dataset.TrainingSet.fit_params

    def broken(self, start=None):  # the every-call refit, which only the endpoint uses
        params = refit(self, start)
        model = _reversed_hours(params.archetype_model)
        return dataclasses.replace(params, archetypes={
            **model.to_dict(), "selection": params.archetypes.get("selection", {})})

    monkeypatch.setattr(dataset.TrainingSet, "fit_params", broken)
    _, live_dir = live
    result = train(demo_log[0], tmp_path / "new", baseline_model_dir=live_dir)
    decision = _decision(result)
    # The forest is the good one: its AUC alone would pass the gate.
    assert decision.new_roc_auc >= decision.live_roc_auc - DEFAULT_TOLERANCE
    assert decision.decision == KEEP_CURRENT
    assert "would serve recommend worse than the ones it was evaluated with" in decision.reason
    assert decision.recommendation_difference + decision.recommendation_noise < 0
    # The same with no live model (a first deployment): never served.
    first = _decision(train(demo_log[0], tmp_path / "first"))
    assert first.decision == KEEP_CURRENT, first.reason
    # The report says it.
    assert "would serve recommend worse" in result.report_path.read_text()


def test_recommendations_that_lose_to_the_live_models_are_measured_and_keep_it(
        live, demo_log, tmp_path, monkeypatch) -> None:
    fit = archetype_fit.fit

    def broken(*args, **kwargs):  # every fit from scratch: the evaluated archetypes too
        model, selection = fit(*args, **kwargs)
        return _reversed_hours(model), selection

    monkeypatch.setattr(archetype_fit, "fit", broken)
    _, live_dir = live
    result = train(demo_log[0], tmp_path / "new", baseline_model_dir=live_dir)
    versus = json.loads(result.metrics_path.read_text())["recommendation"]["comparisons"][
        "new_vs_live"]
    assert versus["measurable"] and versus["difference"] + versus["noise"] < 0, versus
    decision = _decision(result)
    assert decision.decision == KEEP_CURRENT, decision.reason
    assert "recommendations vs live" in decision.reason
    # Broken curves feed the forest too, so its AUC drops as well; with a forest as good as
    # the live one, the recommendations alone keep the live model.
    metrics = json.loads(result.metrics_path.read_text())
    metrics["classification"]["roc_auc"] = metrics["live_model_on_holdout"]["roc_auc"]
    alone = decide(metrics, DEFAULT_TOLERANCE)
    assert alone.decision == KEEP_CURRENT
    assert "its recommendations lose to the live model's beyond noise" in alone.reason
