"""Shared fixtures: one small generated log and one model trained on it, per test session."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from training.simulate import SimulationConfig, write
from training.train import TrainResult, TrainSettings, train


@pytest.fixture(scope="session")
def demo_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(calls.csv, truth.csv.gz) for 1,200 contacts, about 48,000 calls."""
    return write(SimulationConfig(n_contacts=1200, seed=11), tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def trained(demo_log: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    calls, truth = demo_log
    return train(calls, tmp_path_factory.mktemp("model"), TrainSettings(),
                 truth=pd.read_csv(truth), version="20260601T000000Z-test01")
