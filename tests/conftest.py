"""Fixtures shared by every room's tests: one small generated log and one model trained on it
per test session, and a local AWS account with that model's artifacts in a models bucket."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from localaws.runtime import LocalAWS
from pipeline_lambdas.settings import PipelineSettings
from tests.support import trained as trained_models
from tests.support.local_account import BUCKET, IMAGE, ROLE, artifacts_from, put_artifacts
from tests.support.local_endpoint import local_endpoint
from training.train import TrainResult

# Fixtures that train a model or stand up a local account with model servers: a test that
# uses one takes seconds, not milliseconds.
SLOW_FIXTURES = {"trained", "artifacts", "aws", "silent_aws", "account", "machine",
                 "runtime_api", "busy_runtime_api"}


# Modules whose tests each take a second or more (measured: `pytest -m "not slow" --durations=0`):
# they synthesize the CDK app, start processes and servers, or train. Slow, so that
# `make test-fast` stays under 30 s; `make test` runs them.
SLOW_MODULES = {
    "tests/infra/test_stack.py", "tests/infra/test_compliance.py",
    "tests/infra/test_documented_defaults.py",  # synth
    "tests/clients/test_python_client_hangs.py", "tests/localaws/test_runtime_http_hostile.py",
    "tests/localaws/test_runtime.py", "tests/localaws/test_killed_runtime.py",
    "tests/localaws/test_account_files.py", "tests/localaws/test_lambda_workers.py",  # processes
    "tests/training/test_scale_out.py", "tests/training/test_simulate.py",
    "tests/training/test_archetypes.py",  # generate and train
}


# Modules whose tests take the longest in all (measured: `make test` prints each test's time):
# run first, so that under pytest-xdist the longest group is not the last one started.
FIRST = ("tests/e2e/test_pipeline.py", "tests/e2e/test_billion_row_shape.py",
         "tests/e2e/test_scale_out.py", "tests/faults/test_faults.py",
         "tests/e2e/test_least_privilege.py")


# The native thread pools a process starts (OpenMP: the gradient-boosted trees; OpenBLAS; joblib's
# n_jobs=-1: the forest) and the variables that size them in the processes it starts.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "LOKY_MAX_CPU_COUNT")


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, each worker gets its share of the cores for its thread pools, and so
    do the processes it starts (Lambda workers included, localaws/lambda_workers.py). Each pool
    otherwise sizes itself to every core, and OpenMP's idle threads spin: measured with one
    other busy process on these 2 cores, tests/training/test_gate_recommendations.py took 41 s
    with 2 threads and 27 s with 1. A variable set by hand is kept."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers <= 1:
        return
    share = max(1, len(os.sched_getaffinity(0)) // workers)
    for variable in THREAD_VARIABLES:
        os.environ.setdefault(variable, str(share))
    from threadpoolctl import threadpool_limits

    # this process's pools, started already (numpy is imported by now)
    config._calltime_thread_limits = threadpool_limits(  # type: ignore[attr-defined]
        {"openmp": _threads("OMP_NUM_THREADS", share),
         "blas": _threads("OPENBLAS_NUM_THREADS", share)})


def _threads(variable: str, default: int) -> int:
    """The outermost level of a thread-count variable ("4" or OpenMP's nested "4,2")."""
    first = os.environ.get(variable, "").split(",")[0].strip()
    return int(first) if first.isdigit() and int(first) > 0 else default


def _module_scoped(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    return info is not None and any(
        definition.scope in ("module", "package", "class")
        for definitions in info.name2fixturedefs.values() for definition in definitions)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every end-to-end test, and every test on a trained model or a local account, is slow
    (`make test-fast` leaves them out; `make test` runs all). Under pytest-xdist
    (`--dist loadgroup`), the tests that share a module's state (a module-scoped local
    account, model, template) run together on one worker, in order, unless the module says
    `SPREAD_OVER_WORKERS = True` (each test sets up what it needs from the module's fixture,
    which each worker then makes once); the others go wherever a worker is free."""
    for item in items:
        if "/tests/e2e/" in str(item.path) or item.nodeid.split("::")[0] in SLOW_MODULES \
                or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        if _module_scoped(item) and not getattr(item.module, "SPREAD_OVER_WORKERS", False):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    rank = {path: i for i, path in enumerate(FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(FIRST)))


@pytest.fixture(scope="session")
def demo_log() -> tuple[Path, Path]:
    """(calls.csv, truth.csv.gz) for 1,200 contacts, about 48,000 calls (made once, shared by
    every test process: tests/support/trained.py)."""
    return trained_models.demo_log()


@pytest.fixture(scope="session")
def trained() -> TrainResult:
    """The model trained on the demo log with the default settings, made once and shared."""
    return trained_models.trained_model()


@pytest.fixture(scope="session")
def artifacts(trained: TrainResult) -> dict[str, bytes]:
    return artifacts_from(trained.artifact.read_bytes())


@pytest.fixture
def aws(artifacts: dict[str, bytes], tmp_path: Path) -> Iterator[LocalAWS]:
    """Cold starts without the emulated setup delay (the tests of the cold start path, the
    end-to-end runs and `make pipeline` keep it)."""
    with LocalAWS(work_dir=tmp_path / "local", ping_timeout=20, cold_start_delay=0.0) as runtime:
        put_artifacts(artifacts)
        yield runtime


@pytest.fixture
def silent_aws(artifacts: dict[str, bytes], tmp_path: Path) -> Iterator[LocalAWS]:
    """A local account whose failed endpoint updates roll back without a FailureReason."""
    with LocalAWS(work_dir=tmp_path / "local", ping_timeout=20, cold_start_delay=0.0,
                  silent_update_failures=True) as runtime:
        put_artifacts(artifacts)
        yield runtime


@pytest.fixture
def settings() -> PipelineSettings:
    return PipelineSettings(project_name="calltime", environment="test", models_bucket=BUCKET,
                            container_image=IMAGE, execution_role_arn=ROLE)


@pytest.fixture(scope="session")
def runtime_api(trained: TrainResult, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[dict]:
    """`calltime local endpoint` serving the session's model: MaxConcurrency 200, a short cold
    start. Its ready line: {"url", "endpoints", "region", ...}."""
    log = tmp_path_factory.mktemp("endpoint") / "endpoint.log"
    with local_endpoint(trained.artifact, "--cold-start-delay", "0.5", log=log) as ready:
        yield ready


@pytest.fixture(scope="session")
def busy_runtime_api(trained: TrainResult, tmp_path_factory: pytest.TempPathFactory
                     ) -> Iterator[dict]:
    """One that throttles and cold-starts: MaxConcurrency 2, 0.4 s per invocation, scaled to
    zero after 1 s idle, a 1 s cold start during which other requests are not ready."""
    log = tmp_path_factory.mktemp("busy-endpoint") / "endpoint.log"
    with local_endpoint(trained.artifact, "--max-concurrency", "2", "--latency", "0.4",
                        "--idle-seconds", "1", "--cold-start-delay", "1",
                        "--not-ready-while-cold", log=log) as ready:
        yield ready
