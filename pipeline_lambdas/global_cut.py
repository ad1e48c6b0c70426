"""GlobalCut: the run's temporal cut and its samples, from every merged bucket.

- the cut: the exact quantile of every call time the single path takes, from each bucket's
  histogram of call hours (a few KB) and one ranged GET of the few call times in the hour that
  holds it (training/streamed_quantile.py): a billion calls' cut reads megabytes, not 8 GB;
- the training sample: the share of contacts whose rows the training function holds (its
  memory, this function's: both are training steps), 1 when every row fits;
- the archetype sample: the share of contacts whose weekly cell counts the archetypes are fitted on.
"""

from __future__ import annotations

from typing import Any

from pipeline_lambdas import work_area as w
from pipeline_lambdas.clients import client
from pipeline_lambdas.events import read_field
from pipeline_lambdas.observability import step_handler
from pipeline_lambdas.settings import PipelineSettings
from training import footprint, scale_out, streamed_quantile
from training.train import TrainSettings


def cut(s3, settings: PipelineSettings, work: str, memory_mb: int) -> dict[str, Any]:
    target = settings.models_bucket
    buckets = w.read_all(w.keys(s3, target, f"{work}summaries/bucket="),
                         lambda key: w.get_json(s3, target, key))
    rows = sum(b["rows_valid"] for b in buckets)
    if not rows:
        return {"cut": 0.0, "rows_valid": 0, "sample_fraction": 1.0, "counts_fraction": 1.0}
    numbers = [b["bucket"] for b in buckets if b["rows_valid"]]

    def histogram(key: str) -> streamed_quantile.Histogram:
        arrays = w.get_arrays(s3, target, key)
        return streamed_quantile.Histogram(int(arrays["first"][0]), arrays["counts"])

    def read(asked: list[tuple[int, int, int]]) -> list[Any]:
        return w.read_all(asked, lambda one: w.get_int64(
            s3, target, w.epochs_key(work, numbers[one[0]]), one[1], one[2]))

    histograms = w.read_all([w.hours_key(work, n) for n in numbers], histogram)
    value = scale_out.global_cut(histograms, read, TrainSettings().evaluation.test_fraction)
    return {"cut": value, "rows_valid": rows,
            "sample_fraction": scale_out.sample_fraction(
                rows, footprint.sample_rows(memory_mb)),
            "counts_fraction": scale_out.sample_fraction(sum(b["contacts"] for b in buckets),
                                                         footprint.MAX_ARCHETYPE_CONTACTS)}


@step_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    memory = int(getattr(context, "memory_limit_in_mb", 0) or 4096)
    return cut(client("s3"), PipelineSettings.from_env(), read_field(event, "work_prefix", str),
               memory)
