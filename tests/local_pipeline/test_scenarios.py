"""The `make pipeline` scenarios: one record each, and what each changes before a run."""

from __future__ import annotations

import csv
import io
import tarfile
from collections import Counter

import boto3

from local_pipeline.pipeline import add_arguments
from local_pipeline.scenarios import (
    SCENARIOS,
    shuffled_labels,
    with_artifact_fault,
    without_answered,
)
from pipeline_lambdas.contract import EndState
from tests.support.local_account import BUCKET, artifact_uri


def _rows(path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_every_scenario_says_how_it_must_end_and_is_offered() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    choices = next(a.choices for a in parser._actions if a.dest == "scenario")
    assert list(choices) == list(SCENARIOS)
    for name, scenario in SCENARIOS.items():
        assert scenario.name == name and scenario.description
        assert scenario.expected_end in set(EndState)
    assert SCENARIOS["deploy"].make_log is None and SCENARIOS["deploy"].artifact_fault is None
    assert SCENARIOS["concurrent"].runs == 2


def test_shuffled_labels_keep_every_row_and_the_answer_rate(demo_log, tmp_path) -> None:
    calls = demo_log[0]
    shuffled = _rows(shuffled_labels(calls, tmp_path / "s.csv"))
    original = _rows(calls)
    assert len(shuffled) == len(original)
    assert Counter(r["answered"] for r in shuffled) == Counter(r["answered"] for r in original)
    assert [r["called_at"] for r in shuffled] == [r["called_at"] for r in original]
    assert [r["answered"] for r in shuffled] != [r["answered"] for r in original]


def test_without_answered_drops_only_that_column(demo_log, tmp_path) -> None:
    rows = _rows(without_answered(demo_log[0], tmp_path / "b.csv"))
    original = _rows(demo_log[0])
    assert len(rows) == len(original)
    assert set(rows[0]) == set(original[0]) - {"answered"}


def test_an_artifact_fault_replaces_what_the_package_step_published(aws, trained) -> None:
    def package(event, context):
        return {"artifact_uri": artifact_uri("good"), "model_version": event["v"]}

    def fault(data: bytes) -> bytes:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            assert "code/inference.py" in tar.getnames()
        return b"replaced"

    result = with_artifact_fault(package, fault)({"v": "x"}, None)
    assert result == {"artifact_uri": artifact_uri("good"), "model_version": "x"}
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key="models/good/model.tar.gz")["Body"]
    assert body.read() == b"replaced"
