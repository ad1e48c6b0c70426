"""The stack's run history: one record per run (a retried Notify replaces its own), refused
runs left out, the page showing each run's figures."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest

from localaws.runtime import LocalAWS
from pipeline_lambdas.run_history import record_run, run_record

BUCKET = "calltime-models"
PREFIX = "models/optimal-call-time"


@pytest.fixture
def s3(tmp_path):
    with LocalAWS(work_dir=tmp_path / "local"):
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _details(version: str, auc: float) -> dict:
    return {"train": {"model_version": version, "rows_valid": 48_210, "rows_rejected": 117,
                      "rejected_by_reason": {"duplicate": 90, "bad_answered": 27},
                      "roc_auc": auc, "recommendation": "replay 0.440 vs 0.307 in window"},
            "gate": {"decision": "deploy", "reason": "first deployment", "live_roc_auc": None},
            "deploy": {"endpoint_config_name": f"calltime-dev-{version.lower()}"},
            "error": {"Error": "", "Cause": ""}}


def test_each_run_is_recorded_once_and_shown(s3) -> None:
    when = dt.datetime(2026, 11, 26, 3, 0, tzinfo=dt.UTC)
    first = run_record("deployed", _details("20261126T030000Z-aaaaaa", 0.7213), "run-1", when)
    assert record_run(s3, BUCKET, PREFIX, "calltime-dev", first).runs == 1
    assert record_run(s3, BUCKET, PREFIX, "calltime-dev", first).runs == 1  # a retried step
    second = run_record("rolled-back", {**_details("20261203T030000Z-bbbbbb", 0.7137),
                                        "gate": {"decision": "deploy", "reason": "...",
                                                 "live_roc_auc": 0.7213,
                                                 "recommendation_difference": 0.012,
                                                 "recommendation_noise": 0.031},
                                        "error": {"Error": "HealthCheckFailed"}}, "run-2",
                        when + dt.timedelta(days=7))
    assert record_run(s3, BUCKET, PREFIX, "calltime-dev", second).runs == 2
    refused = run_record("refused", {}, "run-3", when + dt.timedelta(days=7))
    assert record_run(s3, BUCKET, PREFIX, "calltime-dev", refused).runs == -1
    records = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/history.json")["Body"]
                         .read())
    assert [(r["execution"], r["outcome"], r["error"]) for r in records] == [
        ("run-1", "deployed", None), ("run-2", "rolled-back", "HealthCheckFailed")]
    assert records[0]["rejected_by_reason"] == {"duplicate": 90, "bad_answered": 27}
    page = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/history.html")["Body"].read().decode()
    newest, oldest = page.index("run-2"), page.index("run-1")
    assert newest < oldest  # newest first
    assert "117 (duplicate 90, bad_answered 27)" in page and "0.7213" in page
    assert '<a href="20261126T030000Z-aaaaaa/report.html">' in page
    assert "<polyline" in page  # ROC AUC over time, from the second version on
    # The recommendations against the live model's, as the gate read them (the first run had
    # no live model to compare).
    row_2 = page[newest:oldest]
    assert "<td>+0.012 (0.031)</td>" in row_2
    assert "<td>-</td>" in page[oldest:]


@pytest.mark.parametrize("damage", [b'[{"execution": "run-0"', b'{"runs": []}', b"[1, 2]",
                                    b"\xff\xfe\x00"])
def test_a_damaged_history_is_kept_aside_and_a_new_one_started_saying_so(s3, damage) -> None:
    """A history that cannot be read never stops the history: it is kept under a dated name,
    a new one starts with this run, and Notify's output says where the old one went."""
    from pipeline_lambdas.notify import add_to_history
    from pipeline_lambdas.settings import PipelineSettings

    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/history.json", Body=damage)
    settings = PipelineSettings(project_name="calltime", environment="dev",
                                models_bucket=BUCKET, container_image="x", execution_role_arn="y")
    when = "20261126T030000Z-aaaaaa"
    said = add_to_history(s3, settings, "deployed", _details(when, 0.72), "run-1")
    assert said.startswith("1 runs; ") and "history.json was damaged" in said
    kept = said.split("kept as ", 1)[1].split(";", 1)[0]
    assert kept.startswith(f"s3://{BUCKET}/{PREFIX}/history-damaged-")
    assert s3.get_object(Bucket=BUCKET, Key=kept.split("/", 3)[3])["Body"].read() == damage
    records = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/history.json")["Body"]
                         .read())
    assert [r["execution"] for r in records] == ["run-1"]
    second = add_to_history(s3, settings, "deployed", _details(when, 0.73), "run-2")
    assert second == "2 runs"  # the next run adds to the new history as usual
