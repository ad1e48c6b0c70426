"""The local runtime's `calltime` subcommands: `serve` and `invoke` a model as the SageMaker
container and runtime would, and `local run` any state machine definition on the emulator.

    calltime local run --definition sm.json --lambdas lambdas.json --input '{"x": 1}' \\
        [--export DIR] [--silent-update-failures]

`lambdas.json` maps Lambda ARNs (or function names) in the definition to handler import paths,
e.g. {"arn:aws:lambda:us-east-1:123456789012:function:train": "pipeline_lambdas.train:handler"}.
Each state is printed as it is entered and left, with its output.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import socket
import sys
from pathlib import Path

MODEL_DIR_PREFIX = "calltime-model-"  # `calltime serve`'s extraction, without --model-dir


def _serve(args: argparse.Namespace) -> int:
    import os

    from inference_code.artifact_layout import CODE_DIR, ENTRY_POINT
    from localaws import scratch
    from training.artifact import extract

    # A temporary extraction is the server's to remove when it stops (or the next serve's,
    # should it be killed outright: localaws/scratch.py).
    # Listen first (port 0: any free one), then hand the socket to the server: the port shown
    # is the one it serves, with no window in which another process could take it.
    listening = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((args.host, args.port))
        listening.listen(2048)
    except OSError as err:
        listening.close()
        print(f"calltime serve: cannot listen on {args.host}:{args.port}: {err.strerror}",
              file=sys.stderr)
        return 2
    os.set_inheritable(listening.fileno(), True)
    port = listening.getsockname()[1]
    model_dir = Path(args.model_dir) if args.model_dir else scratch.make(MODEL_DIR_PREFIX)
    try:
        extract(Path(args.model), model_dir)
    except BaseException:
        listening.close()
        if not args.model_dir:  # ours: an artifact that cannot be served leaves nothing behind
            shutil.rmtree(model_dir, ignore_errors=True)
        raise
    env = {**os.environ, "SAGEMAKER_PROGRAM": ENTRY_POINT,
           "SAGEMAKER_SUBMIT_DIRECTORY": str(model_dir / CODE_DIR)}
    command = [sys.executable, "-m", "localaws.model_server", "--model-dir", str(model_dir),
               "--listen-fd", str(listening.fileno())]
    if args.workers:
        command += ["--workers", str(args.workers)]
    if not args.model_dir:
        command += ["--remove-model-dir"]
    print(f"serving {args.model} from {model_dir} on http://{args.host}:{port}",
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


def _json(path: str, text: str, what: str) -> object:
    """A file's JSON; JSONDecodeError naming the file and what it should hold."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise json.JSONDecodeError(f"{path} is not JSON ({what}): {err.msg}", err.doc,
                                   err.pos) from err


def _run(args: argparse.Namespace) -> int:
    from localaws.progress import Progress
    from localaws.runtime import LocalAWS

    # moto's interpreter logs every failed state with its parse tree; the lines above say it.
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    definition = Path(args.definition).read_text()
    _json(args.definition, definition, "an ASL state machine definition")
    lambdas = _json(args.lambdas, Path(args.lambdas).read_text(), "a map of Lambda ARNs to "
                    "handlers") if args.lambdas else {}
    execution_input = json.loads(args.input)
    with LocalAWS(region=args.region,
                  silent_update_failures=args.silent_update_failures) as aws:
        arn = aws.deploy_state_machine(args.name, definition, lambdas)
        result = aws.run_execution(arn, execution_input, timeout=args.timeout,
                                   on_event=Progress(definition, whole_outputs=True))
        if args.export:
            aws.export(Path(args.export))
    print(json.dumps({"status": result.status, "output": result.output, "error": result.error,
                      "cause": result.cause}, indent=2))
    return 0 if result.status == "SUCCEEDED" else 1


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0 (any free one) to 65535, refused by name otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: a port is 0 (any free one) to 65535")
    return value


def add_serve(sv: argparse.ArgumentParser) -> None:
    sv.add_argument("--model", required=True, help="path to model.tar.gz")
    sv.add_argument("--port", type=port_number, default=8080,
                    help="0: any free port (the one chosen is printed: 'serving ... on "
                    "http://host:port')")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--workers", type=int, help="gunicorn workers (default: CPU count)")
    sv.add_argument("--model-dir", help="where to extract (default: a new temporary directory)")
    sv.set_defaults(func=_serve)


def add_invoke(inv: argparse.ArgumentParser) -> None:
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


def add_run(runner: argparse.ArgumentParser) -> None:
    runner.add_argument("--definition", required=True, help="ASL JSON file")
    runner.add_argument("--lambdas", help="JSON file: Lambda ARN or name -> module:function")
    runner.add_argument("--input", default="{}", help="execution input (JSON)")
    runner.add_argument("--name", default="local")
    runner.add_argument("--region", default="us-east-1")
    runner.add_argument("--timeout", type=float, default=900.0)
    runner.add_argument("--export", help="write S3, SageMaker and execution state here")
    runner.add_argument("--silent-update-failures", action="store_true",
                        help="failed endpoint updates roll back without a FailureReason")
    runner.set_defaults(func=_run)
