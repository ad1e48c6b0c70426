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


def _serve(args: argparse.Namespace) -> int:
    import os
    import tempfile

    from training.artifact import extract

    model_dir = Path(args.model_dir or tempfile.mkdtemp(prefix="calltime-model-"))
    extract(Path(args.model), model_dir)
    env = {**os.environ, "SAGEMAKER_PROGRAM": "inference.py",
           "SAGEMAKER_SUBMIT_DIRECTORY": str(model_dir / "code")}
    command = [sys.executable, "-m", "localaws.model_server", "--model-dir", str(model_dir),
               "--host", args.host, "--port", str(args.port)]
    if args.workers:
        command += ["--workers", str(args.workers)]
    print(f"serving {args.model} from {model_dir} on http://{args.host}:{args.port}",
          file=sys.stderr, flush=True)
    os.execve(sys.executable, command, env)  # the server replaces this process (Ctrl-C stops it)
    return 0  # pragma: no cover


def _invoke(args: argparse.Namespace) -> int:
    import urllib.error
    import urllib.request

    body = Path(args.file).read_bytes() if args.file else args.body.encode()
    if args.endpoint:
        return _invoke_local_endpoint(args, body)
    request = urllib.request.Request(f"{args.url.rstrip('/')}/invocations", data=body,
                                     method="POST", headers={"Content-Type": args.content_type,
                                                             "Accept": args.accept})
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:
            print(response.read().decode())
            return 0
    except urllib.error.HTTPError as err:
        print(f"HTTP {err.code}: {err.read().decode()}", file=sys.stderr)
        return 1


def _invoke_local_endpoint(args: argparse.Namespace, body: bytes) -> int:
    """InvokeEndpoint on the local account `make pipeline` left (cold start included)."""
    import boto3

    from localaws.runtime import LocalAWS, saved_region

    state = Path(args.local_state)
    region = saved_region(state)
    if region is None:
        raise FileNotFoundError(f"no local account in {state} (run `make pipeline` first)")
    with LocalAWS(region=region) as aws:
        aws.load_state(state)
        runtime = boto3.client("sagemaker-runtime")
        try:
            response = runtime.invoke_endpoint(EndpointName=args.endpoint, Body=body,
                                               ContentType=args.content_type,
                                               Accept=args.accept)
        except runtime.exceptions.ModelError as err:
            print(f"HTTP {err.response.get('OriginalStatusCode')}: "
                  f"{err.response.get('OriginalMessage')}", file=sys.stderr)
            return 1
        print(response["Body"].read().decode())
    return 0


def positive(kind: type) -> object:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {kind.__name__}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="calltime", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write a synthetic call log with known ground truth")
    gen.add_argument("--out", required=True, help="directory for calls.csv and truth.csv.gz")
    gen.add_argument("--contacts", type=positive(int), default=5000)
    gen.add_argument("--calls-per-contact", type=positive(float), default=30.0)
    gen.add_argument("--weeks", type=positive(int), default=12)
    gen.add_argument("--seed", type=int, default=7)
    gen.set_defaults(func=_generate)

    tr = sub.add_parser("train", help="validate a call log, train, evaluate and package")
    tr.add_argument("--calls", required=True, help="call log, CSV or Parquet")
    tr.add_argument("--out", required=True, help="output directory")
    tr.add_argument("--truth", help="ground truth (truth.csv.gz from generate) for capture")
    tr.add_argument("--default-timezone", default="Asia/Jerusalem")
    tr.add_argument("--min-valid-rows", type=positive(int), default=500)
    tr.add_argument("--version", help="model version (default: UTC time + random suffix)")
    tr.set_defaults(func=_train)

    sv = sub.add_parser("serve", help="serve model.tar.gz as the SageMaker container would")
    sv.add_argument("--model", required=True, help="path to model.tar.gz")
    sv.add_argument("--port", type=int, default=8080)
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--workers", type=int, help="gunicorn workers (default: CPU count)")
    sv.add_argument("--model-dir", help="where to extract (default: a new temporary directory)")
    sv.set_defaults(func=_serve)

    inv = sub.add_parser("invoke", help="POST a request to a running model server, or to the "
                                        "local endpoint `make pipeline` deployed")
    inv.add_argument("--url", default="http://127.0.0.1:8080")
    inv.add_argument("--endpoint", help="a local SageMaker endpoint name (with --local-state)")
    inv.add_argument("--local-state", default="out/local-aws",
                     help="the local account `make pipeline` saved (default: out/local-aws)")
    group = inv.add_mutually_exclusive_group(required=True)
    group.add_argument("--body", help="request body")
    group.add_argument("--file", help="file with the request body")
    inv.add_argument("--content-type", default="application/json")
    inv.add_argument("--accept", default="application/json")
    inv.add_argument("--timeout", type=float, default=30.0)
    inv.set_defaults(func=_invoke)

    from localaws.cli import add_parser as add_local

    add_local(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    import tarfile
    import urllib.error

    from botocore.exceptions import ClientError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (OSError, urllib.error.URLError, tarfile.TarError, json.JSONDecodeError,
            ClientError) as err:
        # A missing file, an unreachable server, a broken artifact: say which, no traceback.
        reason = getattr(err, "reason", None) or err
        print(f"calltime {args.command}: error: {reason}", file=sys.stderr)
        return 2
