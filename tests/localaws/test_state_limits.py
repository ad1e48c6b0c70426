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


def mapped(result_writer: bool) -> dict:
    """A Distributed Map over `$.items` whose children each return `size` bytes; its results
    are discarded (ResultPath null), and a Catch of States.ALL is there to be skipped."""
    state = {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 10, "ResultPath": None,
        "ItemSelector": {"size.$": "$.size"},
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Item",
            "States": {"Item": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                "Parameters": {"FunctionName": ARN.format("step"),
                                               "Payload.$": "$"},
                                "OutputPath": "$.Payload", "End": True}}},
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
        "End": True}
    if result_writer:
        state["ResultWriter"] = {"Resource": "arn:aws:states:::s3:putObject",
                                 "Parameters": {"Bucket": "results", "Prefix": "maps"}}
    return {"StartAt": "Map", "States": {"Map": state, "Caught": {"Type": "Pass", "End": True}}}


@pytest.mark.parametrize("result_writer", [False, True])
def test_a_distributed_maps_gathered_results_count_against_the_limit_even_when_discarded(
        tmp_path, result_writer) -> None:
    """30 children of 10 KB each: 300 KB gathered. Step Functions fails the Map (terminally)
    although ResultPath is null; a ResultWriter sends the results to S3 instead."""
    import boto3

    with LocalAWS(work_dir=tmp_path) as aws:
        boto3.client("s3").create_bucket(Bucket="results")
        arn = aws.deploy_state_machine("mapped", mapped(result_writer),
                                       {ARN.format("step"): answer})
        result = aws.run_execution(arn, {"items": list(range(30)), "size": 10 * 1024})
    entered = [e.get("stateEnteredEventDetails", {}).get("name") for e in result.events]
    if result_writer:
        assert result.status == "SUCCEEDED" and "Caught" not in entered
        return
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")
    assert "Caught" not in entered
    assert "30 child executions" in (result.cause or "")


def test_a_distributed_map_of_small_results_passes(tmp_path) -> None:
    with LocalAWS(work_dir=tmp_path) as aws:
        arn = aws.deploy_state_machine("mapped", mapped(False), {ARN.format("step"): answer})
        result = aws.run_execution(arn, {"items": list(range(30)), "size": 8 * 1024})
    assert result.status == "SUCCEEDED", (result.error, result.cause)
