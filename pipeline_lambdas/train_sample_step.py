"""TrainOnSample: the end of a scale-out run, with the Train step's output.

The global parameters are fitted from every bucket's counts; the contacts one function can
train on (all of them when they fit its memory, else GlobalCut's whole-contact sample, which
CountBucket wrote) are read, evaluated, fitted and packaged by the single path's own tail
(`training.train.fit_and_package`), with the live model scored on the same holdout. The outputs
are staged as Train stages them, and the run's work area is removed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline_lambdas import work_area as w
from pipeline_lambdas.clients import client
from pipeline_lambdas.contract import staging_prefix
from pipeline_lambdas.events import model_version, read_field
from pipeline_lambdas.live_model import fetch, live_artifact_uri
from pipeline_lambdas.observability import step_handler
from pipeline_lambdas.settings import PipelineSettings
from pipeline_lambdas.train_step import TrainOutput
from training import scale_out
from training.outputs import REJECTS_FILE
from training.train import TrainSettings, fit_and_package

REJECT_COLUMNS = ("source_file", "source_row", "reject_reason")  # of a run without rejects


def _counts(arrays: Any, label: str) -> scale_out.ContactCounts:
    rows, answered = (int(v) for v in arrays[f"{label}_totals"])
    return scale_out.ContactCounts(arrays[f"{label}_ids"].astype(object),
                                   arrays[f"{label}_calls"].astype(np.float64),
                                   arrays[f"{label}_answers"].astype(np.float64),
                                   arrays[f"{label}_zones"].astype(object), rows, answered)


def train_on_sample(s3, settings: PipelineSettings, data_uri: str, work: str,
                    cut: dict[str, Any], version: str, sagemaker=None) -> TrainOutput:
    target = settings.models_bucket
    train_settings = TrainSettings(gate_tolerance=settings.quality_gate_tolerance)
    parts, buckets = (w.read_all(w.keys(s3, target, f"{work}summaries/{kind}="),
                                 lambda key: w.get_json(s3, target, key))
                      for kind in ("part", "bucket"))
    data = scale_out.data_summary(parts, buckets)
    # Every rejected row, kept: one rejects.csv streamed from the parts' and buckets' files.
    w.concatenate_csv(s3, target, w.keys(s3, target, f"{work}rejects/"),
                      staging_prefix(version) + REJECTS_FILE, REJECT_COLUMNS)
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(tmp) / "out"
        out_dir.mkdir()
        scale_out.check_trainable(data, sum(b["answered"] for b in buckets),
                                  train_settings.min_valid_rows, data_uri)
        counts = w.read_all(w.keys(s3, target, f"{work}counts/"),
                            lambda key: dict(w.get_arrays(s3, target, key)))
        params = scale_out.global_params(float(cut["cut"]),
                                         [_counts(c, "before") for c in counts],
                                         [_counts(c, "every") for c in counts])
        del counts
        rows = pd.concat(w.read_all(w.keys(s3, target, f"{work}sample/"),
                                    lambda key: w.get_frame(s3, target, key)),
                         ignore_index=True)
        data = scale_out.with_sample(data, float(cut["sample_fraction"]), len(rows))
        live_uri = live_artifact_uri(sagemaker, settings.endpoint_name) if sagemaker else None
        live_dir = fetch(s3, live_uri, Path(tmp) / "live") if live_uri else None
        result = fit_and_package(rows, data, out_dir, train_settings, version=version,
                                 baseline_model_dir=live_dir, global_params=params)
        out = TrainOutput.staged(s3, settings, version, data_uri, len(parts), result, out_dir,
                                 already_staged=(REJECTS_FILE,))
    w.remove(s3, target, work)
    return out


@step_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = PipelineSettings.from_env()
    out = train_on_sample(client("s3"), settings,
                          read_field(event, "data_uri", str, "") or settings.default_data_uri,
                          read_field(event, "work_prefix", str),
                          read_field(event, "cut", dict), model_version(event),
                          sagemaker=client("sagemaker"))
    return out.to_dict()
