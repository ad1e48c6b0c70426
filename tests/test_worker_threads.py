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


@pytest.mark.parametrize(("workers", "cores", "share"), [(2, 2, 1), (2, 8, 4), (3, 2, 1)])
def test_each_worker_gets_its_share_of_the_cores(monkeypatch, workers, cores, share) -> None:
    for variable in conftest.THREAD_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(workers))
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    config = types.SimpleNamespace()
    conftest.pytest_configure(config)  # type: ignore[arg-type]
    try:
        assert {os.environ[variable] for variable in conftest.THREAD_VARIABLES} == {str(share)}
        assert _pool_sizes() == {share}
    finally:
        config._calltime_thread_limits.restore_original_limits()


def test_a_variable_set_by_hand_is_kept_and_one_process_is_left_alone(monkeypatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    config = types.SimpleNamespace()
    conftest.pytest_configure(config)  # type: ignore[arg-type]
    try:
        assert os.environ["OMP_NUM_THREADS"] == "3" and _pool_sizes() == {3}
    finally:
        config._calltime_thread_limits.restore_original_limits()
    before = dict(os.environ)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "1")
    conftest.pytest_configure(types.SimpleNamespace())  # type: ignore[arg-type]
    assert dict(os.environ) == {**before, "PYTEST_XDIST_WORKER_COUNT": "1"}
