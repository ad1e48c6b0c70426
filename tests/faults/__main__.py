"""`make faults`: run the fault matrix (tests/faults/matrix.py) on one local account, print the
table (step x fault -> how the run ended, and whether every check held) and each red cell's
problems; write the table and the results to <out>/faults/, and the results of every cell run
into tests/faults/last_run.json (committed: docs/local-runtime.md's table shows them, and a test
checks that it shows them as recorded).

    python -m tests.faults [--out out] [--cells Train-memory,Deploy-throttled,...]

Exit 0 only when every cell run is green.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from pathlib import Path

from local_pipeline.pipeline import LOCAL_ENVIRONMENT, demo_data, synthesize
from localaws.runtime import LocalAWS
from tests.faults.matrix import (
    INVOCATION_TIMEOUT,
    CellResult,
    FaultAccount,
    every_cell,
    json_results,
    run_cell,
    table,
)

CONTACTS = 400  # a small log: each cell trains on it once
LAST_RUN = Path(__file__).resolve().parent / "last_run.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults")
    parser.add_argument("--out", default="out")
    parser.add_argument("--cells", help="comma-separated cell names (default: every cell)")
    args = parser.parse_args(argv)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    cells = every_cell()
    if args.cells:
        wanted = args.cells.split(",")
        unknown = set(wanted) - {c.name for c in cells}
        if unknown:
            parser.error(f"unknown cells: {', '.join(sorted(unknown))}")
        cells = [c for c in cells if c.name in wanted]
    out = Path(args.out) / "faults"
    out.mkdir(parents=True, exist_ok=True)
    results = run_all(out, cells)
    (out / "table.md").write_text(table(results) + "\n")
    (out / "results.json").write_text(json_results(results) + "\n")
    record_last_run(results)
    print("\n" + table(results))
    red = [r for r in results.values() if not r.green]
    for result in red:
        print(f"\n❌ {result.cell.name} ({result.end}):\n  - " + "\n  - ".join(result.problems))
    print(f"\n{len(results) - len(red)}/{len(results)} cells green; table and results in {out}")
    return 1 if red else 0


def record_last_run(results: dict[str, CellResult]) -> None:
    """Each cell's last result, kept with the repository (earlier ones of cells not run
    now stay), with when and on which commit it was run."""
    import datetime as dt
    import json
    import subprocess

    try:
        saved = json.loads(LAST_RUN.read_text()) if LAST_RUN.is_file() else {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        print(f"{LAST_RUN}: damaged ({err}); recording only this run's cells", file=sys.stderr)
        saved = {}
    if not isinstance(saved, dict):
        saved = {}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    for name, result in results.items():
        saved[name] = {"end": result.end, "problems": result.problems,
                       "seconds": result.seconds, "run": f"{when} at {commit}"}
    LAST_RUN.write_text(json.dumps(dict(sorted(saved.items())), indent=1) + "\n")


def run_all(out: Path, cells: list) -> dict[str, CellResult]:
    template, stack_name, region = synthesize(out, "local")
    calls = demo_data(out.parent, CONTACTS, 7)
    results: dict[str, CellResult] = {}
    with LocalAWS(region=region, lambda_log_dir=out / "logs",
                  invocation_timeout=INVOCATION_TIMEOUT) as aws:
        stack, arn = aws.deploy_stack(template, stack_name, LOCAL_ENVIRONMENT)
        account = FaultAccount(aws, stack, arn, calls)
        started = time.monotonic()
        for index, cell in enumerate(cells, 1):
            result = run_cell(account, cell)
            results[cell.name] = result
            mark = "✅" if result.green else "❌"
            print(f"[{index}/{len(cells)} {time.monotonic() - started:5.0f} s] {mark} "
                  f"{cell.name}: {result.end} in {result.seconds} s"
                  + ("" if result.green else f" — {result.problems[0]}"), flush=True)
    return results


if __name__ == "__main__":
    sys.exit(main())
