"""The fault matrix (tests/faults/matrix.py): that it covers the state machine as synthesized, that
docs/local-runtime.md shows it, and a run of a few of its cells, one per mechanism (the whole
matrix is `make faults`, about 20 minutes here).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from local_pipeline.pipeline import LOCAL_ENVIRONMENT
from localaws.runtime import LocalAWS
from tests.faults.matrix import (
    FAULTS,
    INVOCATION_TIMEOUT,
    SAGEMAKER_FAULTS,
    STEPS,
    Cell,
    CellResult,
    FaultAccount,
    RunPath,
    every_cell,
    model_server_pids,
    run_cell,
    scratch_entries,
    table,
)
from tests.support.stacks import definition, local_stack
from training.simulate import SimulationConfig, write

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
ROOT = Path(__file__).resolve().parents[2]
# A few cells, each a mechanism no other test shows through the whole state machine: a
# Distributed Map item failing the map; a Notify that fails without failing the run. (A function
# killed at its memory: tests/e2e/test_scale_out.py; Step Functions restoring the endpoint when
# the Rollback function fails, and a failed health check rolled back: tests/e2e/test_pipeline.py.
# In `make faults` only, to keep `make test` under ten minutes: a throttled Lambda retried (its
# parts: the interpreter names Lambda's refusal as Step Functions does,
# tests/localaws/test_runtime.py, and every Lambda task retries it, tests/infra/test_stack.py),
# and a canary timing out (a ModelError, tests/localaws/test_sagemaker.py, fails the check,
# tests/pipeline_lambdas/test_health.py). `make faults` runs every cell.)
QUICK = ("MergeBucket-raised", "Notify-raised")


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    stack = local_stack(tmp_path_factory.mktemp("cdk"))
    return stack.template, stack


def test_the_matrix_covers_every_task_of_the_synthesized_state_machine(synthesized) -> None:
    """A step added to the state machine without its row in the matrix fails here."""
    template, _ = synthesized
    tasks: set[str] = set()

    def collect(states: dict) -> None:
        for name, state in states.items():
            if state["Type"] == "Task" and "aws-sdk" not in str(state.get("Resource", "")):
                tasks.add(name)
            if state["Type"] == "Map":
                collect(state["ItemProcessor"]["States"])

    collect(definition(template)["States"])
    assert tasks == {s.state for s in STEPS}
    names = [c.name for c in every_cell()]
    assert len(names) == len(set(names)) == len(STEPS) * len(FAULTS) + len(SAGEMAKER_FAULTS)
    assert set(QUICK) <= set(names)


def last_run() -> dict[str, CellResult]:
    """What `make faults` recorded of each cell when it last ran it (tests/faults/
    last_run.json, written by the run itself)."""
    recorded = json.loads((Path(__file__).parent / "last_run.json").read_text())
    cells = {c.name: c for c in every_cell()}
    return {name: CellResult(cells[name], r["end"], r["seconds"], r["problems"])
            for name, r in recorded.items() if name in cells}


def test_the_docs_show_the_matrix_as_make_faults_last_found_it() -> None:
    """Each cell's mark in docs/local-runtime.md is its last recorded run's: ✅ every check held, ❌
    one failed, · never run with the matrix as it is."""
    results = last_run()
    assert table(results) in (ROOT / "docs" / "local-runtime.md").read_text()


def test_every_cell_of_the_matrix_has_been_run_and_held() -> None:
    """A cell added to the matrix (a new step, a new fault) is run by `make faults` before it
    lands: recorded, ending where the matrix says, every check held."""
    results = last_run()
    assert sorted(results) == sorted(c.name for c in every_cell())
    assert [name for name, r in results.items() if r.problems or
            r.end != r.cell.expected_end] == []


@pytest.fixture(scope="module")
def account(synthesized, tmp_path_factory):
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    template, stack = synthesized
    out = tmp_path_factory.mktemp("faults")
    calls, _ = write(SimulationConfig(n_contacts=400, seed=7), out / "data")
    scratch = scratch_entries()
    with LocalAWS(region=stack.settings.region, work_dir=out / "work", cold_start_delay=0.0,
                  invocation_timeout=INVOCATION_TIMEOUT) as aws:
        local, arn = aws.deploy_stack(template, stack.stack_name, LOCAL_ENVIRONMENT)
        yield FaultAccount(aws, local, arn, calls)
    # Once the account is gone, nothing it started is left.
    assert model_server_pids() == set()
    assert scratch_entries() <= scratch


@pytest.mark.slow
@pytest.mark.parametrize("name", QUICK)
def test_a_fault_ends_the_run_where_the_matrix_says(account, name: str) -> None:
    cell = next(c for c in every_cell() if c.name == name)
    assert isinstance(cell, Cell)
    result = run_cell(account, cell)
    assert result.green, "\n".join(result.problems)
    assert result.end == cell.expected_end


@pytest.mark.slow
def test_a_notification_sns_refuses_is_not_marked_sent(account) -> None:
    """Publish denied (only that): Notify has written its sent-marker first, so it deletes it
    again under its own role (s3:DeleteObject on notifications/), and the run records why; a
    later retry of the step would send it."""
    name = account.functions["notify"]
    role = account.aws.lambdas.configs[name].role_arn.rsplit("/", 1)[-1]
    deny = {"Effect": "Deny", "Action": "sns:Publish", "Resource": "*"}
    account.ensure_live()
    account.aws.policies.roles[role].append(deny)
    try:
        result = account.execute(RunPath.KEEP, name="publish-denied")
    finally:
        account.aws.policies.roles[role].remove(deny)
    assert result.final_state == "KeptCurrentModel"
    assert account.notifications(result.arn) == []
    error = result.state_value("notify_error")
    assert "sns:Publish" in error["Cause"] and "not authorized" in error["Cause"]
