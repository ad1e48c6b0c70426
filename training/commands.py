"""The training room's `calltime` subcommands: `generate` (a demo call log) and `train`."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from training.call_log import InvalidCallLog
from training.populations import POPULATIONS


def positive(kind: type) -> object:
    """An argparse type: a `kind` number greater than 0, refused by name otherwise."""
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'a whole number' if kind is int else 'a number'}") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be a number greater than 0")
        return value

    return parse


def _generate(args: argparse.Namespace) -> int:
    from training.simulate import SimulationConfig, write

    config = SimulationConfig(n_contacts=args.contacts, calls_per_contact=args.calls_per_contact,
                              weeks=args.weeks, seed=args.seed, population=args.population)
    calls, truth = write(config, Path(args.out), args.parts, args.format)
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


def add_generate(gen: argparse.ArgumentParser) -> None:
    gen.add_argument("--out", required=True, help="directory for calls.csv and truth.csv.gz")
    gen.add_argument("--contacts", type=positive(int), default=5000)
    gen.add_argument("--calls-per-contact", type=positive(float), default=30.0)
    gen.add_argument("--weeks", type=positive(int), default=12)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--population", choices=sorted(POPULATIONS), default="office",
                     help="the generator setting: zones, behaviour groups, history depths")
    gen.add_argument("--parts", type=positive(int), default=1,
                     help="split the log into this many files by call time (calls/part-N)")
    gen.add_argument("--format", choices=("csv", "parquet"), default="csv",
                     help="the log's file format")
    gen.set_defaults(func=_generate)


def add_train(tr: argparse.ArgumentParser) -> None:
    tr.add_argument("--calls", required=True, help="call log, CSV or Parquet")
    tr.add_argument("--out", required=True, help="output directory")
    tr.add_argument("--truth", help="ground truth (truth.csv.gz from generate) for capture")
    tr.add_argument("--default-timezone", default="Asia/Jerusalem")
    tr.add_argument("--min-valid-rows", type=positive(int), default=500)
    tr.add_argument("--version", help="model version (default: UTC time + random suffix)")
    tr.set_defaults(func=_train)
