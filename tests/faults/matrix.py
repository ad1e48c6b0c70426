"""The fault matrix: every fault AWS can produce at every step of the retraining state machine,
injected into the synthesized template's run on the local runtime, and what must hold after it.

A cell is (step, fault). Its run is the cheapest one that reaches the step: the gate keeping the
live model (the same data again), a forced deployment, or a forced deployment of a model that
fails its health check (to reach Rollback). Faults are made the way AWS makes them, by the local
runtime's own enforcement where a limit produces them:

- raised: the step's handler raises (a bug);
- throttled / service error: the Lambda service turns the first invocation away (429, 500);
  Step Functions retries, the run ends as it would have;
- timeout: the handler hangs; the function's timeout (2 s here) kills it (`Sandbox.Timedout`);
- out of memory: the handler grows until its function's MemorySize kills it;
- denied: the function's role gets an explicit Deny of every action (an SCP, a boundary or a
  broken policy): its first AWS call is refused by the local IAM;
- and SageMaker's own: an update it refuses (with a FailureReason, and silently), an endpoint
  that cannot start, a health invocation that times out.

After every cell: the run's end state and its notification (exactly one, of its outcome), the
endpoint InService on a model that passes the health check (this run's only if it deployed,
else the one before), no artifact under models/ overwritten or deleted, the lock free for the
next run, no model server process and no model directory left but the live endpoint's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra.state_machine import ENDINGS
from local_pipeline.pipeline import LOCAL_INPUT, put_data
from local_pipeline.scenarios import with_artifact_fault
from localaws.artifact_faults import garbage_artifact, slow_artifact, unloadable_artifact
from localaws.lambdas import resolve
from localaws.runtime import ExecutionResult, LocalAWS
from pipeline_lambdas.contract import (
    DEFAULT_CALLS_PREFIX,
    HISTORY_FILE,
    HISTORY_PAGE,
    LOCK_KEY,
    MODELS_PREFIX,
    EndState,
    history_key,
)
from pipeline_lambdas.errors import HealthCheckFailed
from pipeline_lambdas.health import health_check
from pipeline_lambdas.run_lock import acquire, release
from pipeline_lambdas.settings import PipelineSettings

HANDLERS = "tests.support.faults"  # raise_error, hang, hoard
FAULT_TIMEOUT_SECONDS = 2  # the function timeout a hanging handler is killed at
INVOCATION_TIMEOUT = 2.0  # the local SageMaker's invocation timeout in the matrix (AWS: 60 s)
DENY_ALL = {"Effect": "Deny", "Action": "*", "Resource": "*"}
OUTCOME_OF = {e.end_state: e.outcome for e in ENDINGS}


class RunPath(StrEnum):
    """The run a cell starts, and where it ends when nothing goes wrong."""

    KEEP = "keep"  # the live model's own data again: the gate keeps it
    DEPLOY = "deploy"  # force_deploy: a new model deploys
    BROKEN = "broken"  # force_deploy of a model that fails its health check: rolled back
    SCALE_OUT = "scale-out"  # the keep run through the Distributed Map
    ITEM_FAILS = "item-fails"  # the scale-out run whose merge items fail: the item is named


NORMAL_END = {RunPath.KEEP: EndState.KEPT_CURRENT_MODEL, RunPath.DEPLOY: EndState.DEPLOYED,
              RunPath.BROKEN: EndState.ROLLED_BACK,
              RunPath.SCALE_OUT: EndState.KEPT_CURRENT_MODEL,
              RunPath.ITEM_FAILS: EndState.PIPELINE_FAILED}


@dataclass(frozen=True)
class Step:
    state: str  # the state machine's task state
    function: str  # its function's key (name suffix)
    path: RunPath
    on_failure: EndState  # where a step that keeps failing ends the run
    error_slot: str = "error"  # where the run records the step's error
    in_map: bool = False  # a Distributed Map's item: the map fails (no failure is tolerated)


STEPS = (
    Step("AcquireLock", "acquire-lock", RunPath.KEEP, EndState.PIPELINE_FAILED),
    Step("PlanTraining", "plan-training", RunPath.KEEP, EndState.PIPELINE_FAILED),
    Step("Train", "train", RunPath.KEEP, EndState.PIPELINE_FAILED),
    Step("Package", "package", RunPath.KEEP, EndState.PIPELINE_FAILED),
    Step("QualityGate", "quality-gate", RunPath.KEEP, EndState.PIPELINE_FAILED),
    Step("CreateModelAndConfig", "create-model", RunPath.DEPLOY, EndState.PIPELINE_FAILED),
    Step("Deploy", "deploy", RunPath.DEPLOY, EndState.ROLLED_BACK),
    Step("CheckEndpoint", "check-endpoint", RunPath.DEPLOY, EndState.ROLLED_BACK),
    Step("HealthCheck", "health-check", RunPath.DEPLOY, EndState.ROLLED_BACK),
    Step("Cleanup", "cleanup", RunPath.DEPLOY, EndState.DEPLOYED, "cleanup_error"),
    Step("Rollback", "rollback", RunPath.BROKEN, EndState.ROLLED_BACK, "rollback_error"),
    Step("CleanupAfterRollback", "cleanup", RunPath.BROKEN, EndState.ROLLED_BACK,
         "cleanup_error"),
    Step("Notify", "notify", RunPath.KEEP, EndState.KEPT_CURRENT_MODEL, "notify_error"),
    Step("ReleaseLock", "release-lock", RunPath.KEEP, EndState.KEPT_CURRENT_MODEL,
         "release_error"),
    Step("Partition", "partition", RunPath.SCALE_OUT, EndState.PIPELINE_FAILED,
         in_map=True),
    Step("MergeBucket", "merge-bucket", RunPath.SCALE_OUT, EndState.PIPELINE_FAILED,
         in_map=True),
    Step("GlobalCut", "global-cut", RunPath.SCALE_OUT, EndState.PIPELINE_FAILED),
    Step("CountBucket", "count-bucket", RunPath.SCALE_OUT, EndState.PIPELINE_FAILED,
         in_map=True),
    Step("TrainOnSample", "train-sample", RunPath.SCALE_OUT, EndState.PIPELINE_FAILED),
    Step("NameFailedItem", "name-failed-item", RunPath.ITEM_FAILS, EndState.PIPELINE_FAILED,
         "name_error"),
)
STEP = {s.state: s for s in STEPS}


@dataclass(frozen=True)
class Fault:
    key: str
    label: str
    error: str  # the error Step Functions sees
    transient: bool = False  # the first invocation only; the retry succeeds


FAULTS = (
    Fault("raised", "handler raises", "InjectedFault"),
    Fault("throttled", "throttled", "Lambda.TooManyRequestsException", transient=True),
    Fault("service", "Lambda service error", "Lambda.ServiceException", transient=True),
    Fault("timeout", "timeout", "Sandbox.Timedout"),
    Fault("memory", "out of memory", "Runtime.OutOfMemory"),
    Fault("denied", "AWS call denied", "AccessDenied"),
)
FAULT = {f.key: f for f in FAULTS}


@dataclass(frozen=True)
class SageMakerFault:
    key: str
    label: str
    artifact: Callable[[bytes], bytes]
    silent_update_failures: bool = False
    without_endpoint: bool = False  # the first deployment (no endpoint before)
    shows_at: str = "CheckEndpoint"


SAGEMAKER_FAULTS = (
    SageMakerFault("update-refused", "SageMaker refuses the update (FailureReason)",
                   unloadable_artifact),
    SageMakerFault("update-refused-silently", "SageMaker refuses the update silently "
                   "(InService on the old config, no FailureReason)", unloadable_artifact,
                   silent_update_failures=True),
    SageMakerFault("cannot-start", "the endpoint cannot start (first deployment: Failed)",
                   unloadable_artifact, without_endpoint=True),
    SageMakerFault("health-timeout", "the health invocation times out (ModelError)",
                   slow_artifact(INVOCATION_TIMEOUT + 3), shows_at="HealthCheck"),
)
SAGEMAKER_FAULT = {f.key: f for f in SAGEMAKER_FAULTS}


@dataclass(frozen=True)
class Cell:
    step: str  # a Step's state, or where a SageMaker fault shows
    fault: str  # a Fault's or SageMakerFault's key

    @property
    def name(self) -> str:
        return f"{self.step}-{self.fault}"

    @property
    def path(self) -> RunPath:
        if self.fault in SAGEMAKER_FAULT:
            return RunPath.DEPLOY
        return STEP[self.step].path

    @property
    def expected_end(self) -> EndState:
        if self.fault in SAGEMAKER_FAULT:
            return EndState.ROLLED_BACK
        if FAULT[self.fault].transient:
            return NORMAL_END[self.path]
        return STEP[self.step].on_failure

    @property
    def notified(self) -> bool:
        """A Notify that keeps failing sends nothing (its error is in the run's output)."""
        return not (self.step == "Notify" and not FAULT[self.fault].transient)


def every_cell() -> list[Cell]:
    return [*(Cell(s.state, f.key) for s in STEPS for f in FAULTS),
            *(Cell(f.shows_at, f.key) for f in SAGEMAKER_FAULTS)]


@dataclass
class CellResult:
    cell: Cell
    end: str
    seconds: float
    problems: list[str] = field(default_factory=list)

    @property
    def green(self) -> bool:
        return not self.problems


# --- the account ---------------------------------------------------------------------------------

class FaultAccount:
    """One local account with the synthesized stack deployed, on which cells run in turn."""

    def __init__(self, aws: LocalAWS, stack: Any, arn: str, calls: Path) -> None:
        self.aws, self.stack, self.arn, self.calls = aws, stack, arn, calls
        self.bucket = stack.environment["MODELS_BUCKET"]
        self.endpoint = PipelineSettings.from_env(stack.environment).endpoint_name
        self.functions = {key: next(n for n in aws.lambdas.handlers if n.endswith(f"-{key}"))
                          for key in {s.function for s in STEPS}}
        put_data(self.bucket, f"{DEFAULT_CALLS_PREFIX}{calls.name}", calls,
                 replace_prefix=DEFAULT_CALLS_PREFIX)

    def execute(self, path: RunPath, artifact: Callable[[bytes], bytes] | None = None,
                name: str = "run") -> ExecutionResult:
        run_input: dict[str, Any] = dict(LOCAL_INPUT)
        if path in (RunPath.DEPLOY, RunPath.BROKEN):
            run_input["force_deploy"] = True
        if path is RunPath.BROKEN:
            artifact = garbage_artifact
        package = self.functions["package"]
        real = self.aws.lambdas.handlers[package]
        if artifact is not None:
            self.aws.register_lambda(package, with_artifact_fault(resolve(real), artifact))
        try:
            with self._scale_out(path in (RunPath.SCALE_OUT, RunPath.ITEM_FAILS)), \
                    self._items_fail(path is RunPath.ITEM_FAILS):
                return self.aws.run_execution(self.arn, run_input, timeout=600,
                                              name=f"{name}-{time.time_ns()}"[:80])
        finally:
            self.aws.register_lambda(package, real)

    @contextlib.contextmanager
    def _items_fail(self, on: bool) -> Iterator[None]:
        """Every merge item raises, so the run reaches NameFailedItem."""
        if not on:
            yield
            return
        with self._function(self.functions["merge-bucket"], f"{HANDLERS}:raise_error"):
            yield

    @contextlib.contextmanager
    def _scale_out(self, on: bool) -> Iterator[None]:
        """The planner's threshold set below this log's rows, 4 contact buckets: the same data
        through the Distributed Map (as `-c scale_out_rows=... -c scale_out_buckets=4`)."""
        if not on:
            yield
            return
        plan = self.functions["plan-training"]
        config = self.aws.lambdas.configs[plan]
        environment = {**config.environment, "SCALE_OUT_ROWS": "1000", "SCALE_OUT_BUCKETS": "4"}
        with self._function(plan, environment=environment):
            yield

    @contextlib.contextmanager
    def _function(self, name: str, handler: str | None = None, **config: Any) -> Iterator[None]:
        real, before = self.aws.lambdas.handlers[name], self.aws.lambdas.configs[name]
        self.aws.register_lambda(name, handler or real, dataclasses.replace(before, **config))
        try:
            yield
        finally:
            self.aws.register_lambda(name, real, before)

    @contextlib.contextmanager
    def fault(self, step: Step, fault: Fault) -> Iterator[None]:
        name = self.functions[step.function]
        if fault.key == "raised":
            with self._function(name, f"{HANDLERS}:raise_error"):
                yield
        elif fault.key == "timeout":
            with self._function(name, f"{HANDLERS}:hang", timeout_seconds=FAULT_TIMEOUT_SECONDS):
                yield
        elif fault.key == "memory":
            with self._function(name, f"{HANDLERS}:hoard"):
                yield
        elif fault.key in ("throttled", "service"):
            self.aws.lambdas.refuse(name, fault.error.removeprefix("Lambda."))
            yield
        elif fault.key == "denied":
            role = self.aws.lambdas.configs[name].role_arn.rsplit("/", 1)[-1]
            statements = self.aws.policies.roles[role]
            statements.append(DENY_ALL)
            try:
                yield
            finally:
                statements.remove(DENY_ALL)
        else:
            raise ValueError(fault.key)

    # --- what the checks read ----------------------------------------------------------------

    def described(self) -> dict[str, Any] | None:
        try:
            return boto3.client("sagemaker").describe_endpoint(EndpointName=self.endpoint)
        except ClientError:
            return None

    def ensure_live(self) -> None:
        """An endpoint InService (deployed by a clean run when there is none)."""
        current = self.described()
        if current is not None and current["EndpointStatus"] == "InService":
            return
        if current is not None:
            boto3.client("sagemaker").delete_endpoint(EndpointName=self.endpoint)
        result = self.execute(RunPath.KEEP, name="setup")
        if result.final_state != EndState.DEPLOYED:
            raise RuntimeError(f"setting up a live endpoint ended {result.final_state}: "
                               f"{result.error} {result.cause}")

    def artifacts(self) -> dict[str, str]:
        """Every published version's objects (never overwritten); not the stack's run history
        beside them, which every run's Notify rewrites."""
        s3 = boto3.client("s3")
        history = {history_key(HISTORY_FILE), history_key(HISTORY_PAGE)}
        return {o["Key"]: o["ETag"] for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{MODELS_PREFIX}/") for o in page.get("Contents", [])
            if o["Key"] not in history}

    def notifications(self, execution_arn: str) -> list[str]:
        name = execution_arn.rsplit(":", 1)[-1]
        listed = boto3.client("s3").list_objects_v2(Bucket=self.bucket,
                                                    Prefix=f"notifications/{name}/")
        return [o["Key"].rsplit("/", 1)[-1] for o in listed.get("Contents", [])]

    def lock_is_free(self) -> str | None:
        """None when the next run would take the lock at once; else why not."""
        s3, sfn = boto3.client("s3"), boto3.client("stepfunctions")
        try:
            lock = acquire(s3, self.bucket, LOCK_KEY, "fault-matrix-probe", sfn=sfn)
        except Exception as err:  # DeploymentInProgress, or any failure to take it
            return f"{type(err).__name__}: {err}"
        release(s3, self.bucket, LOCK_KEY, lock.owner, lock.etag)
        return None

    def leftovers(self) -> list[str]:
        """Model servers running, and model directories on disk, that no endpoint serves."""
        sagemaker = self.aws.sagemaker
        live = [e.server for e in sagemaker.endpoints.values() if e.server is not None]
        live_pids = {s.process.pid for s in live if s.running}
        problems = [f"model server pid {pid} serves no endpoint"
                    for pid in sorted(model_server_pids()) if _group(pid) not in live_pids]
        live_dirs = {s.model_dir.resolve() for s in live}
        work = sagemaker.servers.work_dir
        problems += [f"model directory {d.name} left behind" for d in sorted(work.iterdir())
                     if d.is_dir() and d.resolve() not in live_dirs]
        return problems


def model_server_pids() -> set[int]:
    """The model servers this process started (they carry `--parent-pid <this pid>`)."""
    mine = ["--parent-pid", str(os.getpid())]
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "localaws.model_server" in argv and any(argv[i:i + 2] == mine
                                                   for i in range(len(argv) - 1)):
            found.add(int(entry.name))
    return found


def _group(pid: int) -> int | None:
    """A model server's process group: its own session's leader, the process the local
    SageMaker started (its gunicorn workers share it)."""
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def scratch_entries() -> set[str]:
    """This process's temporary directories (scratch.py's, by their owner file): another test
    process's, running beside it under pytest-xdist, are not this cell's leftovers."""
    mine = str(os.getpid())
    found = set()
    for path in Path(tempfile.gettempdir()).glob("calltime-*"):
        try:
            owner = (path / "owner.pid").read_text().strip()
        except OSError:
            owner = mine  # not scratch.py's: counted, as before
        if owner == mine:
            found.add(path.name)
    return found


# --- one cell --------------------------------------------------------------------------------

def run_cell(account: FaultAccount, cell: Cell) -> CellResult:
    sagemaker_fault = SAGEMAKER_FAULT.get(cell.fault)
    account.ensure_live()
    if sagemaker_fault is not None and sagemaker_fault.without_endpoint:
        boto3.client("sagemaker").delete_endpoint(EndpointName=account.endpoint)
    before = account.described()
    artifacts, scratch = account.artifacts(), scratch_entries()
    invoked = len(account.aws.lambdas.invocations)
    started = time.monotonic()
    if sagemaker_fault is not None:
        account.aws.sagemaker.silent_update_failures = sagemaker_fault.silent_update_failures
        try:
            result = account.execute(cell.path, sagemaker_fault.artifact, cell.name)
        finally:
            account.aws.sagemaker.silent_update_failures = False
    else:
        with account.fault(STEP[cell.step], FAULT[cell.fault]):
            result = account.execute(cell.path, name=cell.name)
    outcome = CellResult(cell, result.final_state, round(time.monotonic() - started, 1))
    outcome.problems = check(account, cell, result, before, artifacts, scratch,
                             account.aws.lambdas.invocations[invoked:])
    return outcome


def check(account: FaultAccount, cell: Cell, result: ExecutionResult,
          before: dict[str, Any] | None, artifacts: dict[str, str],
          scratch: set[str], invocations: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    if result.final_state != cell.expected_end:
        problems.append(f"ended {result.final_state} ({result.error}: {result.cause}), "
                        f"expected {cell.expected_end}")
    problems += _check_fault_seen(cell, result, invocations)
    expected_marker = f"{OUTCOME_OF[cell.expected_end]}.json"
    sent = account.notifications(result.arn)
    if sent != ([expected_marker] if cell.notified else []):
        problems.append(f"notifications {sent}, expected "
                        f"{[expected_marker] if cell.notified else 'none'}")
    problems += _check_endpoint(account, cell, result, before)
    after = account.artifacts()
    changed = [k for k, etag in artifacts.items() if after.get(k) != etag]
    if changed:
        problems.append(f"artifacts overwritten or deleted: {changed}")
    if (lock := account.lock_is_free()) is not None:
        problems.append(f"lock not free: {lock}")
    problems += account.leftovers()
    if new := scratch_entries() - scratch:
        problems.append(f"temporary directories left: {sorted(new)}")
    return problems


def _check_fault_seen(cell: Cell, result: ExecutionResult,
                      invocations: list[dict[str, Any]]) -> list[str]:
    """The fault happened where the cell says (the function's invocations of this run failed
    with it), and the run recorded it where it should."""
    if cell.fault in SAGEMAKER_FAULT:
        error = result.state_value("error")
        return [] if error.get("Error") else ["no error recorded for the SageMaker fault"]
    fault, step = FAULT[cell.fault], STEP[cell.step]
    seen = {i["error_type"] for i in invocations if i["function"].endswith(f"-{step.function}")}
    if fault.key != "denied" and fault.error.removeprefix("Lambda.") not in seen:
        return [f"no invocation of {step.function} failed with {fault.error} ({seen})"]
    if fault.transient:
        return []
    recorded = result.state_value(step.error_slot)
    if step.in_map:  # the map names only the threshold; NameFailedItem names the item
        item = "part " if step.function == "partition" else "bucket "
        cause = recorded.get("Cause", "")
        said = "not authorized" in cause if fault.key == "denied" else \
            recorded.get("Error") == fault.error
        return [] if said and item in cause else [
            f"${step.error_slot} is {recorded}, expected the failed {item.strip()} named "
            f"with its error"]
    if fault.key == "denied":  # the service's own name for it: AccessDenied, AuthorizationError
        if "not authorized" not in recorded.get("Cause", ""):
            return [f"${step.error_slot} names no denied call: {recorded}"]
        return []
    if recorded.get("Error") != fault.error:
        return [f"${step.error_slot} is {recorded}, expected {fault.error}"]
    return []


def _check_endpoint(account: FaultAccount, cell: Cell, result: ExecutionResult,
                    before: dict[str, Any] | None) -> list[str]:
    now = account.described()
    if before is None:
        return [] if now is None else [f"an endpoint was left ({now['EndpointStatus']}) where "
                                       "there was none"]
    if now is None:
        return ["the endpoint is gone"]
    problems = []
    if now["EndpointStatus"] != "InService":
        problems.append(f"endpoint {now['EndpointStatus']}")
    deployed = result.final_state == EndState.DEPLOYED and cell.path is RunPath.DEPLOY
    if deployed:
        if now["EndpointConfigName"] != result.state_value("model").get("endpoint_config_name"):
            problems.append(f"endpoint on {now['EndpointConfigName']}, not the run's config")
    elif now["EndpointConfigName"] != before["EndpointConfigName"]:
        problems.append(f"endpoint moved from {before['EndpointConfigName']} to "
                        f"{now['EndpointConfigName']}")
    try:
        health_check(boto3.client("sagemaker-runtime"), account.endpoint, max_latency_ms=5000)
    except HealthCheckFailed as err:
        problems.append(f"the live model fails its health check: {err}")
    return problems


# --- the table -------------------------------------------------------------------------------

def _mark(cell: Cell, results: dict[str, CellResult] | None) -> str:
    if results is None:
        return ""
    result = results.get(cell.name)
    return " ✅" if result is not None and result.green else " ❌" if result else " ·"


def table(results: dict[str, CellResult] | None = None) -> str:
    """docs/local-runtime.md's table: step x fault -> the run's end (and, given results, whether
    the cell held: ✅ every check passed, ❌ one failed, · not run)."""
    lines = ["| step | " + " | ".join(f.label for f in FAULTS) + " |",
             "|---|" + "---|" * len(FAULTS)]
    for step in STEPS:
        cells = []
        for fault in FAULTS:
            cell = Cell(step.state, fault.key)
            text = f"retried → {cell.expected_end}" if fault.transient else cell.expected_end
            if not cell.notified:
                text += ", not notified"
            cells.append(f"{text}{_mark(cell, results)}")
        lines.append(f"| {step.state} | " + " | ".join(cells) + " |")
    lines += ["", "| SageMaker fault | shows at | run ends |", "|---|---|---|"]
    for fault in SAGEMAKER_FAULTS:
        cell = Cell(fault.shows_at, fault.key)
        lines.append(f"| {fault.label} | {fault.shows_at} | {cell.expected_end}"
                     f"{_mark(cell, results)} |")
    return "\n".join(lines)


def json_results(results: dict[str, CellResult]) -> str:
    return json.dumps({name: {"end": r.end, "seconds": r.seconds, "problems": r.problems}
                       for name, r in results.items()}, indent=2)
