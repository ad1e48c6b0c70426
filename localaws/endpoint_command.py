"""`calltime local endpoint`: a local SageMaker endpoint behind the SageMaker Runtime HTTP API,
for trying a caller (any AWS SDK, the AWS CLI) against a model before deploying it.

    calltime local endpoint --model out/model/model.tar.gz [--port 8090]
    calltime local endpoint --local-state out/local-aws        # what `make pipeline` deployed

Prints one JSON line when it answers ({"url", "endpoint", "region", ...}); point the SDK at
`url` (`endpoint` in the JavaScript SDK's client config, `endpoint_url` in boto3, `--endpoint-url`
in the AWS CLI), with any credentials. Serves until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import threading
import time
from pathlib import Path

LOCAL_BUCKET = "calltime-local-endpoint"
LOCAL_ROLE = "arn:aws:iam::123456789012:role/calltime-local-sagemaker"
LOCAL_IMAGE = "local/sagemaker-scikit-learn:1.9-0-cpu-py3"


class EndpointNotServing(Exception):
    """The model did not deploy: the endpoint Failed (its reason says why) or took too long."""


def serverless(field: str, allowed: tuple[int, ...]) -> object:
    """An argparse type: one of a serverless setting's allowed values, refused by name."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value not in allowed:
            shown = (f"{allowed[0]}..{allowed[-1]}" if len(allowed) > 10
                     else ", ".join(map(str, allowed)))
            raise argparse.ArgumentTypeError(f"{text!r}: serverless {field} is one of {shown}")
        return value

    return parse


def deploy_artifact(artifact: Path, endpoint: str, max_concurrency: int, memory_mb: int,
                    timeout: float = 120.0) -> str:
    """Upload a model.tar.gz to the local account and create an endpoint from it as the
    pipeline's CreateModelAndConfig step does; returns once it is InService."""
    import boto3

    from pipeline_lambdas.endpoint_config import create_model_and_config
    from pipeline_lambdas.settings import PipelineSettings

    s3, sagemaker = boto3.client("s3"), boto3.client("sagemaker")
    region = s3.meta.region_name
    s3.create_bucket(Bucket=LOCAL_BUCKET, **({} if region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": region}}))
    key = f"models/{endpoint}/model.tar.gz"
    s3.upload_file(str(artifact), LOCAL_BUCKET, key)
    settings = PipelineSettings(project_name="calltime", environment="local",
                                models_bucket=LOCAL_BUCKET, container_image=LOCAL_IMAGE,
                                execution_role_arn=LOCAL_ROLE)
    made = create_model_and_config(sagemaker, settings, endpoint, f"s3://{LOCAL_BUCKET}/{key}",
                                   memory_mb, max_concurrency)
    sagemaker.create_endpoint(EndpointName=endpoint,
                              EndpointConfigName=made.endpoint_config_name)
    deadline = time.monotonic() + timeout
    while True:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
        if described["EndpointStatus"] == "InService":
            return endpoint
        if described["EndpointStatus"] == "Failed" or time.monotonic() > deadline:
            raise EndpointNotServing(f"local endpoint {endpoint}: {described['EndpointStatus']}: "
                               f"{described.get('FailureReason', 'no answer in time')}")
        time.sleep(0.05)


def _serve_endpoint(args: argparse.Namespace) -> int:
    import logging

    from localaws.runtime import LocalAWS, saved_region
    from localaws.sagemaker.runtime_http import RuntimeAPI

    logging.getLogger("moto").setLevel(logging.CRITICAL)
    region = args.region
    if args.local_state:
        region = saved_region(Path(args.local_state))
    if args.model and not tarfile.is_tarfile(args.model):
        print(f"calltime local endpoint: error: --model {args.model}: not a model.tar.gz "
              "(`calltime train` writes one)", file=sys.stderr)
        return 2
    with LocalAWS(region=region, cold_start_delay=args.cold_start_delay) as aws:
        aws.sagemaker.idle_seconds = args.idle_seconds
        aws.sagemaker.not_ready_while_cold = args.not_ready_while_cold
        aws.sagemaker.latency = args.latency
        if args.local_state:
            aws.load_state(Path(args.local_state))
            endpoints = sorted(aws.sagemaker.endpoints)
        else:
            try:
                endpoints = [deploy_artifact(Path(args.model), args.endpoint_name,
                                             args.max_concurrency, args.memory_mb)]
            except EndpointNotServing as err:
                print(f"calltime local endpoint: error: --model {args.model}: {err}",
                      file=sys.stderr)
                return 2
        with RuntimeAPI(aws.sagemaker, args.host, args.port) as api:
            print(json.dumps({"url": api.url, "endpoints": endpoints, "region": region,
                              "max_concurrency": None if args.local_state
                              else args.max_concurrency,
                              "cold_start_seconds": args.cold_start_delay}), flush=True)
            threading.Event().wait()  # until Ctrl-C or SIGTERM unwinds (calltime/cli.py)
    return 0  # pragma: no cover


def add_endpoint(parser: argparse.ArgumentParser) -> None:
    from localaws.commands import port_number
    from localaws.sagemaker.api import COLD_START_DELAY
    from pipeline_lambdas.contract import SERVERLESS_MAX_CONCURRENCY, SERVERLESS_MEMORY_SIZES

    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="a model.tar.gz to deploy on a new local endpoint")
    source.add_argument("--local-state", help="serve the endpoints of a local account "
                        "`make pipeline` saved (e.g. out/local-aws)")
    parser.add_argument("--endpoint-name", default="calltime-local",
                        help="with --model (default: calltime-local)")
    parser.add_argument("--region", default="il-central-1", help="with --model")
    parser.add_argument("--max-concurrency", default=200, type=serverless(
        "MaxConcurrency", tuple(range(1, SERVERLESS_MAX_CONCURRENCY + 1))),
                        help="the endpoint config's MaxConcurrency (requests beyond it are "
                        "throttled)")
    parser.add_argument("--memory-mb", default=1024,
                        type=serverless("MemorySizeInMB", tuple(SERVERLESS_MEMORY_SIZES)))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=port_number, default=8090, help="0: any free port")
    parser.add_argument("--cold-start-delay", type=float, default=COLD_START_DELAY,
                        help="seconds a cold start spends before the model loads")
    parser.add_argument("--idle-seconds", type=float,
                        help="scale to zero after this long without requests (default: never "
                        "after the first)")
    parser.add_argument("--not-ready-while-cold", action="store_true",
                        help="requests arriving during a cold start get ModelNotReadyException "
                        "instead of waiting for it")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds added to every invocation, held while in flight")
    parser.set_defaults(func=_serve_endpoint)
