"""GlobalCut: the run's temporal cut, from every merged bucket's call times (8 bytes a call)."""

from __future__ import annotations

from typing import Any

from pipeline_lambdas import work_area as w
from pipeline_lambdas.clients import client
from pipeline_lambdas.events import read_field
from pipeline_lambdas.observability import step_handler
from pipeline_lambdas.settings import PipelineSettings
from training import scale_out
from training.train import TrainSettings


def cut(s3, settings: PipelineSettings, work: str) -> dict[str, Any]:
    target = settings.models_bucket
    epochs = [w.get_arrays(s3, target, key) for key in w.keys(s3, target, f"{work}epochs/")]
    if not epochs:
        return {"cut": 0.0, "rows_valid": 0}
    value = scale_out.global_cut(epochs, TrainSettings().evaluation.test_fraction)
    return {"cut": value, "rows_valid": int(sum(len(e) for e in epochs))}


@step_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return cut(client("s3"), PipelineSettings.from_env(), read_field(event, "work_prefix", str))
