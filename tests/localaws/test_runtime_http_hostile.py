"""The local SageMaker Runtime API as a hostile client meets it (raw sockets): every malformed
request is answered in the service's error shape, by name, before any body it would refuse is
read; a slow body times out; nothing it does is a traceback or a hang."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from contextlib import redirect_stderr

import pytest

from localaws.sagemaker.errors import SageMakerError
from localaws.sagemaker.runtime_http import RuntimeAPI

SIGNED = "AWS4-HMAC-SHA256 Credential=x/20261206/us-east-1/sagemaker/aws4_request, " \
         "SignedHeaders=host, Signature=0"
PATH = "/endpoints/calltime-local-optimal-call-time/invocations"


class _NoEndpoints:
    """The local SageMaker with no endpoint: what the HTTP layer forwards is counted."""

    def __init__(self) -> None:
        self.bodies: list[int] = []

    def invoke(self, EndpointName: str, Body: bytes, **_: object) -> dict:
        self.bodies.append(len(Body))
        raise SageMakerError("ValidationError", f"Endpoint {EndpointName} of account "
                             "123456789012 not found.")


@pytest.fixture
def api():
    sagemaker = _NoEndpoints()
    with RuntimeAPI(sagemaker, body_timeout=1.0) as served:
        yield served, sagemaker


def _exchange(api, head: str, body: bytes = b"", wait: float = 5.0) -> tuple[int, dict, bytes]:
    """Send a raw request (head lines, then body); the status, headers and body answered."""
    host, port = api._server.server_address[:2]
    with socket.create_connection((host, port), timeout=wait) as conn:
        conn.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        data = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                top, _, rest = data.partition(b"\r\n\r\n")
                length = next((int(line.split(b":", 1)[1]) for line in top.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                if len(rest) >= length:
                    break
    top, _, rest = data.partition(b"\r\n\r\n")
    lines = top.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in
               (line.split(":", 1) for line in lines[1:] if ":" in line)}
    return int(lines[0].split()[1]), headers, rest


def _post(length: str, extra: str = "", path: str = PATH, method: str = "POST") -> str:
    return (f"{method} {path} HTTP/1.1\nHost: x\nAuthorization: {SIGNED}\n"
            f"Content-Type: application/json\n{extra}Content-Length: {length}\n")


@pytest.mark.parametrize(("length", "status", "said"), [
    ("abc", 400, "Content-Length: 'abc' is not a byte count"),
    ("-1", 400, "Content-Length: '-1' is not a byte count"),
    (str(10**14), 413, "100000000000000 bytes exceeds the 4194304 byte limit"),
    (str(4 * 1024 * 1024 + 1), 413, "4194305 bytes exceeds the 4194304 byte limit"),
])
def test_a_content_length_that_is_no_byte_count_or_too_large_is_refused_before_reading(
        api, length, status, said) -> None:
    served, sagemaker = api
    code, headers, body = _exchange(served, _post(length))
    assert code == status and headers["x-amzn-errortype"] == "ValidationError"
    assert said in json.loads(body)["Message"]
    assert sagemaker.bodies == []


def test_a_body_shorter_than_its_content_length_times_out(api) -> None:
    served, sagemaker = api
    started = time.monotonic()
    code, headers, body = _exchange(served, _post("100"), b'{"features": [1, 19', wait=15)
    assert code == 408 and headers["x-amzn-errortype"] == "ValidationError"
    assert "not received within 1 s" in json.loads(body)["Message"]
    # the body timeout's 1 s, with room for a loaded machine; without it, no answer in 15 s
    assert time.monotonic() - started < 10 and sagemaker.bodies == []


def test_path_and_signature_are_checked_before_any_body_is_read(api) -> None:
    """Fifty megabytes announced to /nope or unsigned are answered at once, unread."""
    served, _ = api
    big = str(50 * 1024 * 1024)
    code, headers, _ = _exchange(served, _post(big, path="/nope"), wait=3)
    assert (code, headers["x-amzn-errortype"]) == (404, "UnknownOperationException")
    unsigned = f"POST {PATH} HTTP/1.1\nHost: x\nContent-Length: {big}\n"
    code, headers, _ = _exchange(served, unsigned, wait=3)
    assert (code, headers["x-amzn-errortype"]) == (403, "MissingAuthenticationTokenException")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "OPTIONS", "PATCH", "HEAD", "GET"])
def test_other_methods_are_answered_in_the_services_error_shape(api, method) -> None:
    served, _ = api
    code, headers, body = _exchange(served, f"{method} {PATH} HTTP/1.1\nHost: x\n"
                                            "Content-Length: 0\n")
    assert code == 404 and headers["x-amzn-errortype"] == "UnknownOperationException"
    assert headers["content-type"] == "application/json"
    if method != "HEAD":
        assert "POST /endpoints/{EndpointName}/invocations" in json.loads(body)["Message"]


def test_a_client_that_goes_away_leaves_no_traceback(api) -> None:
    served, _ = api
    host, port = served._server.server_address[:2]
    errors = io.StringIO()
    with redirect_stderr(errors):
        for _ in range(5):
            conn = socket.create_connection((host, port))
            conn.sendall(_post("100").replace("\n", "\r\n").encode() + b"\r\n{")
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, bytes([1, 0, 0, 0, 0, 0, 0, 0]))
            conn.close()  # reset before the answer
        time.sleep(1.5)
    assert "Traceback" not in errors.getvalue()
    assert threading.active_count() < 50
