"""The `calltime` command: generate demo data, train, and (later issues) serve and run locally."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from training.contract import InvalidCallLog


def _generate(args: argparse.Namespace) -> int:
    from training.simulate import SimulationConfig, write

    config = SimulationConfig(n_contacts=args.contacts, calls_per_contact=args.calls_per_contact,
                              weeks=args.weeks, seed=args.seed)
    calls, truth = write(config, Path(args.out))
    print(json.dumps({"calls": str(calls), "truth": str(truth)}, indent=2))
    return 0


def _train(args: argparse.Namespace) -> int:
    import pandas as pd

    from training.train import TrainSettings, train

    truth = pd.read_csv(args.truth) if args.truth else None
    settings = TrainSettings(default_timezone=args.default_timezone,
                             min_valid_rows=args.min_valid_rows)
    try:
        result = train(Path(args.calls), Path(args.out), settings, truth, args.version)
    except InvalidCallLog as err:
        print(f"calltime train: refused: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result.summary(), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="calltime", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write a synthetic call log with known ground truth")
    gen.add_argument("--out", required=True, help="directory for calls.csv and truth.csv.gz")
    gen.add_argument("--contacts", type=int, default=5000)
    gen.add_argument("--calls-per-contact", type=float, default=30.0)
    gen.add_argument("--weeks", type=int, default=12)
    gen.add_argument("--seed", type=int, default=7)
    gen.set_defaults(func=_generate)

    tr = sub.add_parser("train", help="validate a call log, train, evaluate and package")
    tr.add_argument("--calls", required=True, help="call log, CSV or Parquet")
    tr.add_argument("--out", required=True, help="output directory")
    tr.add_argument("--truth", help="ground truth (truth.csv.gz from generate) for capture")
    tr.add_argument("--default-timezone", default="Asia/Jerusalem")
    tr.add_argument("--min-valid-rows", type=int, default=500)
    tr.add_argument("--version", help="model version (default: UTC time + random suffix)")
    tr.set_defaults(func=_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
