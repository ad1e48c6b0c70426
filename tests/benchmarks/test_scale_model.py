"""The AWS projection of `make bench-scale` (benchmarks/scale_model.py): S3 requests counted on
the measured run and scaled by what each step's grow with, priced by billing class."""

from __future__ import annotations

import json
import math

import pytest

from benchmarks import scale_model
from benchmarks.scale import request_classes


def _run(parts: int, buckets: int, rows: int) -> dict:
    """A measured scale-out run shaped as benchmarks/scale.py writes it: each merge worker
    made two GETs per slice object, each partition worker one PUT per slice and one summary."""
    step = {"invocations": 1, "failed": 0, "seconds": 10.0, "peak_mb": 300, "memory_mb": 4096,
            "rows": rows, "rows_per_worker_second": 100_000}
    return {"run": "scale-out", "status": "SUCCEEDED", "rows_read": rows, "files": parts,
            "buckets": buckets, "s3_requests": {"PutObject": 2 * parts + 3 * buckets,
                                                "GetObject": parts + 2 * parts * buckets},
            "steps": {
                "partition": {**step, "s3_requests": {"PutObject": 2 * parts,
                                                      "GetObject": parts}},
                "merge-bucket": {**step, "s3_requests": {"PutObject": 3 * buckets,
                                                         "ListObjectsV2": buckets,
                                                         "GetObject": 2 * parts * buckets}},
                "count-bucket": {**step, "s3_requests": {}},
                "global-cut": {**step, "s3_requests": {}},
                "train-sample": {**step, "s3_requests": {}}}}


def test_requests_are_priced_by_class_and_a_delete_is_free() -> None:
    assert request_classes({"PutObject": 3, "ListObjectsV2": 2, "DeleteObjects": 1,
                            "GetObject": 5, "HeadObject": 1, "DeleteObject": 7}) == (6, 6)


def test_merge_reads_grow_with_slices_times_buckets_and_writes_do_not() -> None:
    measured = _run(parts=10, buckets=8, rows=1_000_000)
    small = scale_model.project(10**8, measured, parts=40, buckets=100)
    large = scale_model.project(10**8, measured, parts=80, buckets=100)
    slices = math.ceil(10**8 / 40 / scale_model.SLICE_ROWS)
    # merge: 2 GETs per (slice object, bucket); partition: 1 GET per part
    assert small["gets"] == pytest.approx(2 * 40 * slices * 100 + 40)
    more_slices = math.ceil(10**8 / 80 / scale_model.SLICE_ROWS)
    assert large["gets"] == pytest.approx(2 * 80 * more_slices * 100 + 80)
    # PUT-class: 2 per slice written; per bucket 3 and a LIST page per 1,000 slice objects
    assert small["puts"] == pytest.approx(2 * 40 * slices + 3 * 100 + 100)
    many = scale_model.project(10**10, measured, parts=2_000, buckets=100)
    assert many["puts"] == pytest.approx(2 * 2_000 * 10 + 3 * 100 + 100 * 20)
    assert small["s3_dollars"] == pytest.approx(round(
        small["puts"] * scale_model.S3_PUT + small["gets"] * scale_model.S3_GET, 2))


def test_scaled_down_to_the_measured_run_it_gives_its_requests_back(capsys, tmp_path) -> None:
    results = tmp_path / "scale_results.json"
    results.write_text(json.dumps([_run(10, 8, 1_000_000)]))
    assert scale_model.main(["--results", str(results)]) == 0
    out = capsys.readouterr().out
    assert "| S3 GET-class requests | 170 | 170 | 1.00 |" in out


def test_without_measurements_it_says_to_run_the_benchmark_first(capsys, tmp_path) -> None:
    with pytest.raises(SystemExit) as exited:
        scale_model.main(["--results", str(tmp_path / "none.json")])
    assert exited.value.code == 2
    assert "run `make bench-scale` first" in capsys.readouterr().err
