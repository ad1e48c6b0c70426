"""Under pytest-xdist each worker's thread pools get its share of the cores (tests/conftest.py):
OpenMP's spinning threads from two workers on two cores cost a training test 1.5 times its
time."""

from __future__ import annotations

import os
import types

import pytest
import sklearn.ensemble  # noqa: F401  (loads the OpenMP runtime the trees use)
from threadpoolctl import threadpool_info

from tests import conftest


def _pool_sizes() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info()}


def _unset(monkeypatch, *variables: str) -> None:
    """Unset for this test and restored after it, set or not before (delenv alone records
    nothing to undo for a variable that was not set)."""
    for variable in variables:
        monkeypatch.setenv(variable, "")
        monkeypatch.delenv(variable)


def _configured(config) -> None:
    limits = getattr(config, "_calltime_thread_limits", None)
    if limits is not None:
        limits.restore_original_limits()


@pytest.mark.parametrize(("workers", "cores", "share"), [(2, 2, 1), (2, 8, 4), (3, 2, 1)])
def test_each_worker_gets_its_share_of_the_cores(monkeypatch, workers, cores, share) -> None:
    _unset(monkeypatch, *conftest.THREAD_VARIABLES)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(workers))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)))
    config = types.SimpleNamespace()
    conftest.pytest_configure(config)  # type: ignore[arg-type]
    try:
        assert {os.environ[variable] for variable in conftest.THREAD_VARIABLES} == {str(share)}
        assert _pool_sizes() == {share}
    finally:
        _configured(config)


def test_a_variable_set_by_hand_is_kept_and_one_process_is_left_alone(monkeypatch) -> None:
    _unset(monkeypatch, *conftest.THREAD_VARIABLES)
    monkeypatch.setenv("OMP_NUM_THREADS", "3,1")  # OpenMP's nested form: 3 at the top level
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    config = types.SimpleNamespace()
    conftest.pytest_configure(config)  # type: ignore[arg-type]
    try:
        assert os.environ["OMP_NUM_THREADS"] == "3,1" and os.environ["MKL_NUM_THREADS"] == "1"
        assert {pool["internal_api"]: pool["num_threads"] for pool in threadpool_info()} == {
            "openmp": 3, "openblas": 2}
    finally:
        _configured(config)
    _unset(monkeypatch, *conftest.THREAD_VARIABLES)
    before = dict(os.environ)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "1")
    conftest.pytest_configure(types.SimpleNamespace())  # type: ignore[arg-type]
    assert dict(os.environ) == {**before, "PYTEST_XDIST_WORKER_COUNT": "1"}


@pytest.mark.parametrize("bad", ["abc", "0", "", "-2"])
def test_a_thread_count_that_is_no_count_leaves_this_process_at_its_share(monkeypatch,
                                                                           bad) -> None:
    """Kept for the processes started (OpenMP names it: "Invalid value for environment variable
    OMP_NUM_THREADS"); here the share is used."""
    _unset(monkeypatch, *conftest.THREAD_VARIABLES)
    monkeypatch.setenv("OMP_NUM_THREADS", bad)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", bad)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(6)))
    config = types.SimpleNamespace()
    conftest.pytest_configure(config)  # type: ignore[arg-type]
    try:
        assert os.environ["OMP_NUM_THREADS"] == bad and _pool_sizes() == {3}
    finally:
        _configured(config)
