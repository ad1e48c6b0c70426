"""The `make pipeline` scenarios: one record each, and what each changes before a run."""

from __future__ import annotations

import io
import tarfile

import boto3

from local_pipeline.pipeline import add_arguments
from local_pipeline.scenarios import SCENARIOS, with_artifact_fault
from pipeline_lambdas.contract import EndState
from tests.support.local_account import BUCKET, artifact_uri


def test_every_scenario_says_how_it_must_end_and_is_offered() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    choices = next(a.choices for a in parser._actions if a.dest == "scenario")
    assert list(choices) == list(SCENARIOS)
    assert all(s.name == name and s.description for name, s in SCENARIOS.items())
    # Each scenario's expected ends are end states (`make pipeline` exits 0 only there); that
    # each run really ends there is shown by its run (tests/e2e/test_pipeline.py).
    assert all(s.expected_ends and set(s.expected_ends) <= set(EndState)
               for s in SCENARIOS.values())
    # The broken model must get past the gate to show the rollback, whatever the live model.
    assert SCENARIOS["broken-model"].force_deploy
    assert SCENARIOS["deploy"].make_log is None and SCENARIOS["deploy"].artifact_fault is None
    assert SCENARIOS["concurrent"].runs == 2


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
