"""The local AWS runtime: one process where ordinary boto3 clients reach a working AWS.

- moto for S3, STS, IAM, CloudWatch, SNS and Step Functions with execution (moto's ASL
  interpreter runs the state machine definition);
- `lambda.Invoke` (from code or from a Task state) runs registered in-process handlers;
- SageMaker and SageMaker Runtime go to `localaws.sagemaker.api.LocalSageMaker`.

Routing uses botocore's public event system on boto3's default session: a
`before-parameter-build` handler keeps the validated API parameters, a `before-call` handler
answers the call (botocore has already validated the request against the service model). Code
under test creates plain `boto3.client(...)` clients and never asks whether it is local.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.response import StreamingBody

from localaws import account_files, interpreter_fixes, monitoring_state, s3_speed, scratch
from localaws.authorization import (
    STEP_FUNCTIONS_ACCESS_KEY,
    Policies,
    current,
    role_session,
)
from localaws.iam import Decision, PolicyError, Request
from localaws.iam_requests import UnmappedOperation, asked_for
from localaws.lambda_workers import streaming_to_bytes
from localaws.lambdas import FunctionConfig, Handler, LocalLambda
from localaws.sagemaker import snapshot
from localaws.sagemaker.api import COLD_START_DELAY, INVOCATION_TIMEOUT, LocalSageMaker
from localaws.sagemaker.errors import SageMakerError
from localaws.template import SynthesizedStack, create_resources
from localaws.template import load as load_template

ACCOUNT = "123456789012"
HISTORY_READ_SECONDS = 0.25  # a running execution's history, read at most this often
SCRATCH_PREFIX = "calltime-local-"  # a runtime's work directory (localaws/scratch.py)
_PARAMS_KEY = "calltime_local_params"
# A saved account's executions with their histories; <state>/running/<execution>.json: a run
# under way, as it stands (localaws/account_files.py checks both).
EXECUTIONS_FILE, RUNNING_DIR = account_files.EXECUTIONS_FILE, account_files.RUNNING_DIR


@dataclass
class ExecutionResult:
    arn: str
    status: str
    output: Any
    error: str | None
    cause: str | None
    events: list[dict[str, Any]]

    @property
    def final_state(self) -> str:
        """The last state the execution entered ("?" if none)."""
        names = [e["stateEnteredEventDetails"]["name"] for e in self.events
                 if e["type"].endswith("StateEntered")]
        return names[-1] if names else "?"

    def exited_states(self) -> list[str]:
        return [e["stateExitedEventDetails"]["name"] for e in self.events
                if e["type"].endswith("StateExited")]

    def state_value(self, key: str) -> dict[str, Any]:
        """The last object a state left at `$.key`: the data of a failed execution too, whose
        output is empty."""
        for event in reversed(self.events):
            if event["type"].endswith("StateExited"):
                try:
                    value = json.loads(event["stateExitedEventDetails"].get("output") or "{}")
                except json.JSONDecodeError:
                    continue
                if isinstance(value, dict) and isinstance(value.get(key), dict):
                    return value[key]
        return {}


def _response(status: int, parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    parsed.setdefault("ResponseMetadata", {})["HTTPStatusCode"] = status
    return AWSResponse("https://local.calltime", status, {}, None), parsed


def denied(service: str, caller: str, action: str, resource: str, decision: Decision,
           head: bool = False) -> tuple[int, dict[str, Any]]:
    """The status and parsed error a service answers a call IAM denied with."""
    because = ("with an explicit deny in a resource-based policy"
               if decision is Decision.EXPLICIT_DENY
               else f"because no identity-based policy allows the {action} action")
    message = f"User: {caller} is not authorized to perform: {action} on resource: " \
              f"{resource} {because}"
    if service == "s3":
        if head:  # HEAD has no body: botocore sees the status only
            return 403, {"Error": {"Code": "403", "Message": "Forbidden"}}
        return 403, {"Error": {"Code": "AccessDenied", "Message": message}}
    if service == "sns":
        return 403, {"Error": {"Code": "AuthorizationError", "Message": message}}
    if service == "cloudwatch":
        return 403, {"Error": {"Code": "AccessDenied", "Message": message}}
    if service == "lambda":
        return 403, {"Error": {"Code": "AccessDeniedException", "Message": message}}
    return 400, {"Error": {"Code": "AccessDeniedException", "Message": message}}


def _error(err: SageMakerError) -> tuple[AWSResponse, dict[str, Any]]:
    return _response(err.status, {"Error": {"Code": err.code, "Message": err.message},
                                  "Message": err.message, **err.extra})


def _dump_s3(directory: Path) -> dict[str, list[str]]:
    """Every object of every bucket to directory/<bucket>/<key>, and nothing else (a key deleted
    since the last save leaves no file); returns the keys per bucket. Written beside, then
    swapped in, so a save cut short leaves the previous one whole."""
    s3 = boto3.client("s3")
    fresh = directory.with_name(f".{directory.name}.saving")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    buckets: dict[str, list[str]] = {}
    for bucket in s3.list_buckets().get("Buckets", []):
        keys = buckets.setdefault(bucket["Name"], [])
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for obj in page.get("Contents", []):
                target = fresh / bucket["Name"] / obj["Key"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(s3.get_object(Bucket=bucket["Name"],
                                                 Key=obj["Key"])["Body"].read())
                keys.append(obj["Key"])
    shutil.rmtree(directory, ignore_errors=True)
    fresh.rename(directory)
    return buckets


def _timestamp(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _write_atomically(path: Path, text: str) -> None:
    """Written beside, then renamed over: a reader in another process never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(f".{path.name}.writing")
    fresh.write_text(text)
    fresh.replace(path)


def _write_live(path: Path, record: dict[str, Any]) -> None:
    _write_atomically(path, json.dumps(record, default=_timestamp))


def saved_region(directory: Path) -> str:
    """The region of a saved local account; FileNotFoundError, saying what makes one, if there
    is none."""
    state = account_files.check_state(Path(directory))
    if state is None:
        raise FileNotFoundError(f"no local account in {directory} (run `make pipeline` first)")
    return state["region"]


def stopped(description: dict[str, Any], definition: str,
            history: list[dict[str, Any]]) -> dict[str, Any]:
    """A run whose process was stopped (Ctrl-C, SIGTERM) as `runs list` shows it: ABORTED, as
    one whose process was killed outright shows (operations/account.py)."""
    return {"execution": {**description, "status": "ABORTED",
                          "stopDate": dt.datetime.now(dt.UTC),
                          "error": "the local runtime's process was stopped"},
            "definition": definition, "history": history, "pid": None}


class LocalAWS:
    """Context manager: `with LocalAWS() as aws: ...` (stops every server it started)."""

    def __init__(self, region: str = "us-east-1", work_dir: Path | None = None,
                 silent_update_failures: bool = False, ping_timeout: float = 30.0,
                 cold_start_delay: float = COLD_START_DELAY,
                 lambda_log_dir: Path | None = None,
                 invocation_timeout: float = INVOCATION_TIMEOUT) -> None:
        """`lambda_log_dir`: where the functions' logs go (default: in the work directory)."""
        self.region = region
        self._own_dir = work_dir is None
        self.work_dir = Path(work_dir or scratch.make(SCRATCH_PREFIX)).resolve()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.lambdas = LocalLambda(region, ACCOUNT, serve_call=self._serve_call,
                                   log_dir=lambda_log_dir or self.work_dir / "lambda-logs")
        # The deployed template's policies: until a stack is deployed every call is allowed.
        self.policies: Policies | None = None
        self._state_machine_role = ""
        self._clients: dict[tuple[str, str | None], Any] = {}
        self.sagemaker = LocalSageMaker(lambda: boto3.client("s3"), self.work_dir, region,
                                        ACCOUNT, ping_timeout=ping_timeout,
                                        silent_update_failures=silent_update_failures,
                                        cold_start_delay=cold_start_delay,
                                        invocation_timeout=invocation_timeout)
        self._mock = None
        self._saved_env: dict[str, str | None] = {}
        self._s3_writes = threading.Lock()
        self._s3_counted = threading.Lock()
        self.s3_requests: Counter[str] = Counter()  # operation -> requests answered (billed)

    # --- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> LocalAWS:
        from moto import mock_aws

        for key, value in self._aws_environment().items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        interpreter_fixes.apply()
        s3_speed.apply()
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        # moto resets boto3's default session on start: register on the one it leaves.
        boto3.setup_default_session(region_name=self.region)
        events = boto3.DEFAULT_SESSION.events
        events.register_first("before-parameter-build", self._keep_params)
        # IAM on every call: on the events the local services answer (botocore runs the more
        # specific handlers first), and on every other call.
        for event in ("sagemaker", "sagemaker-runtime.InvokeEndpoint", "lambda.Invoke"):
            events.register_first(f"before-call.{event}", self._authorize)
        events.register_first("before-call", self._authorize)
        for operation in ("GetObject", "HeadObject"):
            events.register(f"after-call.s3.{operation}", self._missing_key_without_list)
        events.register("after-call.s3", self._count_s3_request)
        # S3 conditional writes are atomic in AWS; moto checks, then writes. Serialize writes
        # so If-None-Match / If-Match keep their meaning across threads.
        for operation in ("PutObject", "DeleteObject", "CopyObject"):
            events.register_first(f"before-call.s3.{operation}", self._s3_write_begin)
            events.register(f"after-call.s3.{operation}", self._s3_write_end)
            events.register(f"after-call-error.s3.{operation}", self._s3_write_end)
        events.register_first("before-call.lambda.Invoke", self._lambda_invoke)
        events.register_first("before-call.sagemaker", self._sagemaker_call)
        events.register_first("before-call.sagemaker-runtime.InvokeEndpoint", self._invoke)
        return self

    def _aws_environment(self) -> dict[str, str]:
        """What Lambda sets in every function's environment (region, the role's session)."""
        return {"AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region,
                "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_SESSION_TOKEN": "local"}

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.lambdas.stop()
        self.sagemaker.stop()
        if self._own_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
            boto3.DEFAULT_SESSION = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    # --- routing -------------------------------------------------------------------------------

    def _s3_write_begin(self, context: dict[str, Any], **_: Any) -> None:
        self._s3_writes.acquire()
        context["calltime_s3_write_lock"] = True

    def _s3_write_end(self, context: dict[str, Any], **_: Any) -> None:
        if context.pop("calltime_s3_write_lock", False):
            self._s3_writes.release()

    @staticmethod
    def _keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[_PARAMS_KEY] = dict(params)

    def _caller(self, request_signer: Any) -> Any:
        """Who makes this call: the thread's principal, else Step Functions (by its access
        key) as the state machine's role, else the harness (None: allowed everything)."""
        principal = current()
        if principal is None and self._state_machine_role and request_signer is not None:
            credentials = request_signer._credentials
            if credentials is not None and credentials.access_key == STEP_FUNCTIONS_ACCESS_KEY:
                principal = role_session(self._state_machine_role, "StepFunctions")
        return principal

    def _authorize(self, model, context: dict[str, Any], request_signer: Any = None,
                   **_: Any):
        principal = self._caller(request_signer)
        if principal is None or self.policies is None:
            return None
        service = model.service_model.service_id.hyphenize()
        try:
            asked = asked_for(service, model.name, context.get(_PARAMS_KEY, {}), self.region,
                              ACCOUNT)
            decisions = [(action, resource, self.policies.decide(
                Request(principal, action, resource, keys))) for action, resource, keys in asked]
        except (UnmappedOperation, PolicyError) as err:
            # Refused, by name: the local IAM cannot decide it (an answer, not an exception,
            # so the call's after-call handlers still run).
            return _response(500, {"Error": {"Code": "InternalFailure", "Message":
                                             f"local IAM cannot decide this call: {err}"}})
        for action, resource, decision in decisions:
            if decision is not Decision.ALLOWED:
                return _response(*denied(service, principal.arn, action, resource, decision,
                                         head=model.name == "HeadObject"))
        return None

    def _missing_key_without_list(self, http_response: Any, parsed: dict[str, Any],
                                  context: dict[str, Any], **_: Any) -> None:
        """S3 answers 403, not 404, for a missing key when the caller may not list the bucket
        (it would otherwise learn what does not exist). S3 decides s3:ListBucket on the request
        it has, a GetObject or HeadObject: that carries no `s3:prefix` (the key is not a listing
        prefix), so a ListBucket grant conditioned on s3:prefix does not make it a 404."""
        principal = current()
        if principal is None or self.policies is None or http_response.status_code != 404:
            return
        params = context.get(_PARAMS_KEY, {})
        listing = Request(principal, "s3:ListBucket", f"arn:aws:s3:::{params.get('Bucket')}",
                          {"aws:SecureTransport": "true"})
        if self.policies.decide(listing) is Decision.ALLOWED:
            return
        head = "Code" in parsed.get("Error", {}) and parsed["Error"]["Code"] == "404"
        _, error = denied("s3", principal.arn, "s3:GetObject",
                          f"arn:aws:s3:::{params.get('Bucket')}/{params.get('Key')}",
                          Decision.IMPLICIT_DENY, head=head)
        parsed["Error"] = error["Error"]
        parsed.setdefault("ResponseMetadata", {})["HTTPStatusCode"] = 403

    def _count_s3_request(self, model: Any, **_: Any) -> None:
        """Every S3 request made in the account (the handlers', the state machine's own), by
        operation: what S3 bills per request (`benchmarks/scale.py` reports them per run)."""
        with self._s3_counted:
            self.s3_requests[model.name] += 1

    def _serve_call(self, service: str, operation: str, params: dict[str, Any],
                    region: str | None) -> tuple[int, dict[str, Any]]:
        """One AWS call of a handler in a worker process, made here (as its role)."""
        from botocore import xform_name
        from botocore.exceptions import ClientError

        key = (service, region)
        try:
            if key not in self._clients:
                # The checksum a handler's SDK adds to a body (CRC32, sent aws-chunked) guards
                # the wire; here the body crosses a pipe, and computing, chunking and
                # unchunking it in this one process was two fifths of a 20 MB PUT's time.
                config = Config(request_checksum_calculation="when_required")
                self._clients[key] = boto3.client(service, region_name=region or self.region,
                                                  config=config)
            parsed = getattr(self._clients[key], xform_name(operation))(**params)
        except ClientError as err:
            return err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400), \
                err.response
        except Exception as err:  # the local runtime's own failure, named
            return 500, {"Error": {"Code": "InternalFailure",
                                   "Message": f"local runtime: {type(err).__name__}: {err}"}}
        return parsed.get("ResponseMetadata", {}).get("HTTPStatusCode", 200), \
            streaming_to_bytes(parsed)

    def _lambda_invoke(self, context: dict[str, Any], **_: Any):
        params = context[_PARAMS_KEY]
        payload = params.get("Payload", b"")
        if hasattr(payload, "read"):
            payload = payload.read()
        if isinstance(payload, str):
            payload = payload.encode()
        result = self.lambdas.invoke(params["FunctionName"], payload)
        if result.status != 200:
            body = json.loads(result.payload)
            return _response(result.status, {"Error": {"Code": result.function_error,
                                                       "Message": body.get("message", "")}})
        parsed = {"StatusCode": 200, "ExecutedVersion": "$LATEST",
                  "Payload": StreamingBody(io.BytesIO(result.payload), len(result.payload))}
        if result.function_error:
            parsed["FunctionError"] = result.function_error
        return _response(200, parsed)

    def _sagemaker_call(self, model, context: dict[str, Any], **_: Any):
        try:
            return _response(200, self.sagemaker.call(model.name, context[_PARAMS_KEY]))
        except SageMakerError as err:
            return _error(err)

    def _invoke(self, context: dict[str, Any], **_: Any):
        try:
            result = self.sagemaker.invoke(**context[_PARAMS_KEY])
        except SageMakerError as err:
            return _error(err)
        body = result.pop("Body")
        result["Body"] = StreamingBody(io.BytesIO(body), len(body))
        return _response(200, result)

    # --- harness -------------------------------------------------------------------------------

    def register_lambda(self, name_or_arn: str, handler: Handler | str,
                        config: FunctionConfig | None = None) -> None:
        self.lambdas.register(name_or_arn, handler, config)

    def deploy_state_machine(self, name: str, definition: dict[str, Any] | str,
                             lambdas: dict[str, Handler | str] | None = None) -> str:
        for arn, handler in (lambdas or {}).items():
            self.register_lambda(arn, handler)
        iam = boto3.client("iam")
        trust = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"Service": "states.amazonaws.com"}}]}
        role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))
        text = definition if isinstance(definition, str) else json.dumps(definition)
        return boto3.client("stepfunctions").create_state_machine(
            name=name, definition=text, roleArn=role["Role"]["Arn"])["stateMachineArn"]

    def run_execution(self, state_machine_arn: str, execution_input: dict[str, Any],
                      name: str | None = None, timeout: float = 600.0,
                      on_event: Callable[[dict[str, Any]], None] | None = None,
                      live_dir: Path | None = None) -> ExecutionResult:
        """Start an execution, stream its history to on_event, return how it ended. With
        `live_dir`, the execution as it stands is kept in live_dir/<name>.json while it runs and
        after, until `save_state` moves it into the saved executions (what `calltime runs watch
        --local-state` reads from another process)."""
        sfn = boto3.client("stepfunctions")
        name = name or f"local-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}"
        arn = sfn.start_execution(stateMachineArn=state_machine_arn, name=name,
                                  input=json.dumps(execution_input))["executionArn"]
        live = live_dir / f"{name}.json" if live_dir is not None else None
        definition = sfn.describe_state_machine(stateMachineArn=state_machine_arn)[
            "definition"] if live else ""
        seen = 0
        deadline = time.monotonic() + timeout
        description: dict[str, Any] = {"executionArn": arn, "name": name, "status": "RUNNING",
                                       "startDate": dt.datetime.now(dt.UTC),
                                       "stateMachineArn": state_machine_arn}
        events: list[dict[str, Any]] = []
        counted: int | None = -1
        read_at = 0.0
        try:
            while True:
                # The history is read through the API only when it has grown, and at most every
                # HISTORY_READ_SECONDS: moto returns and serializes all of it on every call (no
                # paging from an event on), which at 20 polls a second was most of a run's CPU,
                # and while a Map's iterations add events, a tenth of what serves the workers.
                count = _events_recorded(arn, self.region)
                ending = bool(events) and events[-1]["type"] in _EXECUTION_ENDS
                if count is not None and not ending and time.monotonic() <= deadline and (
                        count == counted or time.monotonic() - read_at < HISTORY_READ_SECONDS):
                    time.sleep(0.05)
                    continue
                counted, read_at = count, time.monotonic()
                description = sfn.describe_execution(executionArn=arn)
                events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
                for event in events[seen:]:
                    if on_event:
                        on_event(event)
                if live and len(events) > seen:  # kept, finished too, until save_state
                    _write_live(live, {"execution": description, "definition": definition,
                                       "history": events, "pid": os.getpid()})
                seen = len(events)
                if description["status"] != "RUNNING":
                    break
                if time.monotonic() > deadline:
                    sfn.stop_execution(executionArn=arn, error="LocalTimeout",
                                       cause=f"no result within {timeout} s")
                time.sleep(0.05)
        except BaseException:
            if live:  # the run cannot go on without this process: it stopped (Ctrl-C, SIGTERM)
                _write_live(live, stopped(description, definition, events))
            raise
        output = description.get("output")
        return ExecutionResult(arn, description["status"],
                               json.loads(output) if output else None,
                               description.get("error"), description.get("cause"), events)

    def deploy_stack(self, template: dict[str, Any], stack_name: str,
                     environment_overrides: dict[str, str] | None = None
                     ) -> tuple[SynthesizedStack, str]:
        """Stand a synthesized template up here: its buckets, topics, functions (their real
        handlers, their environment, plus any overrides) and its state machine, unchanged.
        Returns the local stack and the state machine's ARN."""
        stack = load_template(template, stack_name, self.region, ACCOUNT)
        create_resources(template, stack)
        overrides = environment_overrides or {}
        # In-process handlers (tests' stand-ins) read this process's environment.
        for key, value in {**stack.environment, **overrides}.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        for function in stack.functions.values():
            self.register_lambda(function.arn, function.handler, FunctionConfig(
                function.memory_mb, function.timeout_seconds, function.role_arn,
                {**function.environment, **overrides}))
        self.policies = stack.policies
        self._state_machine_role = stack.state_machine_role_arn
        arn = self.deploy_state_machine(stack.state_machine_name, stack.definition)
        return stack, arn

    # --- persistence ---------------------------------------------------------------------------

    def save_state(self, directory: Path) -> Path:
        """S3 objects, SSM parameters, SageMaker resources, alarms, schedules and subscriptions,
        to restore in a later process."""
        directory.mkdir(parents=True, exist_ok=True)
        buckets = _dump_s3(directory / "s3")
        ssm = boto3.client("ssm")
        parameters = [{"Name": p["Name"], "Value": p["Value"], "Type": p["Type"]}
                      for page in ssm.get_paginator("get_parameters_by_path").paginate(
                          Path="/", Recursive=True) for p in page["Parameters"]]
        state = {"region": self.region, "buckets": buckets, "parameters": parameters,
                 "sagemaker": snapshot.snapshot(self.sagemaker),
                 "monitoring": monitoring_state.snapshot()}
        _write_atomically(directory / "state.json", json.dumps(state, indent=2, default=str))
        self._save_executions(directory / EXECUTIONS_FILE, directory / RUNNING_DIR)
        for live in (directory / RUNNING_DIR).glob("*.json"):  # saved above: no longer live
            if json.loads(live.read_text())["execution"]["status"] != "RUNNING":
                live.unlink(missing_ok=True)
        return directory

    def executions(self) -> list[dict[str, Any]]:
        """Every execution of this process: its description, state machine and history."""
        sfn = boto3.client("stepfunctions")
        found = []
        for machine in sfn.list_state_machines()["stateMachines"]:
            arn = machine["stateMachineArn"]
            definition = sfn.describe_state_machine(stateMachineArn=arn)["definition"]
            for execution in sfn.list_executions(stateMachineArn=arn)["executions"]:
                found.append({
                    "execution": sfn.describe_execution(executionArn=execution["executionArn"]),
                    "definition": definition,
                    "history": sfn.get_execution_history(
                        executionArn=execution["executionArn"], maxResults=1000)["events"]})
        return found

    def _save_executions(self, path: Path, running: Path | None = None) -> None:
        """Executions outlive the process that ran them, as in Step Functions (90 days there):
        this process's are added to those saved before, by ARN, and so are runs of earlier
        processes that were stopped while they ran (their running/ files, ABORTED)."""
        saved = {e["execution"]["executionArn"]: e
                 for e in account_files.check_executions(path.parent)}
        for record in json.loads(json.dumps(self.executions(), default=_timestamp)):
            saved[record["execution"]["executionArn"]] = record
        for live in sorted(running.glob("*.json")) if running else []:
            record = account_files.running_record(live)
            if record is None:
                continue
            arn = record["execution"]["executionArn"]
            # A run stopped mid-way is still RUNNING in this process's interpreter: its stop wins.
            if record["execution"]["status"] != "RUNNING" and \
                    saved.get(arn, record)["execution"]["status"] in ("RUNNING", "ABORTED"):
                saved[arn] = record
        records = sorted(saved.values(), key=lambda e: e["execution"]["startDate"])
        _write_atomically(path, json.dumps(records, indent=1))

    def load_state(self, directory: Path) -> bool:
        """Restore what `save_state` wrote; False when there is nothing to restore."""
        state = account_files.check_state(directory)
        if state is None:
            return False
        s3 = boto3.client("s3")
        for bucket, keys in state["buckets"].items():
            kwargs: dict[str, Any] = {"Bucket": bucket}
            if self.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            s3.create_bucket(**kwargs)
            for key in keys:
                s3.put_object(Bucket=bucket, Key=key,
                              Body=(directory / "s3" / bucket / key).read_bytes())
        ssm = boto3.client("ssm")
        for parameter in state["parameters"]:
            ssm.put_parameter(**parameter, Overwrite=True)
        snapshot.restore(self.sagemaker, state["sagemaker"])
        monitoring_state.restore(state.get("monitoring", {}),  # absent in older saves
                                 str(directory / account_files.STATE_FILE))
        return True

    def export(self, directory: Path) -> Path:
        """Write S3 objects, SageMaker descriptions and execution histories to a directory."""
        directory.mkdir(parents=True, exist_ok=True)
        _dump_s3(directory / "s3")
        sm = self.sagemaker
        state = {
            "models": [sm.call("DescribeModel", {"ModelName": n}) for n in list(sm.models)],
            "endpoint_configs": [sm.call("DescribeEndpointConfig", {"EndpointConfigName": n})
                                 for n in list(sm.configs)],
            "endpoints": [sm.call("DescribeEndpoint", {"EndpointName": n})
                          for n in list(sm.endpoints)],
            "cold_starts": sm.cold_starts(),
        }
        (directory / "sagemaker.json").write_text(json.dumps(state, indent=2, default=str))
        sfn = boto3.client("stepfunctions")
        executions = []
        for machine in sfn.list_state_machines()["stateMachines"]:
            for execution in sfn.list_executions(
                    stateMachineArn=machine["stateMachineArn"])["executions"]:
                history = sfn.get_execution_history(executionArn=execution["executionArn"],
                                                    maxResults=1000)["events"]
                executions.append({"execution": execution, "history": history})
        (directory / "executions.json").write_text(json.dumps(executions, indent=2,
                                                              default=str))
        (directory / "lambda_invocations.json").write_text(
            json.dumps(self.lambdas.invocations, indent=2))
        return directory


_EXECUTION_ENDS = {"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted",
                   "ExecutionTimedOut"}


def _events_recorded(execution_arn: str, region: str) -> int | None:
    """How many history events moto has recorded for an execution, read without copying or
    serializing them; None where its internals are not the ones this reads (every poll then
    reads the history through the API)."""
    from moto.stepfunctions.responses import get_backend

    try:
        execution = get_backend(ACCOUNT, region).describe_execution(execution_arn)
        environment = execution.exec_worker.env
        return -1 if environment is None else len(environment.event_manager._history_event_list)
    except Exception:  # another moto: the API alone
        return None
