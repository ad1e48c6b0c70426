"""`make pipeline`: synthesize the CDK app, stand its template up locally, run its state machine.

    calltime local pipeline [--data calls.csv] [--scenario deploy|broken-model|...] [--out out]

The state machine is the one in the synthesized template, unchanged; its Lambda ARNs run the
handlers the template names. The local account (S3, SSM, SageMaker, alarms, schedule) is saved
under `<out>/local-aws/` after each run and restored before the next, so a second run updates the
endpoint the first one created, and `calltime invoke --endpoint ...` reaches it afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3

from local_pipeline.scenarios import SCENARIOS, with_artifact_fault
from local_pipeline.templates import synthesized
from localaws import account_files
from localaws.account_lock import AccountInUse, exclusive
from localaws.lambdas import resolve
from localaws.progress import Progress, cause, short
from localaws.runtime import RUNNING_DIR, ExecutionResult, LocalAWS
from localaws.template import SynthesizedStack
from pipeline_lambdas.contract import (
    DATA_PREFIX,
    DEFAULT_CALLS_PREFIX,
    HISTORY_PAGE,
    RUN_REFUSED_ERROR,
    EndState,
    history_key,
)
from pipeline_lambdas.errors import SettingsError
from pipeline_lambdas.settings import PipelineSettings
from training.outputs import METRICS_FILE, REPORT_FILE

STACK_ENV = "local"
# Local timing: the same definition, with waits from the input instead of production's 30 s.
LOCAL_INPUT = {"poll_seconds": 1, "rollback_poll_seconds": 0.5, "max_checks": 120}
# In Lambda, EMF metrics and JSON logs go to CloudWatch; here they would bury the progress view.
LOCAL_ENVIRONMENT = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}


def synthesize(out: Path, env: str = STACK_ENV, context: dict[str, str] | None = None
               ) -> tuple[dict[str, Any], str, str]:
    """(template, stack name, region) of the CDK app for `env` and any more context (as
    `cdk synth -c key=value` takes it), written to out/cdk.out (kept once synthesized:
    local_pipeline/templates.py)."""
    return synthesized(out, env, context)


# Larger demos are written as Parquet parts of about this many contacts' calls, as a campaign
# system exports them (and as the scale-out path reads them).
CONTACTS_PER_PART = 2500


def demo_data(out: Path, contacts: int, seed: int) -> Path:
    """The generated demo log for these parameters (made once, reused by later runs): one CSV
    file, or above 20,000 contacts a folder of Parquet parts."""
    directory = out / "data" / f"demo-{contacts}-contacts-seed-{seed}"
    parts = contacts // CONTACTS_PER_PART if contacts > 8 * CONTACTS_PER_PART else 1
    calls = directory / ("calls.csv" if parts == 1 else "calls")
    if not calls.exists():
        from training.simulate import SimulationConfig, write

        print(f"generating demo call log: {contacts} contacts, seed {seed}"
              + (f", {parts} Parquet parts" if parts > 1 else "") + f" -> {directory}")
        calls, _ = write(SimulationConfig(n_contacts=contacts, seed=seed), directory, parts,
                         "csv" if parts == 1 else "parquet")
    return calls


def put_data(bucket: str, key: str, path: Path, replace_prefix: str | None = None) -> str:
    """Upload a log file to key, or a folder of parts under key/."""
    s3 = boto3.client("s3")
    if replace_prefix:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                  Prefix=replace_prefix):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=obj["Key"])
    if path.is_dir():
        for part in sorted(path.iterdir()):
            s3.upload_file(str(part), bucket, f"{key}/{part.name}")
        return f"s3://{bucket}/{key}/"
    s3.upload_file(str(path), bucket, key)
    return f"s3://{bucket}/{key}"


def endpoint_status(endpoint: str) -> dict[str, Any] | None:
    sagemaker = boto3.client("sagemaker")
    try:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
    except sagemaker.exceptions.ClientError:
        return None
    return {"status": described["EndpointStatus"], "config": described["EndpointConfigName"]}


def run(args: argparse.Namespace) -> int:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    # Metrics are off locally (LOCAL_ENVIRONMENT); Powertools still warns that none were sent.
    warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
    out = Path(args.out)
    state_dir = out / "local-aws"
    try:
        with exclusive(state_dir):
            # A damaged file is named now, not found when the run saves after training.
            account_files.check(state_dir)
            return _run_on_account(args, out, state_dir)
    except (AccountInUse, account_files.DamagedAccount) as err:
        print(f"calltime local pipeline: {err}", file=sys.stderr)
        return 2


SETTINGS_FILE = "settings.json"  # <state>/: the env and -c settings the account was made with


@contextmanager
def local_stack(out: Path, state_dir: Path, env: str, context: dict[str, str]
                ) -> Iterator[tuple[LocalAWS, SynthesizedStack, str, bool]]:
    """The CDK app synthesized (into out/) and stood up on the local account saved in
    state_dir (restored first): (runtime, stack, state machine ARN, whether an account was
    restored)."""
    print(f"synthesizing the CDK app (env={env}) -> {out / 'cdk.out'}")
    template, stack_name, region = synthesize(out, env, context)
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / SETTINGS_FILE).write_text(json.dumps({"env": env, "context": context}))
    with LocalAWS(region=region, lambda_log_dir=out / "logs") as aws:
        restored = aws.load_state(state_dir)
        stack, arn = aws.deploy_stack(template, stack_name, LOCAL_ENVIRONMENT)
        print(f"local stack {stack_name} in {region}: {len(stack.functions)} functions, state "
              f"machine {stack.state_machine_name}; skipped (no local behaviour): "
              + ", ".join(f"{n} {k.split('::')[-1]}" for k, n in sorted(stack.skipped.items())))
        yield aws, stack, arn, restored


def _run_on_account(args: argparse.Namespace, out: Path, state_dir: Path) -> int:
    try:
        with local_stack(out, state_dir, args.env, dict(args.context)) as (aws, stack, arn,
                                                                           restored):
            settings = PipelineSettings.from_env(stack.environment)
            bucket, endpoint = settings.models_bucket, settings.endpoint_name
            before = endpoint_status(endpoint)
            print(f"endpoint {endpoint}: " + (f"{before['status']} on {before['config']}"
                                              if before else "does not exist yet")
                  + (" (restored from the previous run)" if restored and before else ""))
            calls = Path(args.data) if args.data else demo_data(out, args.contacts, args.seed)
            expected = SCENARIOS[args.scenario].expected_ends
            if SCENARIOS[args.scenario].needs_live_model and before is None:
                print(f"scenario {args.scenario} needs a live model: deploying one first")
                result = execute(aws, arn, stack.definition, bucket, calls, out, "deploy",
                                 args.timeout)
                if result.status != "SUCCEEDED":
                    return _finish(aws, state_dir, result, endpoint, out, expected, bucket)
            result = execute(aws, arn, stack.definition, bucket, calls, out, args.scenario,
                             args.timeout)
            return _finish(aws, state_dir, result, endpoint, out, expected, bucket)
    except SettingsError as err:
        print(f"calltime settings: {err}", file=sys.stderr)
        return 2


def deploy_published(state_dir: Path, version: str, timeout: float = 1800.0) -> int:
    """`calltime deploy --version v --local-state <state_dir>`: a run of the state machine
    with {"deploy_version": v} on that local account (no training, no gate; the lock, deploy,
    health check, rollback and notification as in every run), with the settings the account
    was made with."""
    out = state_dir.parent
    saved = state_dir / SETTINGS_FILE
    made = json.loads(saved.read_text()) if saved.is_file() else {"env": STACK_ENV,
                                                                   "context": {}}
    try:
        with exclusive(state_dir), local_stack(out, state_dir, made["env"], made["context"]) \
                as (aws, stack, arn, _):
            settings = PipelineSettings.from_env(stack.environment)
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
            execution_input = {**LOCAL_INPUT, "deploy_version": version}
            print(f"\n=== run: deploy {version}  input {json.dumps(execution_input)}")
            result = aws.run_execution(arn, execution_input,
                                       name=f"local-deploy-version-{stamp}",
                                       on_event=Progress(stack.definition), timeout=timeout,
                                       live_dir=state_dir / RUNNING_DIR)
            return _finish(aws, state_dir, result, settings.endpoint_name, out,
                           (EndState.DEPLOYED,), settings.models_bucket)
    except AccountInUse as err:
        print(f"calltime deploy: {err}", file=sys.stderr)
        return 2
    except SettingsError as err:
        print(f"calltime settings: {err}", file=sys.stderr)
        return 2


def execute(aws: LocalAWS, arn: str, definition: str, bucket: str, calls: Path, out: Path,
            scenario: str, timeout: float = 1800.0, run_input: dict[str, Any] | None = None,
            on_event: Callable[[dict[str, Any]], None] | None = None) -> ExecutionResult:
    """Prepare the scenario's data (and artifact fault), run its execution(s), print progress
    (and pass each event to `on_event`). `run_input` adds run-input fields (memory_size_mb,
    ...). With several runs, the result is the run that took the lock."""
    plan = SCENARIOS[scenario]
    execution_input: dict[str, Any] = {**LOCAL_INPUT, **(run_input or {})}
    if plan.force_deploy:
        execution_input["force_deploy"] = True
    if plan.make_log is not None and calls.is_dir():
        raise SystemExit(f"scenario {scenario} changes a one-file log; a demo of more than "
                         f"{8 * CONTACTS_PER_PART:,} contacts is written in parts")
    if plan.make_log is not None:
        path = plan.make_log(calls, out / "scenarios" / f"{scenario}.csv")
        execution_input["data_uri"] = put_data(bucket, f"{DATA_PREFIX}scenarios/{path.name}",
                                               path)
    else:
        put_data(bucket, f"{DEFAULT_CALLS_PREFIX}{calls.name}", calls,
                 replace_prefix=DEFAULT_CALLS_PREFIX)
    package = next(f for f in aws.lambdas.handlers if f.endswith("-package"))
    real = aws.lambdas.handlers[package]
    if plan.artifact_fault is not None:
        aws.register_lambda(package, with_artifact_fault(resolve(real), plan.artifact_fault))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    print(f"\n=== run: {scenario}  input {json.dumps(execution_input)}")
    try:
        if plan.runs > 1:
            return _concurrent(aws, arn, definition, execution_input, stamp, plan.runs)
        progress = Progress(definition)

        def shown(event: dict[str, Any]) -> None:
            progress(event)
            if on_event is not None:
                on_event(event)

        return aws.run_execution(arn, execution_input, name=f"local-{scenario}-{stamp}",
                                 on_event=shown, timeout=timeout,
                                 live_dir=out / "local-aws" / RUNNING_DIR)
    finally:
        aws.register_lambda(package, real)


def _concurrent(aws: LocalAWS, arn: str, definition: str, execution_input: dict[str, Any],
                stamp: str, runs: int) -> ExecutionResult:
    results: dict[str, ExecutionResult] = {}
    labels = ("first", "second", *(f"run{i}" for i in range(3, runs + 1)))[:runs]

    def start(label: str) -> None:
        results[label] = aws.run_execution(arn, execution_input, name=f"local-{label}-{stamp}",
                                           on_event=Progress(definition, f"[{label}] "))

    threads = [threading.Thread(target=start, args=(label,)) for label in labels]
    for thread in threads:
        thread.start()
        time.sleep(0.2)
    for thread in threads:
        thread.join()
    for label, result in results.items():
        print(f"[{label}] {result.status} {result.error or ''}")
    refused = [r for r in results.values() if r.error == RUN_REFUSED_ERROR]
    return next((r for r in results.values() if r not in refused), results["first"])


def _finish(aws: LocalAWS, state_dir: Path, result: ExecutionResult, endpoint: str, out: Path,
            expected_ends: tuple[str, ...], bucket: str) -> int:
    last = result.final_state
    train = result.state_value("train")
    print("\n--- summary")
    print(f"outcome:        {result.status} at {last}"
          + (f" ({result.error}: {short(result.cause or '', 200)})" if result.error else ""))
    plan = result.state_value("plan")
    if plan.get("path"):
        print(f"training path:  {plan['path']} ({plan.get('files')} file(s), about "
              f"{plan.get('rows_estimate', 0):,} rows; scale-out above "
              f"{plan.get('threshold_rows', 0):,}"
              + (f"; {plan.get('bucket_count')} contact buckets" if plan.get("bucket_count")
                 else "") + ")")
    if train.get("requested"):
        print(f"model version:  {train['model_version']} (deploy_version: published before, "
              "not trained by this run)")
    elif train.get("model_version"):
        print(f"model version:  {train['model_version']}")
        print(f"training:       {train.get('rows_valid')} valid rows, "
              f"{train.get('rows_rejected')} rejected {train.get('rejected_by_reason') or ''}; "
              f"holdout ROC AUC {train.get('roc_auc', float('nan')):.4f}"
              + (f" (live model {train['live_model_version']})"
                 if train.get("live_model_version") else ""))
        report = _download(train.get("staging_uri", "") + REPORT_FILE,
                           out / "runs" / train["model_version"] / REPORT_FILE)
        metrics = _download(train.get("staging_uri", "") + METRICS_FILE,
                            out / "runs" / train["model_version"] / METRICS_FILE)
        if report:
            print(f"report:         {report}")
        if metrics:
            print(f"metrics:        {metrics}")
    history = _download(f"s3://{bucket}/{history_key(HISTORY_PAGE)}", out / "runs" / HISTORY_PAGE)
    if history:
        print(f"history:        {history} (every run of this account)")
    error = result.state_value("error")
    if error.get("Error"):
        message = cause({"cause": error.get("Cause")})
        print(f"error:          {error['Error']}: {short(message, 300)}")
    gate = result.state_value("gate")
    if gate.get("decision"):
        print(f"quality gate:   {gate['decision']}: {gate.get('reason', '')}")
    live = endpoint_status(endpoint)
    print(f"endpoint:       {endpoint} "
          + (f"{live['status']} on {live['config']}" if live else "(does not exist)"))
    aws.save_state(state_dir)
    request = out / "request.json"
    from pipeline_lambdas.health import CANARY_SLOTS

    request.write_text(json.dumps(CANARY_SLOTS, indent=2))
    if live and live["status"] == "InService":
        print("try it:         .venv/bin/calltime invoke --endpoint "
              f"{endpoint} --local-state {state_dir} --file {request}")
    print(f"peak memory:    {peak_memory(aws.lambdas.invocations)}")
    print(f"function logs:  {out / 'logs'}/<function>.log")
    print(f"local account:  {state_dir} (S3, SSM, SageMaker, alarms, schedule; `make clean` "
          "forgets it)")
    print(f"status:         .venv/bin/calltime status --local-state {state_dir}")
    # Exit 0 when the run ended as the scenario means to show (a rollback is a success here).
    return 0 if last in expected_ends else 1


def peak_memory(invocations: list[dict[str, Any]]) -> str:
    """Each function's highest 'Max Memory Used' of the run, against its MemorySize."""
    measured = [i for i in invocations if i.get("max_memory_mb") is not None]
    names = {i["function"] for i in measured}
    # names, not paths: the character-wise common prefix is what is meant
    shared = os.path.commonprefix(sorted(names)).rpartition("-")[0]  # noqa: RUF071
    peaks: dict[str, tuple[int, int]] = {}
    for invocation in measured:
        step = invocation["function"].removeprefix(f"{shared}-" if shared else "")
        used = max(peaks.get(step, (0, 0))[0], invocation["max_memory_mb"])
        peaks[step] = (used, invocation["memory_mb"])
    return ", ".join(f"{step} {used}/{size} MB" for step, (used, size) in peaks.items()) or "-"


def _download(uri: str, target: Path) -> Path | None:
    if not uri.startswith("s3://"):
        return None
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception:  # the run may have failed before writing it
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)
    return target


def context_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r}: expected KEY=VALUE")
    return key, value


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text!r}: no such file")
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from training.commands import positive

    parser.add_argument("--out", default="out")
    parser.add_argument("--data", type=existing_file,
                        help="call log (CSV or Parquet); default: generated demo data")
    parser.add_argument("--scenario", default="deploy", choices=list(SCENARIOS),
                        help="; ".join(f"{s.name}: {s.description}" for s in SCENARIOS.values()))
    parser.add_argument("--env", default=STACK_ENV, help="settings file infra/environments/<env>")
    parser.add_argument("-c", "--context", type=context_pair, action="append", default=[],
                        metavar="KEY=VALUE", help="a setting over the env's file, as `cdk synth "
                        "-c` takes it (e.g. -c training_memory_mb=2048); repeatable")
    parser.add_argument("--contacts", type=positive(int), default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=positive(float), default=1800.0)
    parser.set_defaults(func=run)
