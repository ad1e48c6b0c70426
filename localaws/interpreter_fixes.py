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
