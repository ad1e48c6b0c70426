"""The local SageMaker Runtime API over HTTP on loopback: what any AWS SDK or the AWS CLI calls
with an endpoint URL override (`--endpoint-url`, `endpoint:` in the JavaScript SDK).

The wire protocol is the service's own (rest-json, botocore's and the JavaScript SDK's model of
`sagemaker-runtime` 2017-05-13):
- `POST /endpoints/{EndpointName}/invocations`, the body as it is, `Content-Type`, `Accept` and
  `X-Amzn-SageMaker-Custom-Attributes` headers; the answer's body as the container gave it, its
  `Content-Type` and `x-Amzn-Invoked-Production-Variant`.
- Errors as the service sends them: the status (ValidationError 400, ModelError 424,
  ModelNotReadyException 429, InternalFailure 500, ServiceUnavailable 503, and the common
  ThrottlingException 400), `x-amzn-ErrorType: <code>` and a JSON body with `Message` and the
  error's members (ModelError: OriginalStatusCode, OriginalMessage, LogStreamArn), which the
  SDKs turn into their typed exceptions.
- A request without a SigV4 `Authorization` header is refused (403
  MissingAuthenticationTokenException), as AWS refuses it. Signatures are not verified: the
  callers are the campaign's own code, not the pipeline's roles the local IAM decides for.
- What a hostile client sends is answered by name before any body is read: the path and the
  signature first, then a `Content-Length` that is no byte count (400) or over the serverless
  4 MB limit (413, the service's ValidationError shape); a body that does not arrive within
  `body_timeout` is 408 (as the model server's front does); any other method is the service's
  UnknownOperationException, not an HTML page; a client that goes away is no traceback.

Each request runs `LocalSageMaker.invoke`: the same endpoint lifecycle, cold start, concurrency
limit and payload limit the pipeline's own InvokeEndpoint calls meet.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from localaws.sagemaker.api import SERVERLESS_PAYLOAD_LIMIT, LocalSageMaker
from localaws.sagemaker.errors import SageMakerError

INVOCATIONS = "/invocations"
PREFIX = "/endpoints/"
BODY_TIMEOUT = 10.0  # seconds for a body to arrive (the model server's front: the same)
ONLY = "the local SageMaker Runtime serves POST /endpoints/{EndpointName}/invocations only"
_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


def error_response(err: SageMakerError) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of an error as SageMaker Runtime sends it."""
    body = {"Message": err.message, **err.extra}
    if err.code == "ModelError":
        status = err.extra.get("OriginalStatusCode", 0)
        body["ErrorCode"] = "CLIENT_ERROR_FROM_MODEL" if 400 <= status < 500 \
            else "SERVER_ERROR_FROM_MODEL"
    return err.status, {"x-amzn-ErrorType": err.code, "Content-Type": "application/json"}, \
        json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs' connection pools expect
    server: _Server

    def _refuse(self, code: str, message: str, status: int, keep_open: bool = False) -> None:
        if not keep_open:  # a body left unread: the connection cannot carry another request
            self.close_connection = True
        self._send(*error_response(SageMakerError(code, message, status=status)))

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if not (path.startswith(PREFIX) and path.endswith(INVOCATIONS)):
            self._refuse("UnknownOperationException", f"POST {path[:200]}: {ONLY}", 404)
            return
        if not self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256"):
            self._refuse("MissingAuthenticationTokenException", "Missing Authentication Token",
                         403)
            return
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._refuse("ValidationError", "Content-Length is required (this local API reads "
                         "no chunked bodies)", 411)
            return
        body = self._body()
        if body is None:
            return
        name = unquote(path[len(PREFIX):-len(INVOCATIONS)])
        try:
            result = self.server.sagemaker.invoke(
                EndpointName=name, Body=body, ContentType=self.headers.get("Content-Type"),
                Accept=self.headers.get("Accept"))
        except SageMakerError as err:
            self._send(*error_response(err))
            return
        except Exception as err:  # the emulation's own failure, as the service's
            self._refuse("InternalFailure", f"local SageMaker Runtime: {type(err).__name__}: "
                         f"{err}", 500, keep_open=True)
            return
        self._send(200, {"Content-Type": result["ContentType"],
                         "x-Amzn-Invoked-Production-Variant": result["InvokedProductionVariant"]},
                   result["Body"])

    def _body(self) -> bytes | None:
        """The body its Content-Length announces, read only when it is a byte count within
        the limit and only while it keeps arriving; None once a refusal was sent."""
        given = self.headers.get("Content-Length")
        if given is None:
            given = "0"
        if not given.strip().isdigit():
            self._refuse("ValidationError", f"Content-Length: {given[:40]!r} is not a byte "
                         "count", 400)
            return None
        length = int(given)
        if length > SERVERLESS_PAYLOAD_LIMIT:
            self._refuse("ValidationError", f"Request payload of {length} bytes exceeds the "
                         f"{SERVERLESS_PAYLOAD_LIMIT} byte limit of serverless endpoints", 413)
            return None
        self.connection.settimeout(self.server.body_timeout)
        try:
            body = self.rfile.read(length) if length else b""
        except TimeoutError:
            body = None
        finally:
            self.connection.settimeout(None)
        if body is None or len(body) < length:
            self._refuse("ValidationError", f"body: {length} bytes announced, not received "
                         f"within {self.server.body_timeout:g} s", 408)
            return None
        return body

    def _unknown(self) -> None:
        self._refuse("UnknownOperationException", f"{self.command} {self.path[:200]}: {ONLY}",
                     404, keep_open=self.command in ("GET", "HEAD"))

    do_GET = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _unknown

    def do_HEAD(self) -> None:
        self.close_connection = True
        status, headers, body = error_response(SageMakerError(
            "UnknownOperationException", f"HEAD: {ONLY}", status=404))
        self.send_response(status)
        for key, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(key, value)
        self.end_headers()
        self.server.count(status)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        try:
            self.send_response(status)
            for key, value in {**headers, "x-amzn-RequestId": str(uuid.uuid4()),
                               "Content-Length": str(len(body))}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except _GONE:  # the client went away before its answer: nothing to tell it
            self.close_connection = True
        self.server.count(status)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the counts below say what was answered; the endpoint's log says the rest


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], sagemaker: LocalSageMaker,
                 body_timeout: float = BODY_TIMEOUT) -> None:
        super().__init__(address, _Handler)
        self.sagemaker, self.body_timeout = sagemaker, body_timeout
        self.statuses: dict[int, int] = {}
        self.lock = threading.Lock()

    def count(self, status: int) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (or a timeout on its socket) is no traceback; anything
        else is the emulation's own failure and is printed as socketserver does."""
        import sys

        if isinstance(sys.exc_info()[1], (*_GONE, TimeoutError)):
            return
        super().handle_error(request, client_address)


class RuntimeAPI:
    """`with RuntimeAPI(aws.sagemaker) as api: ... api.url ...`: serves until the block ends."""

    def __init__(self, sagemaker: LocalSageMaker, host: str = "127.0.0.1", port: int = 0,
                 body_timeout: float = BODY_TIMEOUT) -> None:
        self._server = _Server((host, port), sagemaker, body_timeout)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="sagemaker-runtime-http", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def statuses(self) -> dict[int, int]:
        """How many answers of each HTTP status were sent."""
        with self._server.lock:
            return dict(self._server.statuses)

    def __enter__(self) -> RuntimeAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
