"""The model the tests serve, trained once per source change and shared by every test process
(pytest's workers, the TypeScript client's tests): the demo log of 1,200 contacts and the model
trained on it with the default settings, kept under .cache/tests/ (tests/support/cache.py).

    python -m tests.support.trained    # prints the model.tar.gz's path (made if need be)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from inference_code.artifact_layout import ARTIFACT_FILE, METADATA_FILE
from tests.support import cache
from training.outputs import METRICS_FILE, REJECTS_FILE, REPORT_FILE
from training.simulate import SimulationConfig, write
from training.train import TrainResult, TrainSettings, train

DEMO = SimulationConfig(n_contacts=1200, seed=11)
TRAINED_VERSION = "20260601T000000Z-test01"


def demo_log() -> tuple[Path, Path]:
    """(calls.csv, truth.csv.gz) for 1,200 contacts, about 48,000 calls."""
    made = cache.made_once("demo-log", cache.source_key(["training"], repr(DEMO)),
                           lambda directory: write(DEMO, directory))
    return made / "calls.csv", made / "truth.csv.gz"


def trained_model() -> TrainResult:
    """The model trained on the demo log with the default settings."""
    calls, truth = demo_log()

    def make(directory: Path) -> None:
        train(calls, directory, TrainSettings(), truth=pd.read_csv(truth),
              version=TRAINED_VERSION)

    made = cache.made_once("trained", cache.source_key(
        ["training", "inference_code"],
        f"{TRAINED_VERSION} {hashlib.sha256(calls.read_bytes()).hexdigest()}"), make)
    return TrainResult(TRAINED_VERSION, made / ARTIFACT_FILE, made / METRICS_FILE,
                       made / REPORT_FILE, made / REJECTS_FILE,
                       json.loads((made / METADATA_FILE).read_text()), 0.0)


if __name__ == "__main__":
    print(trained_model().artifact)
