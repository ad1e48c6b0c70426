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

from localaws.sagemaker.api import LocalSageMaker
from localaws.sagemaker.errors import SageMakerError

INVOCATIONS = "/invocations"
PREFIX = "/endpoints/"


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

    def do_POST(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True  # its body is not read: the connection cannot go on
            self._send(*error_response(SageMakerError(
                "ValidationError", "Content-Length is required (this local API reads no "
                "chunked bodies)", status=411)))
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        if not (path.startswith(PREFIX) and path.endswith(INVOCATIONS)):
            self._send(*error_response(SageMakerError(
                "UnknownOperationException", f"POST {path}: the local SageMaker Runtime "
                "serves POST /endpoints/{EndpointName}/invocations only", status=404)))
            return
        if not self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256"):
            self._send(*error_response(SageMakerError(
                "MissingAuthenticationTokenException", "Missing Authentication Token",
                status=403)))
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
            self._send(*error_response(SageMakerError(
                "InternalFailure", f"local SageMaker Runtime: {type(err).__name__}: {err}",
                status=500)))
            return
        self._send(200, {"Content-Type": result["ContentType"],
                         "x-Amzn-Invoked-Production-Variant": result["InvokedProductionVariant"]},
                   result["Body"])

    def do_GET(self) -> None:
        self._send(*error_response(SageMakerError(
            "UnknownOperationException", "the local SageMaker Runtime serves POST "
            "/endpoints/{EndpointName}/invocations only", status=404)))

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in {**headers, "x-amzn-RequestId": str(uuid.uuid4()),
                           "Content-Length": str(len(body))}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
        self.server.count(status)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the counts below say what was answered; the endpoint's log says the rest


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], sagemaker: LocalSageMaker) -> None:
        super().__init__(address, _Handler)
        self.sagemaker = sagemaker
        self.statuses: dict[int, int] = {}
        self.lock = threading.Lock()

    def count(self, status: int) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1


class RuntimeAPI:
    """`with RuntimeAPI(aws.sagemaker) as api: ... api.url ...`: serves until the block ends."""

    def __init__(self, sagemaker: LocalSageMaker, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), sagemaker)
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
