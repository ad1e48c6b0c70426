"""The harness runs ASL with moto's interpreter and in-process Lambda handlers."""

from __future__ import annotations

import json

import boto3
import pytest

from localaws.lambdas import LambdaContext
from localaws.runtime import LocalAWS

ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"


class HealthCheckFailed(Exception):
    """A named error the state machine catches, as the pipeline's steps raise them."""


class Transient(Exception):
    pass


ATTEMPTS: dict[str, int] = {}


def deploy_step(event: dict, context: LambdaContext) -> dict:
    assert context.function_name == "deploy"
    assert context.get_remaining_time_in_millis() > 0 and context.aws_request_id
    ATTEMPTS["deploy"] = ATTEMPTS.get("deploy", 0) + 1
    if event.get("flaky") and ATTEMPTS["deploy"] == 1:
        raise Transient("first attempt fails")
    if event.get("broken"):
        raise HealthCheckFailed("predictions outside [0, 1]")
    return {"deployed": True, "wait_seconds": 0}


def rollback_step(event: dict, context: LambdaContext) -> dict:
    return {"rolled_back": True, "cause": json.loads(event["error"]["Cause"])["errorMessage"]}


DEFINITION = {
    "StartAt": "Deploy",
    "States": {
        "Deploy": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": ARN.format("deploy"), "Payload.$": "$"},
            "ResultSelector": {"result.$": "$.Payload"}, "ResultPath": "$.deploy",
            "Retry": [{"ErrorEquals": ["Transient"], "IntervalSeconds": 1, "MaxAttempts": 2,
                       "BackoffRate": 1.0}],
            "Catch": [{"ErrorEquals": ["HealthCheckFailed"], "ResultPath": "$.error",
                       "Next": "Rollback"}],
            "Next": "Wait"},
        "Wait": {"Type": "Wait", "SecondsPath": "$.deploy.result.wait_seconds",
                 "Next": "Deployed?"},
        "Deployed?": {"Type": "Choice", "Choices": [
            {"Variable": "$.deploy.result.deployed", "BooleanEquals": True, "Next": "Done"}],
            "Default": "Rollback"},
        "Rollback": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": ARN.format("rollback"), "Payload.$": "$"},
            "OutputPath": "$.Payload", "Next": "RolledBack"},
        "RolledBack": {"Type": "Fail", "Error": "DeploymentRolledBack",
                       "Cause": "the new model failed its health check"},
        "Done": {"Type": "Succeed"},
    },
}


@pytest.fixture
def machine(tmp_path):
    ATTEMPTS.clear()
    with LocalAWS(work_dir=tmp_path) as aws:
        arn = aws.deploy_state_machine("demo", DEFINITION, {
            ARN.format("deploy"): f"{__name__}:deploy_step",
            ARN.format("rollback"): rollback_step})
        yield aws, arn


def _states(result) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in result.events
            if "stateEnteredEventDetails" in e]


def test_success_path(machine) -> None:
    aws, arn = machine
    streamed: list[str] = []
    result = aws.run_execution(arn, {"model": "v1"}, on_event=lambda e: streamed.append(e["type"]))
    assert result.status == "SUCCEEDED"
    assert result.output["deploy"]["result"]["deployed"] is True
    assert _states(result) == ["Deploy", "Wait", "Deployed?", "Done"]
    assert streamed == [e["type"] for e in result.events]  # everything was streamed, in order


def test_handler_error_is_caught_into_rollback(machine) -> None:
    aws, arn = machine
    result = aws.run_execution(arn, {"broken": True})
    assert result.status == "FAILED"
    assert result.error == "DeploymentRolledBack"
    assert _states(result) == ["Deploy", "Rollback", "RolledBack"]
    rollback_output = next(json.loads(e["stateExitedEventDetails"]["output"])
                           for e in result.events if e.get("stateExitedEventDetails", {})
                           .get("name") == "Rollback")
    assert rollback_output == {"rolled_back": True, "cause": "predictions outside [0, 1]"}


def test_retry_succeeds_on_the_second_attempt(machine) -> None:
    aws, arn = machine
    result = aws.run_execution(arn, {"flaky": True})
    assert result.status == "SUCCEEDED"
    # the second attempt ran in the same warm worker, which remembered the first
    assert [i["function"] for i in aws.lambdas.invocations] == ["deploy", "deploy"]
    types = [e["type"] for e in result.events]
    assert types.count("TaskFailed") == 1 and types.count("TaskSucceeded") == 1


def test_direct_invoke_gets_lambda_error_payloads(machine, tmp_path) -> None:
    aws, arn = machine
    client = boto3.client("lambda")
    response = client.invoke(FunctionName="deploy", Payload=json.dumps({"broken": True}))
    assert response["FunctionError"] == "Unhandled"
    payload = json.loads(response["Payload"].read())
    assert payload["errorType"] == "HealthCheckFailed"
    assert payload["errorMessage"] == "predictions outside [0, 1]"
    ran = aws.run_execution(arn, {"model": "v1"})
    exported = aws.export(tmp_path / "export")
    executions = json.loads((exported / "executions.json").read_text())
    # The export holds the one execution, as it ended, with its history.
    assert [(e["execution"]["executionArn"], e["execution"]["status"]) for e in executions] == [
        (ran.arn, "SUCCEEDED")]
    assert len(executions[0]["history"]) == len(ran.events)
    invocations = json.loads((exported / "lambda_invocations.json").read_text())
    assert invocations[0]["error"] == "Unhandled"  # the direct one, first


def test_cli_streams_states_and_reports_the_outcome(tmp_path) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "sm.json").write_text(json.dumps(DEFINITION))
    (tmp_path / "lambdas.json").write_text(json.dumps({
        ARN.format("deploy"): f"{__name__}:deploy_step",
        ARN.format("rollback"): f"{__name__}:rollback_step"}))
    done = subprocess.run(
        [sys.executable, "-m", "calltime", "local", "run", "--definition", "sm.json",
         "--lambdas", "lambdas.json", "--input", '{"broken": true}', "--export", "state"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert done.returncode == 1, done.stderr  # the execution failed: rolled back
    lines = done.stdout.splitlines()
    assert "-> Deploy" in lines and "-> Rollback" in lines
    assert any(line.startswith("<- Rollback") and '"rolled_back":true' in line
               for line in lines)
    final = json.loads(done.stdout[done.stdout.index("{\n"):])
    assert final["status"] == "FAILED" and final["error"] == "DeploymentRolledBack"
    assert (tmp_path / "state" / "executions.json").exists()


def test_a_saved_account_keeps_only_what_it_holds(tmp_path) -> None:
    """`make pipeline` saves the local account after each run: a key deleted since the last save
    (cleanup of old versions, a removed work area) must not come back from the saved files."""
    state = tmp_path / "local-aws"
    with LocalAWS() as aws:
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="models-bucket")
        s3.put_object(Bucket="models-bucket", Key="models/v1/model.tar.gz", Body=b"old")
        s3.put_object(Bucket="models-bucket", Key="models/v2/model.tar.gz", Body=b"new")
        aws.save_state(state)
        s3.delete_object(Bucket="models-bucket", Key="models/v1/model.tar.gz")
        aws.save_state(state)
    assert not (state / "s3" / "models-bucket" / "models" / "v1").exists()
    with LocalAWS() as aws:
        aws.load_state(state)
        listed = boto3.client("s3").list_objects_v2(Bucket="models-bucket")["Contents"]
    keys = [o["Key"] for o in listed]
    assert keys == ["models/v2/model.tar.gz"]


def _refused_then_served(event: dict, context: LambdaContext) -> dict:
    return {"served": True}


def _bucket_step(event: dict, context: LambdaContext) -> dict:
    if event["item"] == 2:
        raise RuntimeError("bucket 2 is broken")
    return {"item": event["item"]}


def test_lambda_service_errors_are_named_and_retried_as_in_step_functions(tmp_path) -> None:
    """A Task on a function ARN that Lambda throttles fails with Lambda.TooManyRequestsException
    (what a Retry for throttling matches), not moto's generic "Exception"."""
    definition = {"StartAt": "Step", "States": {"Step": {
        "Type": "Task", "Resource": ARN.format("step"), "End": True,
        "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 1,
                   "MaxAttempts": 1}]}}}
    with LocalAWS(work_dir=tmp_path) as aws:
        arn = aws.deploy_state_machine("retry", definition,
                                       {ARN.format("step"): _refused_then_served})
        aws.lambdas.refuse("step", "TooManyRequestsException")
        result = aws.run_execution(arn, {})
        assert (result.status, result.output) == ("SUCCEEDED", {"served": True})
        failed = [e["lambdaFunctionFailedEventDetails"] for e in result.events
                  if e["type"] == "LambdaFunctionFailed"]
        assert failed == [{"error": "Lambda.TooManyRequestsException", "cause": "Rate Exceeded."}]
        aws.lambdas.refuse("step", "ServiceException", times=2)  # more than the Retry allows
        result = aws.run_execution(arn, {})
        assert (result.status, result.error) == ("FAILED", "Lambda.ServiceException")
        with pytest.raises(ValueError, match="TooManyRequests"):
            aws.lambdas.refuse("step", "Throttled")


def test_a_distributed_map_fails_when_an_item_fails(tmp_path) -> None:
    """No failure tolerated (the default): one failed item fails the map run with
    States.ExceedToleratedFailureThreshold, as in Step Functions (moto reports success)."""
    definition = {"StartAt": "Buckets", "States": {"Buckets": {
        "Type": "Map", "ItemsPath": "$.items", "ItemSelector": {"item.$": "$$.Map.Item.Value"},
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Bucket", "States": {"Bucket": {
                "Type": "Task", "Resource": ARN.format("bucket"), "End": True}}},
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
        "ResultPath": "$.results", "End": True},
        "Failed": {"Type": "Fail", "Error": "MapFailed", "CausePath": "$.error.Error"}}}
    with LocalAWS(work_dir=tmp_path) as aws:
        arn = aws.deploy_state_machine("map", definition, {ARN.format("bucket"): _bucket_step})
        assert aws.run_execution(arn, {"items": [1, 3]}).output["results"] == [
            {"item": 1}, {"item": 3}]
        result = aws.run_execution(arn, {"items": [1, 2, 3]})
        assert (result.status, result.error) == ("FAILED", "MapFailed")
        assert result.cause == "States.ExceedToleratedFailureThreshold"


def test_a_run_stopped_mid_way_shows_as_stopped_and_is_saved_with_the_account(tmp_path) -> None:
    """Ctrl-C or SIGTERM during a run: `runs list` shows it ABORTED (as a run whose process
    was killed outright shows), and the next save keeps it among the account's executions."""
    import json

    from localaws.runtime import EXECUTIONS_FILE, RUNNING_DIR
    from operations.account import SavedRuns

    definition = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 30,
                                                         "End": True}}}
    state = tmp_path / "state"
    with LocalAWS(work_dir=tmp_path / "work") as aws:
        arn = aws.deploy_state_machine("stopping", definition)

        def interrupt(event: dict) -> None:
            if event["type"] == "WaitStateEntered":
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            aws.run_execution(arn, {}, name="stopped-run", on_event=interrupt,
                              live_dir=state / RUNNING_DIR)
        (shown,) = SavedRuns(state).newest(5)
        assert (shown["name"], shown["status"]) == ("stopped-run", "ABORTED")
        aws.save_state(state)
    saved = json.loads((state / EXECUTIONS_FILE).read_text())
    stopped = [r for r in saved if r["execution"]["name"] == "stopped-run"]
    assert [r["execution"]["status"] for r in stopped] == ["ABORTED"]
    assert not list((state / RUNNING_DIR).glob("*.json"))


def test_s3_requests_are_counted_by_operation_as_s3_bills_them(tmp_path) -> None:
    """What `make bench-scale` reports per run: every S3 request answered, ranged GETs and
    refused ones included, by operation."""
    with LocalAWS(work_dir=tmp_path / "local") as aws:
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="counted-bucket")
        before = dict(aws.s3_requests)
        for n in range(3):
            s3.put_object(Bucket="counted-bucket", Key=f"k{n}", Body=b"0123456789")
        assert s3.get_object(Bucket="counted-bucket", Key="k1",
                             Range="bytes=2-4")["Body"].read() == b"234"
        with pytest.raises(s3.exceptions.NoSuchKey):
            s3.get_object(Bucket="counted-bucket", Key="missing")
        s3.list_objects_v2(Bucket="counted-bucket")
        made = {op: n - before.get(op, 0) for op, n in aws.s3_requests.items()
                if n != before.get(op, 0)}
    assert made == {"PutObject": 3, "GetObject": 2, "ListObjectsV2": 1}
