"""A billion-row log's plan (400 parts, 1,001 contact buckets) through all three Distributed Maps
of the synthesized state machine, on the local runtime that holds each Map's gathered results to
Step Functions' 256 KB: the workers are stand-ins returning what the real ones return
(tests/support/scale_shape.py), everything else is the real pipeline, to Deployed."""

from __future__ import annotations

import os

import pytest

from local_pipeline.pipeline import LOCAL_INPUT
from localaws.runtime import LocalAWS
from pipeline_lambdas.contract import EndState
from tests.support import scale_shape
from tests.support.stacks import local_stack
from training.simulate import SimulationConfig, write

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
QUIET = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}


@pytest.fixture(scope="module")
def billion(tmp_path_factory):
    out = tmp_path_factory.mktemp("billion")
    calls, _ = write(SimulationConfig(n_contacts=300, seed=5), out / "data")
    stack = local_stack(out, scale_out_concurrency=100)
    template = stack.template
    with LocalAWS(region=stack.settings.region, work_dir=out / "work",
                  cold_start_delay=0.0) as aws:
        _, arn = aws.deploy_stack(template, stack.stack_name, QUIET)
        for key, handler in scale_shape.stand_ins(calls).items():
            aws.register_lambda(f"{stack.settings.prefix}-{key}", handler)
        result = aws.run_execution(arn, dict(LOCAL_INPUT), timeout=600)
        invocations = list(aws.lambdas.invocations)
    return result, invocations


def test_the_billion_row_plan_goes_through_the_three_maps_and_deploys(billion) -> None:
    result, invocations = billion
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.final_state == EndState.DEPLOYED
    plan = result.state_value("plan")
    assert (len(plan["parts"]), plan["bucket_count"]) == (400, 1001)
    ran = [i["function"].removeprefix("calltime-local-") for i in invocations]
    assert ran.count("partition") == 400
    assert ran.count("merge-bucket") == 1001 and ran.count("count-bucket") == 1001


@pytest.fixture(scope="module")
def out_of_memory(tmp_path_factory):
    """Six parts; part 3's worker outgrows its function's 1024 MB on both tries."""
    out = tmp_path_factory.mktemp("oom")
    # The settings of test_pipeline's `make pipeline CDK_ARGS=...` test, as `-c` gives them
    # (strings): one synthesized template for both.
    stack = local_stack(out, scale_out_rows="1000000", training_memory_mb="1024")
    template = stack.template
    with LocalAWS(region=stack.settings.region, work_dir=out / "work") as aws:
        local, arn = aws.deploy_stack(template, stack.stack_name, QUIET)
        prefix = stack.settings.prefix
        aws.register_lambda(f"{prefix}-plan-training", scale_shape.planner(6, 6_000_000, 8))
        aws.register_lambda(f"{prefix}-partition",
                            "tests.support.scale_shape:partition_out_of_memory")
        result = aws.run_execution(arn, dict(LOCAL_INPUT), timeout=300)
        yield result, aws, local.environment["MODELS_BUCKET"]


def test_a_map_item_killed_for_memory_is_named_wherever_the_run_is_read(out_of_memory) -> None:
    """Step Functions says only that the map's tolerated failure threshold was exceeded: the
    run's error, its notification, `calltime runs show` and the history page name the item."""
    import json

    import boto3

    from operations.runs import run_error

    result, aws, bucket = out_of_memory
    assert result.final_state == EndState.PIPELINE_FAILED
    killed = [i for i in aws.lambdas.invocations if i["function"].endswith("-partition")
              and i["error_type"] == "Runtime.OutOfMemory"]
    assert len(killed) == 2  # retried once in a fresh environment, killed again
    part = f"part {scale_shape.OUT_OF_MEMORY_PART} (s3://{bucket}/data/calls/export/part-00003"
    error = result.state_value("error")
    assert error["Error"] == "Runtime.OutOfMemory"
    assert error["Cause"].startswith(f"PartitionParts: {part}.parquet) failed with "
                                     "Runtime.OutOfMemory"), error
    assert run_error(result.events) == error  # what `calltime runs show` prints
    s3 = boto3.client("s3")
    name = result.arn.rsplit(":", 1)[-1]
    sent = json.loads(s3.get_object(Bucket=bucket, Key=f"notifications/{name}/failed.json")
                      ["Body"].read())
    assert sent["error"] == error
    (record,) = json.loads(s3.get_object(
        Bucket=bucket, Key="models/optimal-call-time/history.json")["Body"].read())
    assert record["error"] == "Runtime.OutOfMemory" and part in record["error_detail"]
    page = s3.get_object(Bucket=bucket, Key="models/optimal-call-time/history.html")
    assert part in page["Body"].read().decode()
