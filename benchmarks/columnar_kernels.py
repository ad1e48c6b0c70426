r"""The partition worker's heaviest kernels on one part of a generated log: pyarrow compute (what
the workers use) against polars (not a dependency; measured to choose).

    pip install --target /tmp/polars polars
    PYTHONPATH=/tmp/polars python -m benchmarks.columnar_kernels \
        out/bench/data/demo-100000-contacts-seed-7/calls

Without polars importable it times pyarrow alone. Best of 7 runs, milliseconds.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from training.call_log import _ISO_WITH_OFFSET

ISO = _ISO_WITH_OFFSET.replace(r"\d", "[0-9]")
CANONICAL = "%Y-%m-%dT%H:%M:%SZ"
TEXT = ("contact_id", "called_at", "answered", "duration_seconds", "campaign_id", "timezone")
ZONES = ["America/New_York", "Asia/Dubai", "Asia/Jerusalem", "Europe/London", "Europe/Moscow"]


def best_ms(run: Callable[[], object], times: int = 7) -> float:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        spent.append(time.perf_counter() - started)
    return min(spent) * 1000


def arrow_kernels(part: Path) -> dict[str, Callable[[], object]]:
    table = pq.read_table(part)
    stamp = table.column("called_at")
    return {
        "read the Parquet part": lambda: pq.read_table(part),
        "trim six text columns": lambda: [pc.utf8_trim_whitespace(table.column(c)) for c in TEXT],
        "match the ISO-8601 pattern": lambda: pc.match_substring_regex(stamp, ISO),
        "parse stamps": lambda: pc.strptime(stamp, format=CANONICAL, unit="ns",
                                            error_is_null=True),
        "look zones up": lambda: pc.is_in(table.column("timezone"), value_set=pa.array(ZONES)),
        "distinct contacts": lambda: pc.dictionary_encode(table.column("contact_id")),
    }


def polars_kernels(part: Path) -> dict[str, Callable[[], object]]:
    import polars as pl

    frame = pl.read_parquet(part)
    stamp = pl.col("called_at")
    return {
        "read the Parquet part": lambda: pl.read_parquet(part),
        "trim six text columns": lambda: frame.select([pl.col(c).str.strip_chars()
                                                       for c in TEXT]),
        "match the ISO-8601 pattern": lambda: frame.select(stamp.str.contains(ISO)),
        "parse stamps": lambda: frame.select(stamp.str.strptime(
            pl.Datetime("ns", "UTC"), CANONICAL, strict=False)),
        "look zones up": lambda: frame.select(pl.col("timezone").is_in(ZONES)),
        "distinct contacts": lambda: frame.select(pl.col("contact_id").cast(pl.Categorical)),
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not Path(args[0]).is_dir():
        print(__doc__)
        return 2
    part = sorted(Path(args[0]).glob("*.parquet"))[0]
    arrow = arrow_kernels(part)
    try:
        other = polars_kernels(part)
    except ImportError:
        other = {}
    print(f"{pq.ParquetFile(part).metadata.num_rows:,} rows ({part.name})\n")
    print("| kernel | pyarrow ms |" + (" polars ms |" if other else ""))
    print("|---|---|" + ("---|" if other else ""))
    for name, run in arrow.items():
        print(f"| {name} | {best_ms(run):.1f} |"
              + (f" {best_ms(other[name]):.1f} |" if other else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
