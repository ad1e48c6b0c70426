"""Train end to end: outputs, metrics, the artifact's layout and integrity, the CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import textwrap

import pandas as pd
import pytest

from calltime.cli import main
from inference_code.features import FEATURE_NAMES
from inference_code.inference import ModelLoadError, model_fn
from training import artifact
from training.train import train


def test_outputs_and_metrics(trained) -> None:
    metrics = json.loads(trained.metrics_path.read_text())
    for key in ("roc_auc", "log_loss", "brier", "ece"):
        assert key in metrics["classification"]
    rec = metrics["recommendation"]
    # "served": the archetypes refit on every call, which the endpoint ranks by.
    assert set(rec["true_rate"]) == {"model", "served", "forest_ranking", "seed_random_forest",
                                     "best_global_slot", "random", "oracle"}
    served = rec["comparisons"]["served_vs_evaluated"]
    assert served["measurable"] and served["calls"][0] >= 100
    # They saw the holdout: they recommend no worse than the evaluated ones beyond noise.
    assert served["difference"] + served["noise"] >= 0
    assert served["capture_difference"] + served["capture_noise"] >= 0
    capture = rec["capture"]
    # The business metric: the model's slot beats the baselines on held-out contacts.
    assert capture["model"] > capture["best_global_slot"] > capture["seed_random_forest"]
    versus = rec["model_vs_best_global_slot"]
    assert versus["difference"] > versus["noise"] > 0
    # Capture by history depth and by behaviour group, each with its own noise, add up to the
    # contacts scored.
    for breakdown in ("by_history_depth", "by_group"):
        cells = rec[breakdown].values()
        assert sum(cell["contacts"] for cell in cells) == rec["contacts"], breakdown
        for cell in cells:
            if cell["contacts"] > 1:
                assert set(cell["capture"]) == set(capture)
                assert cell["model_vs_best_global_slot"]["noise"] > 0
    assert list(rec["by_history_depth"]) == ["<=5", "6-15", "16-30", ">30"]
    assert {"evening", "morning", "weekend"} <= set(rec["by_group"])
    assert metrics["classification"]["roc_auc"] > metrics["seed_random_forest"]["roc_auc"]
    assert len(metrics["calibration"]) >= 5
    rejects = pd.read_csv(trained.rejects_path)
    data = trained.metadata["data"]
    assert len(rejects) == data["rows_rejected"] > 0
    assert set(rejects["reject_reason"]) <= set(data["rejected_by_reason"])
    assert data["ignored_columns"] == ["agent_note"]
    html = trained.report_path.read_text()
    for section in ("Holdout quality", "Recommended-slot lift", "Calibration",
                    "Answer rate by local day and hour", "Feature importance"):
        assert section in html
    # Rejects by reason in words, most first, only the reasons that occurred (no raw JSON).
    found = sorted(((n, r) for r, n in data["rejected_by_reason"].items() if n),
                   key=lambda t: (-t[0], t[1]))
    said = ", ".join(f"{n} {r.replace('_', ' ')}" for n, r in found)
    assert f"{data['rows_rejected']} rejected: {said}." in html
    assert "{" not in html.split("rejected", 1)[1].split(".", 1)[0]


def test_the_shipped_forest_is_the_one_evaluated(trained, demo_log, tmp_path) -> None:
    """One fit: the artifact's forest scores the holdout (featurized as the evaluation did) with
    exactly the AUC metrics.json reports; it ships the feature parameters it was trained with,
    and archetypes refit on every call from the ones chosen before the cut."""
    from inference_code.features import FeatureParams
    from inference_code.forest import Forest
    from training import call_log, dataset, evaluate

    model_dir = artifact.extract(trained.artifact, tmp_path / "model")
    metadata = json.loads((model_dir / "metadata.json").read_text())
    params = FeatureParams.from_dict(metadata["feature_params"])
    valid = call_log.load(demo_log[0]).valid
    cut = pd.Timestamp(metadata["metrics"]["split"]["cut"]).timestamp()
    held_out = dataset.build(valid, fit_before=cut)
    test = held_out.epoch >= cut
    scored = evaluate.classification_metrics(
        held_out.y[test], Forest.load(model_dir / "model.npz").predict_proba(held_out.X[test]))
    assert scored["roc_auc"] == metadata["metrics"]["classification"]["roc_auc"]
    assert metadata["metrics"]["shipped_model"]["fit_on"].startswith("the calls before the cut")
    assert params.global_answer_rate == held_out.params.global_answer_rate
    assert params.archetypes["selection"] == held_out.params.archetypes["selection"]
    shipped = params.archetype_model  # the chosen archetypes, each at its levels
    assert shipped.shapes == held_out.params.archetypes["selection"]["chosen"]
    assert len(params.archetypes["rates"]) == shipped.shapes * len(shipped.levels)
    assert params.archetypes["rates"] != held_out.params.archetypes["rates"]  # every call's


def test_artifact_layout_and_metadata(trained) -> None:
    with tarfile.open(trained.artifact) as tar:
        names = set(tar.getnames())
        metadata = json.loads(tar.extractfile("metadata.json").read())
    assert {name for name in names if not name.startswith("code/tzdata/")} == {
        "model.npz", "metadata.json", "code/inference.py", "code/inference_code/__init__.py",
        "code/inference_code/archetypes.py",
        "code/inference_code/artifact_layout.py", "code/inference_code/features.py",
        "code/inference_code/forest.py", "code/inference_code/ranking.py",
        "code/inference_code/request_parsing.py", "code/inference_code/time_zones.py",
        "code/inference_code/week_days.py"}
    assert "code/tzdata/zoneinfo/Asia/Jerusalem" in names and "code/tzdata/zones" in names
    assert metadata["feature_names"] == list(FEATURE_NAMES)
    assert metadata["model_version"] == trained.version
    assert metadata["day_of_week_convention"].startswith("0=Sunday")
    for key in ("created_at", "framework", "model_sha256", "data", "metrics", "feature_params"):
        assert key in metadata
    assert metadata["data"]["sha256"]
    assert trained.artifact.stat().st_size < 1_000_000


def test_model_file_is_verified_before_loading(trained, tmp_path) -> None:
    model_dir = artifact.extract(trained.artifact, tmp_path / "model")
    assert model_fn(str(model_dir)).metadata["model_version"] == trained.version
    data = bytearray((model_dir / "model.npz").read_bytes())
    data[-40] ^= 0xFF
    (model_dir / "model.npz").write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match=r"does not match metadata\.json"):
        model_fn(str(model_dir))


def test_broken_archetypes_are_refused_at_load_not_at_the_first_request(trained,
                                                                        tmp_path) -> None:
    model_dir = artifact.extract(trained.artifact, tmp_path / "model")
    metadata = json.loads((model_dir / "metadata.json").read_text())
    metadata["feature_params"]["archetypes"]["rates"] = [[0.5] * 24]  # an hour-only curve
    (model_dir / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ModelLoadError, match=r"archetypes are unusable: archetype rates must be"):
        model_fn(str(model_dir))


def test_artifact_code_runs_from_code_dir_alone(trained, tmp_path) -> None:
    """As the container runs it: only code/ (plus numpy) provides the handlers' imports."""
    model_dir = artifact.extract(trained.artifact, tmp_path / "opt_ml_model")
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(model_dir / "code")!r})
        import inference, inference_code
        assert inference_code.__file__.startswith({str(model_dir / "code")!r}), \
            inference_code.__file__
        assert "sklearn" not in sys.modules and "pandas" not in sys.modules
        assert "training" not in sys.modules
        model = inference.model_fn({str(model_dir)!r})
        import zoneinfo
        assert zoneinfo.TZPATH == (), zoneinfo.TZPATH
        data = inference.input_fn('{{"features": [[1, 19, 0.5]]}}', "application/json")
        body, content_type = inference.output_fn(inference.predict_fn(data, model), "*/*")
        slots = inference.input_fn('{{"contacts": [{{"contact_id": "c", "timezone": '
                                   '"America/New_York"}}], "as_of": "2026-06-01T00:00:00Z"}}',
                                   "application/json")
        assert not isinstance(slots, inference.Rejection), slots
        import tzdata
        assert tzdata.__file__.startswith({str(model_dir / "code")!r}), tzdata.__file__
        print(body)
    """)
    # PYTHONTZPATH="" hides the system zone files: zones must come from the shipped tzdata.
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
                          | {"PYTHONTZPATH": ""})
    assert done.returncode == 0, done.stderr
    prediction = json.loads(done.stdout)["predictions"][0]
    assert 0 < prediction < 1


def test_cli_refuses_with_the_cause(tmp_path, capsys) -> None:
    bad = tmp_path / "calls.csv"
    bad.write_text("name,phone\nx,1\n")
    code = main(["train", "--calls", str(bad), "--out", str(tmp_path / "out")])
    assert code == 2
    assert "missing required column(s) 'contact_id'" in capsys.readouterr().err
    # Refused whole before any row is read: no rejects file pretends to account for its rows.
    assert not (tmp_path / "out" / "rejects.csv").exists()


def _log(rows: int, answered: str) -> str:
    return "contact_id,called_at,answered\n" + "c-1,nope,true\n" * 3 + "".join(
        f"c-{i % 50},2026-05-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z,"
        f"{answered if answered != 'both' else ('true' if i % 3 else 'false')}\n"
        for i in range(rows))


@pytest.mark.parametrize(("rows", "answered", "said"), [
    # docs/call-log.md: fewer than `--min-valid-rows` (500) valid rows, by default
    (499, "both", "only 499 valid rows after validation; training needs at least 500"),
    (600, "true", "all 600 valid rows have answered=true"),
])
def test_too_few_rows_or_one_class_is_refused_with_every_reject_kept(
        tmp_path, capsys, rows: int, answered: str, said: str) -> None:
    calls = tmp_path / "calls.csv"
    calls.write_text(_log(rows, answered))
    assert main(["train", "--calls", str(calls), "--out", str(tmp_path / "out")]) == 2
    assert said in capsys.readouterr().err
    rejects = pd.read_csv(tmp_path / "out" / "rejects.csv")
    assert rejects["reject_reason"].tolist() == ["unparseable_timestamp"] * 3
    # The train step's path (TrainSettings' defaults, no CLI): the same refusal
    from training.call_log import InvalidCallLog

    with pytest.raises(InvalidCallLog, match=re.escape(said)):
        train(calls, tmp_path / "api")


def test_rejects_are_written_even_when_training_refuses(tmp_path) -> None:
    calls = tmp_path / "calls.csv"
    calls.write_text("contact_id,called_at,answered\n" + "c-1,nope,true\n" * 3
                     + "c-2,2026-05-03T07:15:00Z,true\n")
    code = main(["train", "--calls", str(calls), "--out", str(tmp_path / "out")])
    assert code == 2
    rejects = pd.read_csv(tmp_path / "out" / "rejects.csv")
    assert rejects["reject_reason"].tolist() == ["unparseable_timestamp"] * 3


@pytest.mark.slow
def test_the_live_model_is_scored_only_on_calls_it_never_saw(demo_log, tmp_path) -> None:
    """Live trained on the first 75 % of the period; the new run's holdout (last 20 %) is new
    to it, so it is scored there; on a rerun of its own log it is judged by its recorded AUC."""
    calls = pd.read_csv(demo_log[0], dtype=str)
    stamps = pd.to_datetime(calls["called_at"], utc=True, errors="coerce", format="ISO8601")
    early = calls[stamps < stamps.quantile(0.75)]
    early_csv = tmp_path / "early.csv"
    early.to_csv(early_csv, index=False)
    live = train(early_csv, tmp_path / "live", version="20260101T000000Z-early1")
    live_dir = tmp_path / "live-extracted"
    artifact.extract(live.artifact, live_dir)

    later = train(demo_log[0], tmp_path / "new", baseline_model_dir=live_dir)
    scored = json.loads(later.metrics_path.read_text())["live_model_on_holdout"]
    assert scored["basis"] == "holdout calls after its training data"
    assert scored["comparable"] and scored["holdout_calls"] >= 1000
    assert 0.6 < scored["roc_auc"] < 0.9

    rerun = train(early_csv, tmp_path / "rerun", baseline_model_dir=live_dir)
    judged = json.loads(rerun.metrics_path.read_text())["live_model_on_holdout"]
    assert judged["basis"].startswith("its own holdout ROC AUC")
    assert judged["roc_auc"] == pytest.approx(
        json.loads(live.metrics_path.read_text())["classification"]["roc_auc"])


def test_a_log_no_model_can_be_fitted_on_is_refused_by_name_with_its_rejects_kept(
        tmp_path, monkeypatch) -> None:
    """Whatever validation cannot foresee (here the forest's fit refusing the data) ends in
    InvalidCallLog naming the log and the cause, never a traceback from inside the fit; the
    rejects are written first."""
    from training import model
    from training.call_log import InvalidCallLog
    from training.simulate import SimulationConfig, write

    calls, _ = write(SimulationConfig(n_contacts=40, seed=2), tmp_path / "data")
    text = calls.read_text().splitlines()
    (tmp_path / "calls.csv").write_text("\n".join([*text, "c-x,not a time,true"]) + "\n")

    def cannot_fit(*args, **kwargs):
        raise ValueError("window shape cannot be larger than input array shape")

    monkeypatch.setattr(model, "fit", cannot_fit)
    with pytest.raises(InvalidCallLog, match=r"calls.csv: no model can be fitted on its \d+ "
                                             r"valid rows of 40 contacts \(ValueError: window"):
        train(tmp_path / "calls.csv", tmp_path / "out", name="calls.csv")
    assert "c-x,not a time,true" in (tmp_path / "out" / "rejects.csv").read_text()
