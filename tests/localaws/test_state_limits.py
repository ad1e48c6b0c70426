"""Step Functions' 256 KB state data limit holds locally, and is terminal as in AWS."""

from __future__ import annotations

import pytest

from localaws.runtime import LocalAWS

ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"
DEFINITION = {
    "StartAt": "Step",
    "States": {
        "Step": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                 "Parameters": {"FunctionName": ARN.format("step"), "Payload.$": "$"},
                 "ResultSelector": {"result.$": "$.Payload"}, "ResultPath": "$.step",
                 "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                            "Next": "Caught"}],
                 "End": True},
        "Caught": {"Type": "Pass", "End": True},
    },
}


def answer(event: dict, context) -> dict:
    return {"text": "x" * event["size"]}


@pytest.fixture
def machine(tmp_path):
    with LocalAWS(work_dir=tmp_path) as aws:
        yield aws, aws.deploy_state_machine("limits", DEFINITION, {ARN.format("step"): answer})


def test_a_result_under_the_limit_passes(machine) -> None:
    aws, arn = machine
    result = aws.run_execution(arn, {"size": 200 * 1024})
    assert result.status == "SUCCEEDED" and "Caught" not in result.exited_states()


def test_a_result_over_256_kb_fails_the_execution_and_states_all_does_not_catch_it(
        machine) -> None:
    aws, arn = machine
    result = aws.run_execution(arn, {"size": 300 * 1024})
    assert result.status == "FAILED"
    assert result.error == "States.DataLimitExceeded"
    assert "Caught" not in [e.get("stateEnteredEventDetails", {}).get("name")
                            for e in result.events]
