"""The live model's holdout numbers for the gate: like with like, never flattered."""

from __future__ import annotations

import json

import pytest

from training import artifact
from training.train import train


@pytest.mark.slow
def test_live_model_is_scored_on_the_same_holdout(trained, demo_log, tmp_path) -> None:
    live_dir = artifact.extract(trained.artifact, tmp_path / "live")
    result = train(demo_log[0], tmp_path / "new", baseline_model_dir=live_dir,
                   version="20260602T000000Z-test02")
    live = json.loads(result.metrics_path.read_text())["live_model_on_holdout"]
    assert live["comparable"] is True
    assert live["model_version"] == trained.version
    # The live model was trained on these very calls, so it is judged by its recorded holdout
    # AUC (tests/training/test_train.py covers scoring on calls it never saw).
    assert live["basis"].startswith("its own holdout ROC AUC")
    assert live["same_data"] is True  # the same log: the gate keeps the live model
    new_auc = result.metadata["metrics"]["classification"]["roc_auc"]
    assert abs(live["roc_auc"] - new_auc) < 0.05
    assert live["recommendation_on_its_holdout"].startswith(("capture ", "replay "))
    # The report shows the two side by side and the decision the gate will make with them.
    page = result.report_path.read_text()
    section = page[page.index("<h2>Against the live model</h2>"):]
    assert trained.version in section and f"{new_auc:.4f}" in section
    assert f"{live['roc_auc']:.4f}" in section
    assert '<b class="decision">keep-current</b>' in section  # same data: the gate keeps it
    assert '<a href="../history.html">' in section


@pytest.mark.slow
def test_an_incomparable_or_tampered_live_model_is_reported(trained, demo_log, tmp_path) -> None:
    live_dir = artifact.extract(trained.artifact, tmp_path / "live")
    metadata = json.loads((live_dir / "metadata.json").read_text())
    metadata["feature_names"] = metadata["feature_names"][:3]
    (live_dir / "metadata.json").write_text(json.dumps(metadata))
    result = train(demo_log[0], tmp_path / "new", baseline_model_dir=live_dir)
    live = json.loads(result.metrics_path.read_text())["live_model_on_holdout"]
    assert live == {"model_version": trained.version, "comparable": False,
                    "reason": "the live model uses another feature set; not comparable",
                    "same_data": True, "recommendation_on_its_holdout": live[
                        "recommendation_on_its_holdout"]}
    assert '<b class="decision">deploy</b>' in result.report_path.read_text()
    (live_dir / "model.npz").write_bytes(b"tampered")
    result = train(demo_log[0], tmp_path / "newer", baseline_model_dir=live_dir)
    assert "does not match its sha256" in json.loads(
        result.metrics_path.read_text())["live_model_on_holdout"]["reason"]
