"""A log too large for one function trains through the synthesized state machine's Distributed
Maps on the local runtime: several parts, several buckets, every worker under its limits, and
the model the single-function path would have trained."""

from __future__ import annotations

import io
import json
import os

import boto3
import pandas as pd
import pytest

from local_pipeline.pipeline import LOCAL_INPUT
from localaws.runtime import LocalAWS
from pipeline_lambdas.contract import EndState, TrainingPath
from tests.support import faults
from tests.support.logs import log_in_parts
from tests.support.stacks import local_stack
from training.train import train

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
QUIET = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}
BUCKETS = 4


@pytest.fixture(scope="module")
def parts(demo_log) -> list[tuple[str, bytes]]:
    """The demo log (48k calls) as three CSV parts; the last repeats a call of the first, and a
    fourth part is not a call log at all."""
    return log_in_parts(demo_log[0])


@pytest.fixture(scope="module")
def scaled(parts, tmp_path_factory):
    out = tmp_path_factory.mktemp("scale-out")
    stack = local_stack(out, scale_out_rows=1000, scale_out_buckets=BUCKETS,
                        scale_out_concurrency=2)
    template = stack.template
    # The first partition worker runs out of memory after writing its outputs: retried.
    faults.inject(template, "pipeline_lambdas.partition_step.handler", "out_of_memory_once",
                  str(out / "oom-marker"))
    with LocalAWS(region=stack.settings.region, work_dir=out / "work") as aws:
        local, arn = aws.deploy_stack(template, stack.stack_name, QUIET)
        bucket = local.environment["MODELS_BUCKET"]
        s3 = boto3.client("s3")
        for name, data in [*parts, ("part-9.csv", b"\x00\x01 not a call log \x00")]:
            s3.put_object(Bucket=bucket, Key=f"data/calls/{name}", Body=data)
        result = aws.run_execution(arn, dict(LOCAL_INPUT), timeout=600)
        version = result.state_value("train").get("model_version")
        metadata = json.loads(s3.get_object(
            Bucket=bucket, Key=f"models/optimal-call-time/{version}/metadata.json")["Body"].read())
        leftovers = s3.list_objects_v2(Bucket=bucket, Prefix="work/").get("KeyCount", 0)
        # The bucket is versioned: every write of the work area is still there as a version.
        versions: dict[str, list[str]] = {}
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket,
                                                                      Prefix="work/"):
            for stored in page.get("Versions", []):
                versions.setdefault(stored["Key"], []).append(stored["ETag"])
        rejects = s3.get_object(Bucket=bucket, Key=f"models/optimal-call-time/{version}/"
                                "rejects.csv")["Body"].read()
        metadata["rejects.csv"] = pd.read_csv(io.BytesIO(rejects), dtype=str)
        yield result, metadata, leftovers, list(aws.lambdas.invocations), versions


def test_a_large_log_deploys_through_the_distributed_maps(scaled) -> None:
    result, _, leftovers, invocations, _ = scaled
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.final_state == EndState.DEPLOYED
    plan = result.state_value("plan")
    assert plan["path"] == TrainingPath.SCALE_OUT and plan["files"] == 4
    assert plan["bucket_count"] == BUCKETS
    ran = [i["function"].removeprefix("calltime-local-") for i in invocations
           if i["error"] is None]
    assert ran.count("partition") == 4 and ran.count("merge-bucket") == BUCKETS
    assert ran.count("count-bucket") == BUCKETS and ran.count("train-sample") == 1
    assert "train" not in ran
    for invocation in invocations:  # every worker that finished did so inside its memory
        if invocation["error"] is None:
            assert invocation["max_memory_mb"] < invocation["memory_mb"], invocation
    assert leftovers == 0  # the run's work area is gone


def test_a_worker_out_of_memory_on_its_first_try_is_retried_and_its_rewrite_is_harmless(
        scaled) -> None:
    result, _, _, invocations, versions = scaled
    (killed,) = [i for i in invocations if i["error"] is not None]
    assert killed["function"].endswith("-partition")
    assert killed["error_type"] == "Runtime.OutOfMemory"
    assert killed["max_memory_mb"] >= killed["memory_mb"]
    assert [i["function"] for i in invocations].count(killed["function"]) == 5  # 4 parts + 1
    assert result.final_state == EndState.DEPLOYED
    # Its part was written twice, before the kill and by the retry, under the same keys with
    # the same bytes (each key's versions: one ETag, twice); every other part's once. So it is
    # counted once: the counts match the single-function path's
    # (test_it_trains_the_model_one_function_would_have).
    pieces = {key: etags for key, etags in versions.items() if "/pieces/" in key}
    twice = {key for key, etags in pieces.items() if len(etags) == 2}
    assert twice and all(len(set(pieces[key])) == 1 for key in twice)
    assert len({key.rsplit("part=", 1)[1].split("-")[0] for key in twice}) == 1  # one part
    assert all(len(etags) == 1 for key, etags in pieces.items() if key not in twice)


def test_the_bad_part_is_refused_by_name_and_the_rest_trains(scaled) -> None:
    _, metadata, _, _, _ = scaled
    (refused,) = metadata["data"]["refused_parts"]
    assert refused["name"].endswith("part-9.csv") and "binary" in refused["reason"]


def test_it_trains_the_model_one_function_would_have(scaled, parts, tmp_path) -> None:
    _, metadata, _, _, _ = scaled
    one = train(parts, tmp_path, version="v-one").metadata
    assert metadata["feature_params"] == one["feature_params"]
    for key in ("rows_valid", "rows_rejected", "rejected_by_reason", "contacts", "first_call",
                "last_call"):
        assert metadata["data"][key] == one["data"][key], key
    # The refused part's rows are not read; every other row is counted once.
    assert metadata["data"]["rows_read"] == one["data"]["rows_read"]
    assert metadata["metrics"]["split"] == one["metrics"]["split"]  # the same temporal cut
    assert metadata["data"]["rejected_by_reason"]["duplicate"] >= 1
    rejects = metadata["rejects.csv"]  # streamed from every part's and bucket's rejects
    assert len(rejects) == one["data"]["rows_rejected"]
    assert set(rejects["reject_reason"]) == {k for k, v in one["data"][
        "rejected_by_reason"].items() if v}
    assert abs(metadata["metrics"]["classification"]["roc_auc"]
               - one["metrics"]["classification"]["roc_auc"]) < 0.005
