"""A local model server with the SageMaker scikit-learn container's serving contract.

Serves an extracted model directory (like /opt/ml/model) as the container does: imports
`code/<SAGEMAKER_PROGRAM>` with `code/` on the import path, loads the model with its `model_fn`
in every worker, answers `GET /ping` and `POST /invocations` through input_fn -> predict_fn ->
output_fn, under gunicorn with several workers. What a client can notice matches the container
(sagemaker-containers' worker and transformer):
- `/ping` is answered only by a worker whose model has loaded; until then connections wait.
- Content-Type comes from the `ContentType` or `Content-Type` header, default application/json;
  JSON and CSV bodies reach input_fn as text, other types as bytes.
- A missing Accept or `*/*` becomes SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT (application/json).
- A handler that raises gives HTTP 500; a (body, content type) result gives 200.
Differences: gunicorn's gthread workers instead of gevent, no nginx in front, and a
(body, content type, status) result is honoured here, which is how calltime's handlers send 4xx
when the container's own Response class is not importable.

Run it with `calltime serve --model model.tar.gz`, not directly.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import shutil
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

# Seconds a client has to send its request body (nginx's client_body_timeout is 60 s; a local
# server with a few dozen threads sheds a stalled client sooner).
BODY_TIMEOUT = float(os.environ.get("CALLTIME_BODY_TIMEOUT", "10"))
UTF8_TYPES = ("application/json", "text/csv", "application/jsonlines", "text/plain")
DEFAULT_ACCEPT = "application/json"
STATUS_TEXT = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
               406: "Not Acceptable", 408: "Request Timeout", 413: "Payload Too Large",
               415: "Unsupported Media Type", 500: "Internal Server Error"}


REPOSITORY = Path(__file__).resolve().parents[1]


def hide_repository() -> None:
    """The serving container has the artifact's code/ and its own packages, not this
    repository: drop the editable install's finder and the repository from the import path, so
    a module the artifact fails to ship fails here as it would in SageMaker."""
    sys.meta_path[:] = [finder for finder in sys.meta_path
                        if not getattr(finder, "__module__", "").startswith("__editable__")]
    sys.path[:] = [entry for entry in sys.path
                   if Path(entry or os.getcwd()).resolve() != REPOSITORY]


class ServingApp:
    """The WSGI application one worker runs: the model is loaded when it is created."""

    def __init__(self, model_dir: Path, program: str = "inference.py") -> None:
        code_dir = model_dir / "code"
        hide_repository()
        sys.path.insert(0, str(code_dir))
        self.module = importlib.import_module(Path(program).stem)
        self.model = self.module.model_fn(str(model_dir))
        # Which packages the handlers imported from the artifact's code/ (not from elsewhere).
        shared = sorted(module.__file__ for name, module in list(sys.modules.items())
                        if "." not in name and hasattr(module, "__path__")
                        and str(getattr(module, "__file__", "") or "").startswith(str(code_dir)))
        print(f"worker {os.getpid()}: model loaded by {self.module.__file__}"
              + (f" with {', '.join(shared)}" if shared else ""), file=sys.stderr, flush=True)
        self.default_accept = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT",
                                             DEFAULT_ACCEPT)

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == "/ping":
            return self._reply(start_response, 200, b"", "application/json")
        if path != "/invocations":
            return self._reply(start_response, 404, b"not found", "text/plain")
        if method != "POST":
            return self._reply(start_response, 405, b"use POST", "text/plain")
        return self._invoke(environ, start_response)

    def _invoke(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        content_type = (environ.get("HTTP_CONTENTTYPE") or environ.get("CONTENT_TYPE")
                        or "application/json")
        accept = environ.get("HTTP_ACCEPT")
        if not accept or accept == "*/*":
            accept = self.default_accept
        length = environ.get("CONTENT_LENGTH")
        # A client that sends less than it announced (or trickles it) is shed after
        # BODY_TIMEOUT, as the container's nginx front does (client_body_timeout), instead of
        # holding one of the worker's threads until it gives up.
        connection = environ.get("gunicorn.socket")
        if connection is not None:
            connection.settimeout(BODY_TIMEOUT)
        try:
            # A chunked body has no Content-Length: read to its end (gunicorn de-chunks it).
            raw = environ["wsgi.input"].read(int(length)) if length else \
                environ["wsgi.input"].read()
        except (TimeoutError, OSError):
            # The rest of the body may still come: the connection cannot be reused, so nothing
            # more is read from it and gunicorn closes it once the answer is written.
            if connection is not None:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RD)
            return self._reply(start_response, 408,
                               b'{"error": "ClientError", "message": "body: not received within '
                               + str(BODY_TIMEOUT).encode() + b' s"}', "application/json")
        finally:
            if connection is not None:
                connection.settimeout(None)
        media = content_type.split(";")[0].strip().lower()
        body: bytes | str = raw
        if media in UTF8_TYPES:
            try:
                body = raw.decode("utf-8")
            except UnicodeDecodeError:
                body = raw  # input_fn reports it with the field and byte position
        try:
            data = self.module.input_fn(body, content_type)
            prediction = self.module.predict_fn(data, self.model)
            result = self.module.output_fn(prediction, accept)
        except Exception:  # the container answers 500 for anything a handler raises
            traceback.print_exc(file=sys.stderr)
            return self._reply(start_response, 500, b"Internal Server Error", "text/plain")
        if isinstance(result, tuple) and len(result) == 3:
            payload, mimetype, status = result
        else:
            (payload, mimetype), status = result, 200
        data_bytes = payload.encode() if isinstance(payload, str) else payload
        return self._reply(start_response, int(status), data_bytes, mimetype)

    @staticmethod
    def _reply(start_response: Callable[..., Any], status: int, body: bytes,
               content_type: str) -> list[bytes]:
        start_response(f"{status} {STATUS_TEXT.get(status, 'Status')}",
                       [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]


def watch_parent(parent: int, interval: float = 0.2) -> None:
    """Stop this server (SIGTERM to itself: gunicorn's graceful stop) once the process that
    started it is gone, however it went (SIGKILL included: nothing of it runs to say so)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def run(model_dir: Path, host: str, port: int, workers: int, threads: int,
        timeout: int, parent: int | None = None, remove_model_dir: bool = False,
        listen_fd: int | None = None) -> None:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"fd://{listen_fd}" if listen_fd is not None
                         else f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("timeout", timeout)
            # Stopped (a retired server: its endpoint was updated or deleted), requests still
            # in flight get 2 s, not gunicorn's 30 (the caller waiting on them has been told).
            self.cfg.set("graceful_timeout", 2)
            self.cfg.set("backlog", 2048)
            self.cfg.set("accesslog", None)
            self.cfg.set("loglevel", "warning")
            if parent is not None:  # in the master, once it listens
                self.cfg.set("when_ready", lambda _server: watch_parent(parent))
            if remove_model_dir:  # in the master, when it stops
                self.cfg.set("on_exit", lambda _server: shutil.rmtree(model_dir,
                                                                      ignore_errors=True))

        def load(self) -> ServingApp:  # runs in each worker after fork: each loads the model
            return ServingApp(model_dir, os.environ.get("SAGEMAKER_PROGRAM", "inference.py"))

    Server().run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="serve an extracted model directory")
    parser.add_argument("--model-dir", required=True, type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int,
                        default=int(os.environ.get("SAGEMAKER_MODEL_SERVER_WORKERS",
                                                   os.cpu_count() or 1)))
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--timeout", type=int,
                        default=int(os.environ.get("SAGEMAKER_MODEL_SERVER_TIMEOUT", 60)))
    parser.add_argument("--listen-fd", type=int,
                        help="serve on this inherited, already listening socket (no port race)")
    parser.add_argument("--parent-pid", type=int,
                        help="stop when this process (the one that started the server) is gone")
    parser.add_argument("--remove-model-dir", action="store_true",
                        help="remove --model-dir when the server stops (a temporary extraction)")
    args = parser.parse_args(argv)
    run(args.model_dir, args.host, args.port, args.workers, args.threads, args.timeout,
        args.parent_pid, args.remove_model_dir, args.listen_fd)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
