"""Where moto's ASL interpreter differs from Step Functions, patched once at the source.

- `$$.Execution.StartTime`: moto puts a datetime; AWS gives an ISO 8601 string.
- `States.ALL` catches everything in moto; in Step Functions it does not catch the terminal
  `States.DataLimitExceeded` (a state's data over 256 KB) nor `States.Runtime` (concepts-error-
  handling: "States.ALL ... can't catch the States.DataLimitExceeded terminal error or Runtime
  error types"), so such a failure ends the execution there and then.
"""

from __future__ import annotations

import datetime as dt


def apply() -> None:
    _iso_start_time()
    _terminal_errors()
    _lambda_service_errors()
    _tolerated_failures()
    _gathered_map_results()
    _reused_clients()
    _parsed_paths_once()


def _iso_start_time() -> None:
    """moto puts a datetime in `$$.Execution.StartTime`; AWS gives an ISO 8601 string
    ("2026-11-25T20:27:53.123Z"). With a datetime, any state that keeps it in its data makes
    DescribeExecution fail to serialize the output. Patched once, at the source."""
    from moto.stepfunctions.parser.backend import execution_worker

    worker = execution_worker.ExecutionWorker
    if getattr(worker, "_calltime_iso_start", False):
        return
    original = worker._get_evaluation_environment

    def environment(self):
        env = original(self)
        execution = env.states.context_object.context_object_data["Execution"]
        start = execution.get("StartTime")
        if isinstance(start, dt.datetime):
            start = start.astimezone(dt.UTC) if start.tzinfo else start.replace(tzinfo=dt.UTC)
            execution["StartTime"] = start.isoformat(timespec="milliseconds").replace(
                "+00:00", "Z")
        return env

    worker._get_evaluation_environment = environment
    worker._calltime_iso_start = True


def _terminal_errors() -> None:
    from moto.stepfunctions.parser.asl.component.common.error_name import error_equals_decl
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )

    decl = error_equals_decl.ErrorEqualsDecl
    if getattr(decl, "_calltime_terminal", False):
        return
    terminal = {StatesErrorNameType.StatesStatesDataLimitExceeded,
                StatesErrorNameType.StatesRuntime}
    original = decl._eval_body

    def eval_body(self, env) -> None:
        error = env.stack[-1] if env.stack else None
        if (isinstance(error, StatesErrorName) and error.typ in terminal
                and decl._STATE_ALL_ERROR in self.error_names):
            env.stack.pop()
            env.stack.append(False)  # only an explicit ErrorEquals names it
            return
        original(self, env)

    decl._eval_body = eval_body
    decl._calltime_terminal = True


def _lambda_service_errors() -> None:
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.api import (
        HistoryEventType,
        LambdaFunctionFailedEventDetails,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import (
        StateTaskLambda,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    if getattr(StateTaskLambda, "_calltime_service_errors", False):
        return
    original = StateTaskLambda._from_error

    def from_error(self, env, ex: Exception):
        if not isinstance(ex, ClientError):
            return original(self, env, ex)
        error = f"Lambda.{ex.response['Error']['Code']}"
        return FailureEvent(
            env=env, error_name=CustomErrorName(error),
            event_type=HistoryEventType.LambdaFunctionFailed,
            event_details=EventDetails(lambdaFunctionFailedEventDetails=(
                LambdaFunctionFailedEventDetails(error=error,
                                                 cause=ex.response["Error"]["Message"]))))

    StateTaskLambda._from_error = from_error
    StateTaskLambda._calltime_service_errors = True


def _tolerated_failures() -> None:
    """A Distributed Map whose failed items exceed its tolerated failure count and percentage
    (0 and 0 unless set) fails with States.ExceedToleratedFailureThreshold, as in Step Functions;
    moto counts the failed items and reports the map run succeeded."""
    from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        distributed_iteration_component as component,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    cls = component.DistributedIterationComponent
    if getattr(cls, "_calltime_tolerated_failures", False):
        return
    original = cls._map_run

    def map_run(self, env, eval_input) -> None:
        original(self, env, eval_input)
        record = eval_input.map_run_record
        counter = record.item_counter
        failed = counter.failed.get() + counter.timed_out.get()
        total = max(counter.total.get(), 1)
        if failed <= (record.tolerated_failure_count or 0) and \
                100.0 * failed / total <= (record.tolerated_failure_percentage or 0.0):
            return
        error = StatesErrorNameType.StatesExceedToleratedFailureThreshold.to_name()
        cause = (f"The specified tolerated failure threshold was exceeded: {failed} of "
                 f"{counter.total.get()} items failed")
        raise FailureEventException(FailureEvent(
            env=env, error_name=StatesErrorName(
                typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold),
            event_type=HistoryEventType.MapRunFailed,
            event_details=EventDetails(mapRunFailedEventDetails=MapRunFailedEventDetails(
                error=error, cause=cause))))

    cls._map_run = map_run
    cls._calltime_tolerated_failures = True


def _gathered_map_results() -> None:
    """A Distributed Map without a ResultWriter whose gathered child outputs exceed the state
    size quota fails with the terminal States.DataLimitExceeded, as in Step Functions."""
    from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map import state_map
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        distributed_iteration_component as component,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.quotas import is_within_size_quota

    cls = component.DistributedIterationComponent
    if getattr(cls, "_calltime_gathered_results", False):
        return
    map_state = state_map.StateMap
    original_state_body = map_state._eval_body

    def state_body(self, env) -> None:
        # The iteration component cannot see its state's ResultWriter: tell it.
        self.iteration_component._calltime_result_writer = self.result_writer is not None
        original_state_body(self, env)

    original_run = cls._map_run

    def map_run(self, env, eval_input) -> None:
        original_run(self, env, eval_input)
        if getattr(self, "_calltime_result_writer", False) or is_within_size_quota(
                env.stack[-1]):
            return
        error = StatesErrorNameType.StatesStatesDataLimitExceeded
        cause = (f"The Map state '{eval_input.state_name}' gathered results of "
                 f"{len(eval_input.input_items or [])} child executions exceeding the maximum "
                 "number of bytes service limit (256 KB); export them with a ResultWriter")
        raise FailureEventException(FailureEvent(
            env=env, error_name=StatesErrorName(typ=error),
            event_type=HistoryEventType.MapRunFailed,
            event_details=EventDetails(mapRunFailedEventDetails=MapRunFailedEventDetails(
                error=error.to_name(), cause=cause))))

    map_state._eval_body = state_body
    cls._map_run = map_run
    cls._calltime_gathered_results = True


_CLIENT_MODULES = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service."
    "state_task_service_aws_sdk",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service."
    "state_task_service_sns",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval."
    "resource_eval_s3",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval."
    "resource_eval_s3",
)


def _reused_clients() -> None:
    import importlib
    import threading

    import boto3
    from moto.stepfunctions.parser.asl.utils import boto_client

    if getattr(boto_client, "_calltime_reused", False):
        return
    original = boto_client.boto_client_for
    made: dict[tuple[str, str], tuple[object, object]] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials=None):
        # Made on the default session: a new runtime (a new session, its own handlers) makes
        # its own clients.
        with lock:
            session, client = made.get((region, service), (None, None))
            if session is not boto3.DEFAULT_SESSION or client is None:
                client = original(region=region, service=service,
                                  state_credentials=state_credentials)
                made[(region, service)] = (boto3.DEFAULT_SESSION, client)
            return client

    for name in _CLIENT_MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "boto_client_for"):
            module.boto_client_for = boto_client_for
    boto_client.boto_client_for = boto_client_for
    boto_client._calltime_reused = True


def _parsed_paths_once() -> None:
    import functools

    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    for module in (json_path, result_path):
        if not getattr(module, "_calltime_parsed_once", False):
            # A parsed path is an expression tree that find/update only read.
            module.parse = functools.lru_cache(maxsize=4096)(module.parse)
            module._calltime_parsed_once = True
