"""Handlers given by import path run in worker processes that Lambda's limits really stop."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import boto3
import pytest

from localaws.authorization import Policies
from localaws.lambdas import FunctionConfig
from localaws.runtime import LocalAWS

BUCKET = "worker-bucket"
ROLE = "arn:aws:iam::123456789012:role/step-fn"


def hungry(event: dict, context) -> dict:
    """Holds event['mb'] megabytes, touched so they are resident."""
    block = bytearray(event["mb"] * 1024 * 1024)
    for offset in range(0, len(block), 4096):
        block[offset] = 1
    return {"held_mb": len(block) // (1024 * 1024)}


def slow(event: dict, context) -> dict:
    Path(event["marker"] + ".pid").write_text(str(os.getpid()))
    time.sleep(event["seconds"])
    Path(event["marker"]).write_text("finished")  # a side effect after the timeout
    return {"slept": event["seconds"]}


def _gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for its parent has exited too)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def environment(event: dict, context) -> dict:
    return {"setting": os.environ.get("STEP_SETTING"), "pid": os.getpid(),
            "memory": context.memory_limit_in_mb,
            "name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
            "threads": os.environ.get("OMP_NUM_THREADS")}


def reads(event: dict, context) -> dict:
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key=event["key"], Body=b"written by the step")
    return {"body": s3.get_object(Bucket=BUCKET, Key=event["key"])["Body"].read().decode()}


@pytest.fixture
def local(tmp_path):
    with LocalAWS(work_dir=tmp_path / "local", cold_start_delay=0.0) as aws:
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield aws


def _invoke(name: str, event: dict) -> dict:
    response = boto3.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event))
    return {"error": response.get("FunctionError"),
            "payload": json.loads(response["Payload"].read())}


def test_going_over_memory_kills_the_invocation_as_lambda_does(local) -> None:
    local.register_lambda("hungry", f"{__name__}:hungry", FunctionConfig(memory_mb=400))
    assert _invoke("hungry", {"mb": 50})["payload"] == {"held_mb": 50}
    over = _invoke("hungry", {"mb": 600})
    assert over["error"] == "Unhandled"
    assert over["payload"]["errorType"] == "Runtime.OutOfMemory"
    assert "signal: killed" in over["payload"]["errorMessage"]
    record = local.lambdas.invocations[-1]
    assert record["max_memory_mb"] > 400 and record["memory_mb"] == 400
    assert _invoke("hungry", {"mb": 50})["payload"] == {"held_mb": 50}  # a new environment


@pytest.mark.slow
def test_a_timeout_stops_the_handler_midway(local, tmp_path) -> None:
    """The handler would sleep for ten minutes: the answer comes at the timeout, with its
    worker already dead, so what it would have done next never happens (no clock is read: a
    handler let run on would still be asleep, its worker alive)."""
    local.register_lambda("slow", f"{__name__}:slow", FunctionConfig(timeout_seconds=1))
    marker = tmp_path / "marker"
    result = _invoke("slow", {"seconds": 600, "marker": str(marker)})
    assert result["payload"]["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in result["payload"]["errorMessage"]
    assert _gone(int(Path(f"{marker}.pid").read_text()))
    assert not marker.exists()


def test_each_function_gets_its_own_environment_and_a_warm_worker(local) -> None:
    local.register_lambda("a", f"{__name__}:environment",
                          FunctionConfig(memory_mb=256, environment={"STEP_SETTING": "a"}))
    local.register_lambda("b", f"{__name__}:environment",
                          FunctionConfig(environment={"STEP_SETTING": "b"}))
    first, again = _invoke("a", {})["payload"], _invoke("a", {})["payload"]
    other = _invoke("b", {})["payload"]
    assert (first["setting"], other["setting"]) == ("a", "b")
    assert (first["name"], other["name"]) == ("a", "b")  # Lambda's reserved variable
    assert first["memory"] == 256 and first["pid"] == again["pid"] != os.getpid()
    assert "STEP_SETTING" not in os.environ
    # the machine's thread-pool size (a test worker's share of the cores) holds in the function
    assert first["threads"] == os.environ.get("OMP_NUM_THREADS")


def test_a_workers_aws_calls_are_made_with_its_functions_role(local) -> None:
    local.register_lambda("reads", f"{__name__}:reads", FunctionConfig(role_arn=ROLE))
    grant = [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
              "Resource": f"arn:aws:s3:::{BUCKET}/mine/*"}]
    local.policies = Policies(roles={"step-fn": grant})
    assert _invoke("reads", {"key": "mine/a"})["payload"] == {"body": "written by the step"}
    denied = _invoke("reads", {"key": "theirs/a"})["payload"]
    assert denied["errorType"] == "AccessDenied"  # botocore's class for S3's error code
    assert "assumed-role/step-fn/reads is not authorized to perform: s3:PutObject on resource: " \
        f"arn:aws:s3:::{BUCKET}/theirs/a" in denied["errorMessage"]
    # Each invocation's AWS calls are counted (what `make bench-scale` reports per worker);
    # the refused one made its one call.
    first, second = local.lambdas.invocations[-2:]
    assert first["aws_calls"] == {"s3.PutObject": 1, "s3.GetObject": 1}
    assert second["aws_calls"] == {"s3.PutObject": 1}


def dies(event: dict, context) -> dict:
    os._exit(3)


def copies(event: dict, context) -> dict:
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key=event["key"], Body=b"copied")
    s3.copy_object(Bucket=BUCKET, Key="mine/copy", CopySource={"Bucket": BUCKET,
                                                                "Key": event["key"]})
    return {"body": s3.get_object(Bucket=BUCKET, Key="mine/copy")["Body"].read().decode(),
            "env": sorted(k for k in os.environ if k.startswith("CALLTIME_TEST"))}


def calls_slow(event: dict, context) -> dict:
    boto3.client("lambda").invoke(FunctionName="slow", Payload=json.dumps(event))
    return {"returned": True}


def nothing(event: dict, context) -> dict:
    return {}


def test_a_worker_that_dies_fails_at_once_with_exit_error(local) -> None:
    """At once: not at the function's timeout, which would end it as Sandbox.Timedout."""
    local.register_lambda("dies", f"{__name__}:dies", FunctionConfig(timeout_seconds=900))
    result = _invoke("dies", {})
    assert result["payload"]["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in result["payload"]["errorMessage"]


def test_a_small_function_fits_its_memory(local) -> None:
    """A worker carries only what every handler imports: CloudFormation's default 128 MB
    holds a handler that does nothing."""
    local.register_lambda("nothing", f"{__name__}:nothing", FunctionConfig(memory_mb=128))
    assert _invoke("nothing", {}) == {"error": None, "payload": {}}


def test_calls_keep_the_callers_parameters_and_workers_the_functions_environment(
        local, monkeypatch) -> None:
    monkeypatch.setenv("CALLTIME_TEST_HARNESS", "not for the function")
    local.register_lambda("copies", f"{__name__}:copies", FunctionConfig(
        environment={"CALLTIME_TEST_OWN": "1"}))
    result = _invoke("copies", {"key": "mine/a b+c%.txt"})["payload"]
    assert result == {"body": "copied", "env": ["CALLTIME_TEST_OWN"]}


def test_the_timeout_holds_while_a_call_of_the_handler_is_being_made(local, tmp_path) -> None:
    """The function it calls sleeps ten minutes: the caller's one-second timeout still ends
    the caller while that call is being made (had it waited for the answer, the callee would
    have finished, its marker written)."""
    local.register_lambda("slow", f"{__name__}:slow", FunctionConfig(timeout_seconds=900))
    local.register_lambda("calls-slow", f"{__name__}:calls_slow",
                          FunctionConfig(timeout_seconds=1))
    marker = tmp_path / "m"
    result = _invoke("calls-slow", {"seconds": 600, "marker": str(marker)})
    assert result["payload"]["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in result["payload"]["errorMessage"]
    assert not marker.exists()


def spins(event: dict, context) -> dict:
    """Busy for event['seconds'] of CPU, or asleep that long; then fails if asked to."""
    if event.get("sleep"):
        time.sleep(event["seconds"])
        return {}
    end = time.process_time() + event["seconds"]
    while time.process_time() < end:
        pass
    if event.get("fail"):
        raise RuntimeError("failed after spinning")
    return {}


def test_each_invocation_reports_the_cpu_its_environment_used(local) -> None:
    """What `make bench-scale` divides rows by: a worker's own CPU time, whatever else runs
    beside it on the machine (a Lambda environment has its vCPUs to itself); waiting is not
    CPU."""
    local.register_lambda("spins", f"{__name__}:spins", FunctionConfig())
    _invoke("spins", {"seconds": 0.4})
    _invoke("spins", {"seconds": 0.4, "sleep": True})
    busy, asleep = local.lambdas.invocations[-2:]
    # the cold start's import of the handler's module is INIT, reported apart
    assert busy["init_cpu_seconds"] > 0.02 and asleep["init_cpu_seconds"] < 0.01
    assert 0.35 <= busy["cpu_seconds"] - busy["init_cpu_seconds"] <= 0.6
    assert asleep["cpu_seconds"] <= 0.05 and asleep["seconds"] >= 0.4
    # a handler that fails on a warm environment: its CPU is its own, none of it INIT
    assert _invoke("spins", {"seconds": 0.3, "fail": True})["error"] == "Unhandled"
    failed = local.lambdas.invocations[-1]
    assert failed["init_cpu_seconds"] < 0.01 and 0.25 <= failed["cpu_seconds"] <= 0.5


def checksums(event: dict, context) -> dict:
    """A PutObject that asks for a checksum, one that does not, and ranged reads of both."""
    s3 = boto3.client("s3")
    body = bytes(range(256)) * 4096  # 1 MiB
    s3.put_object(Bucket=BUCKET, Key="asked", Body=body, ChecksumAlgorithm="SHA256")
    s3.put_object(Bucket=BUCKET, Key="plain", Body=body)
    asked = s3.head_object(Bucket=BUCKET, Key="asked", ChecksumMode="ENABLED")
    ranged = [s3.get_object(Bucket=BUCKET, Key=key, Range=f"bytes={first}-{last}")["Body"].read()
              == body[first:last + 1] for key in ("asked", "plain")
              for first, last in ((0, 0), (1000, 70_000), (len(body) - 9, len(body) - 1))]
    return {"sha256": asked.get("ChecksumSHA256"), "ranged": ranged,
            "whole": s3.get_object(Bucket=BUCKET, Key="plain")["Body"].read() == body}


def test_a_workers_put_keeps_the_checksum_it_asks_for_and_its_bytes(local) -> None:
    """The local account does not add the SDK's default CRC32 to a worker's PUT (the body
    crosses a pipe, not a network); a checksum the handler asks for is still computed and
    stored, and every byte reads back, whole or by range."""
    import base64
    import hashlib

    local.register_lambda("checksums", f"{__name__}:checksums", FunctionConfig())
    result = _invoke("checksums", {})["payload"]
    body = bytes(range(256)) * 4096
    assert result == {"sha256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
                      "ranged": [True] * 6, "whole": True}


def test_s3_requests_do_not_reimport_motos_url_module(local, monkeypatch) -> None:
    """moto's S3 re-imported its URL module on every request: a tenth of a ranged GET here.
    The local account builds the table once (localaws.s3_speed)."""
    from moto.s3 import models

    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"0123456789")
    reloads: list[str] = []
    original = models.reload
    monkeypatch.setattr(models, "reload", lambda module: reloads.append(module.__name__)
                        or original(module))
    assert s3.get_object(Bucket=BUCKET, Key="k", Range="bytes=2-4")["Body"].read() == b"234"
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 1
    assert reloads == []
