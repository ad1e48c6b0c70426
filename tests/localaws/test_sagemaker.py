"""The local SageMaker against the real API shapes, its lifecycles and its failure modes."""

from __future__ import annotations

import json
import os
import threading
import time

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError

from localaws.artifact_faults import slow_artifact
from tests.support.api_shapes import check_output
from tests.support.local_account import create_config, wait_status

FEATURES = json.dumps({"features": [[1, 19, 0.5]]})


def _invoke(body: str = FEATURES, endpoint: str = "ep") -> dict:
    runtime = boto3.client("sagemaker-runtime")
    response = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="application/json",
                                       Body=body)
    check_output("sagemaker-runtime", "InvokeEndpoint", response)
    return json.loads(response["Body"].read())


def _code(err: pytest.ExceptionInfo) -> str:
    return err.value.response["Error"]["Code"]


def test_create_describe_invoke_update_delete(aws) -> None:
    sm = boto3.client("sagemaker")
    create_config("c1", "good", concurrency=7, memory=2048)
    check_output("sagemaker", "DescribeModel", sm.describe_model(ModelName="model-c1"))
    config = sm.describe_endpoint_config(EndpointConfigName="c1")
    check_output("sagemaker", "DescribeEndpointConfig", config)
    assert config["ProductionVariants"][0]["ServerlessConfig"] == {"MemorySizeInMB": 2048,
                                                                   "MaxConcurrency": 7}
    created = sm.create_endpoint(EndpointName="ep", EndpointConfigName="c1")
    check_output("sagemaker", "CreateEndpoint", created)
    first = sm.describe_endpoint(EndpointName="ep")
    assert first["EndpointStatus"] == "Creating"
    ready = wait_status("ep", ("Creating",))
    check_output("sagemaker", "DescribeEndpoint", ready)
    assert ready["EndpointStatus"] == "InService" and ready["EndpointConfigName"] == "c1"
    assert "FailureReason" not in ready
    assert 0 < _invoke()["predictions"][0] < 1

    create_config("c2", "good")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="c2")
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Updating"
    updated = wait_status("ep", ("Updating",))
    assert (updated["EndpointStatus"], updated["EndpointConfigName"]) == ("InService", "c2")
    assert _invoke()["predictions"]
    for operation, key in (("ListEndpoints", "Endpoints"), ("ListModels", "Models"),
                           ("ListEndpointConfigs", "EndpointConfigs")):
        listing = getattr(sm, {"ListEndpoints": "list_endpoints", "ListModels": "list_models",
                               "ListEndpointConfigs": "list_endpoint_configs"}[operation])()
        check_output("sagemaker", operation, listing)
        assert listing[key]

    sm.delete_endpoint(EndpointName="ep")
    sm.delete_endpoint_config(EndpointConfigName="c1")
    sm.delete_model(ModelName="model-c1")
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == []
    with pytest.raises(ClientError) as err:
        sm.describe_endpoint(EndpointName="ep")
    assert _code(err) == "ValidationException"


@pytest.mark.parametrize("broken", ["import_error", "model_fn_raises", "not_a_tarball",
                                    "missing"])
def test_failed_update_keeps_the_old_model_serving(aws, broken: str) -> None:
    sm = boto3.client("sagemaker")
    create_config("good", "good")
    create_config("bad", broken)
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="good")
    wait_status("ep", ("Creating",))
    before = _invoke()
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="bad")
    answers = []
    while True:  # the endpoint keeps answering with the old model during the update
        status = sm.describe_endpoint(EndpointName="ep")["EndpointStatus"]
        answers.append(_invoke())
        if status == "InService":
            break
        time.sleep(0.05)
    after = sm.describe_endpoint(EndpointName="ep")
    # Every status it went through, recorded as it changed (no poll has to catch RollingBack).
    assert aws.sagemaker.endpoints["ep"].history == [
        "Creating", "InService", "Updating", "RollingBack", "InService"]
    assert after["EndpointConfigName"] == "good"  # back on the previous config
    assert after["FailureReason"]
    assert all(answer == before for answer in answers)
    assert _invoke() == before


def test_silent_rollback_leaves_no_failure_reason(silent_aws) -> None:
    sm = boto3.client("sagemaker")
    create_config("good", "good")
    create_config("bad", "import_error")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="good")
    wait_status("ep", ("Creating",))
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="bad")
    after = wait_status("ep", ("Updating", "RollingBack"))
    # InService and no FailureReason: only the config name shows the update did not take.
    assert after["EndpointStatus"] == "InService"
    assert "FailureReason" not in after
    assert after["EndpointConfigName"] == "good"


@pytest.mark.parametrize(("broken", "reason"), [
    ("not_a_tarball", "Failed to extract model data archive"),
    ("missing", "Could not find model data"),
    ("import_error", "did not pass the ping health check"),
])
def test_failed_create_ends_failed_with_a_reason(aws, broken: str, reason: str) -> None:
    sm = boto3.client("sagemaker")
    create_config("bad", broken)
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="bad")
    failed = wait_status("ep", ("Creating",))
    check_output("sagemaker", "DescribeEndpoint", failed)
    assert failed["EndpointStatus"] == "Failed"
    assert reason in failed["FailureReason"]
    with pytest.raises(ClientError) as err:
        _invoke()
    assert _code(err) == "ValidationError"


def test_validation_exceptions(aws) -> None:
    sm = boto3.client("sagemaker")
    create_config("c1", "good")
    cases = [
        lambda: sm.describe_endpoint(EndpointName="nope"),
        lambda: sm.describe_endpoint_config(EndpointConfigName="nope"),
        lambda: sm.describe_model(ModelName="nope"),
        lambda: sm.create_endpoint(EndpointName="ep2", EndpointConfigName="nope"),
        lambda: sm.update_endpoint(EndpointName="nope", EndpointConfigName="c1"),
        lambda: create_config("c1", "good"),  # already exists
        lambda: create_config("m1", "good", memory=1500),  # not a multiple of 1024
        lambda: create_config("m2", "good", concurrency=201),
    ]
    for case in cases:
        with pytest.raises(ClientError) as err:
            case()
        assert _code(err) == "ValidationException", err.value
    # Below the service model's minimum, botocore itself refuses before any call is made.
    with pytest.raises(ParamValidationError, match="valid min value: 1024"):
        create_config("m3", "good", memory=512)
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="c1")
    with pytest.raises(ClientError, match="in-progress") as err:
        sm.update_endpoint(EndpointName="ep", EndpointConfigName="c1")  # still Creating
    assert _code(err) == "ValidationException"
    with pytest.raises(ClientError) as err:
        _invoke()  # not InService yet
    assert _code(err) == "ValidationError"  # SageMaker Runtime's code, not the control plane's


def test_model_4xx_is_a_model_error_with_the_original_status(aws) -> None:
    create_config("c1", "good")
    boto3.client("sagemaker").create_endpoint(EndpointName="ep", EndpointConfigName="c1")
    wait_status("ep", ("Creating",))
    runtime = boto3.client("sagemaker-runtime")
    with pytest.raises(runtime.exceptions.ModelError) as err:
        runtime.invoke_endpoint(EndpointName="ep", ContentType="application/xml", Body="<x/>")
    assert err.value.response["OriginalStatusCode"] == 415
    assert "not supported" in json.loads(err.value.response["OriginalMessage"])["message"]


def test_throttles_beyond_max_concurrency(aws) -> None:
    create_config("c1", "good", concurrency=1)
    boto3.client("sagemaker").create_endpoint(EndpointName="ep", EndpointConfigName="c1")
    wait_status("ep", ("Creating",))
    slow = json.dumps({"contacts": [{"contact_id": f"c{i}", "history": [
        {"called_at": f"2026-05-{d:02d}T10:00:00Z", "answered": d % 3 == 0}
        for d in range(1, 29)]} for i in range(100)], "as_of": "2026-06-01T00:00:00Z"})
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def call() -> None:
        runtime = boto3.client("sagemaker-runtime")
        barrier.wait()
        try:
            runtime.invoke_endpoint(EndpointName="ep", ContentType="application/json",
                                    Body=slow)
            outcomes.append("ok")
        except ClientError as err:
            outcomes.append(err.response["Error"]["Code"])

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert "ok" in outcomes
    assert "ThrottlingException" in outcomes
    assert set(outcomes) <= {"ok", "ThrottlingException"}


def test_serverless_cold_start_pays_the_model_load(aws) -> None:
    create_config("c1", "good")
    boto3.client("sagemaker").create_endpoint(EndpointName="ep", EndpointConfigName="c1")
    wait_status("ep", ("Creating",))
    endpoint = aws.sagemaker.endpoints["ep"]
    assert not endpoint.server.running  # healthy, then scaled to zero
    first = _invoke()
    [record] = aws.sagemaker.cold_starts()["ep"]  # the first invocation started the model
    assert record["model_setup_seconds"] > 0
    assert record["invocation_seconds"] >= record["model_setup_seconds"]
    server = endpoint.server.process.pid
    assert _invoke() == first
    # The second is warm: the same server answers, no new cold start (not a race of clocks).
    assert len(aws.sagemaker.cold_starts()["ep"]) == 1 and endpoint.server.process.pid == server


@pytest.mark.slow
def test_no_server_outlives_the_runtime(artifacts, tmp_path) -> None:
    """A test failing while it uses the runtime (an assertion raised inside it): every server
    the runtime started is stopped as it exits, one still starting too."""
    from localaws.runtime import LocalAWS
    from tests.support.local_account import put_artifacts

    with pytest.raises(AssertionError, match="a test failing here"), \
            LocalAWS(work_dir=tmp_path / "local") as runtime:
        put_artifacts(artifacts)
        create_config("c1", "good")
        create_config("c2", "good")
        sm = boto3.client("sagemaker")
        sm.create_endpoint(EndpointName="a", EndpointConfigName="c1")
        sm.create_endpoint(EndpointName="b", EndpointConfigName="c2")
        wait_status("a", ("Creating",))
        wait_status("b", ("Creating",))
        _invoke(endpoint="a")  # scaled to zero after deployment: these start them again
        _invoke(endpoint="b")
        pids = runtime.sagemaker.server_pids()
        assert len(pids) >= 2
        assert all(_alive(pid) for pid in pids)
        sm.create_endpoint(EndpointName="c", EndpointConfigName="c1")  # still starting at exit
        raise AssertionError("a test failing here")
    pids = runtime.sagemaker.server_pids()
    assert not any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        status = stat.read().rsplit(")", 1)[1].split()[0]
    return status != "Z"


def test_names_and_payloads_beyond_sagemakers_limits_are_refused(aws) -> None:
    """botocore checks neither a name's maximum length nor its pattern, nor the serverless
    request size: SageMaker does, so the local one does too."""
    sm = boto3.client("sagemaker")
    for name, problem in (("m" * 64, "length less than or equal to 63"),
                          ("bad_name", "regular expression pattern"),
                          ("-leading", "regular expression pattern")):
        with pytest.raises(ClientError, match=problem) as err:
            sm.create_model(ModelName=name, ExecutionRoleArn="arn:aws:iam::1:role/r",
                            PrimaryContainer={"Image": "i", "ModelDataUrl": "s3://b/k"})
        assert _code(err) == "ValidationException"
    create_config("c" * 30 + "-" * 20 + "c", "good")  # 51 characters, hyphens inside: fine
    create_config("ok", "good")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="ok")
    wait_status("ep", ("Creating",))
    big = json.dumps({"features": [[1, 19, 0.5]] * 400_000})  # about 5 MB
    with pytest.raises(ClientError, match="byte limit of serverless") as err:
        _invoke(big)
    assert _code(err) == "ValidationError"
    assert _invoke()["predictions"]  # a request within the limit is served


def test_an_invocation_past_the_timeout_is_a_model_error(aws, artifacts) -> None:
    """SageMaker gives the container 60 s (here 1 s) to answer, then the caller gets a
    ModelError, 'Received server error (0)', not a hang or a 503 to retry."""
    boto3.client("s3").put_object(Bucket="calltime-models", Key="models/slow/model.tar.gz",
                                  Body=slow_artifact(20.0)(artifacts["good"]))
    aws.sagemaker.invocation_timeout = 1.0
    create_config("c1", "slow")
    boto3.client("sagemaker").create_endpoint(EndpointName="ep", EndpointConfigName="c1")
    wait_status("ep", ("Creating",))
    runtime = boto3.client("sagemaker-runtime")
    started = time.monotonic()
    with pytest.raises(runtime.exceptions.ModelError) as err:
        runtime.invoke_endpoint(EndpointName="ep", ContentType="application/json", Body=FEATURES)
    # Cut at the timeout (1 s), not when the model answers (20 s): the bound between them is
    # loose on purpose, a loaded machine stretches the 1 s.
    assert time.monotonic() - started < 12
    assert err.value.response["OriginalStatusCode"] == 0
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert "Received server error (0) from primary" in str(err.value)
    assert "timed out while waiting for a response from container primary" in str(err.value)


def test_no_model_directory_outlives_its_server(aws) -> None:
    """A replaced, a failed and a deleted deployment each leave nothing extracted behind: the
    work directory holds the models the endpoints serve, and no more."""
    sagemaker = boto3.client("sagemaker")

    def extracted() -> set[str]:
        return {p.name for p in aws.sagemaker.servers.work_dir.iterdir() if p.is_dir()}

    def serving() -> set[str]:
        return {e.server.model_dir.name for e in aws.sagemaker.endpoints.values() if e.server}

    for name, artifact in (("c1", "good"), ("c2", "model_fn_raises"), ("c3", "good")):
        create_config(name, artifact)
    sagemaker.create_endpoint(EndpointName="ep", EndpointConfigName="c1")
    wait_status("ep", ("Creating",))
    assert len(extracted()) == 1 and extracted() == serving()
    for config in ("c2", "c3"):  # a failed update, then a good one replacing c1
        sagemaker.update_endpoint(EndpointName="ep", EndpointConfigName=config)
        wait_status("ep", ("Updating", "RollingBack"))
        assert len(extracted()) == 1 and extracted() == serving()
    assert sagemaker.describe_endpoint(EndpointName="ep")["EndpointConfigName"] == "c3"
    sagemaker.delete_endpoint(EndpointName="ep")
    assert extracted() == set()
