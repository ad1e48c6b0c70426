"""A call's deadline bounds everything it holds: a request that hangs releases its concurrency
slot at the deadline, its read does not outlive it, and the process exits when the caller is
done, however long the endpoint stays silent."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from calltime_client import CampaignClient, DeadlineExceeded, SlotFeatures

ROOT = Path(__file__).resolve().parents[2]


class _FirstHangs(BaseHTTPRequestHandler):
    """The SageMaker Runtime's InvokeEndpoint, whose first request is never answered."""

    protocol_version = "HTTP/1.1"
    seen = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with _FirstHangs.lock:
            _FirstHangs.seen += 1
            first = _FirstHangs.seen == 1
        if first:
            self.server.hung.wait()  # silent until the test ends
            return
        rows = 1
        body = json.dumps({"predictions": [0.5] * rows}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def hanging_endpoint(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    _FirstHangs.seen = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FirstHangs)
    server.hung = threading.Event()
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.hung.set()
    server.shutdown()


def test_a_hung_request_gives_its_slot_back_at_the_deadline(hanging_endpoint) -> None:
    client = CampaignClient("e", region="us-east-1", endpoint_url=hanging_endpoint,
                            concurrency=1, deadline_seconds=2)
    row = [SlotFeatures(1, 19, 0.4)]
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        client.answer_probabilities(row)
    assert time.monotonic() - started < 4  # the deadline, not the SDK's read timeout
    # The only slot is free again: the next call connects and is answered.
    assert client.answer_probabilities(row) == [0.5]
    assert _FirstHangs.seen == 2


def test_the_process_exits_when_the_caller_is_done_though_a_request_still_hangs(
        hanging_endpoint) -> None:
    script = ("import sys, time\n"
              "from calltime_client import CampaignClient, DeadlineExceeded, SlotFeatures\n"
              f"c = CampaignClient('e', region='us-east-1', endpoint_url='{hanging_endpoint}',"
              " concurrency=1, deadline_seconds=1)\n"
              "try:\n    c.answer_probabilities([SlotFeatures(1, 19, 0.4)])\n"
              "except DeadlineExceeded:\n    print('deadline', flush=True)\n")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env={"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                                           "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == "deadline", done.stderr[-2000:]
    assert time.monotonic() - started < 15  # not the SDK's 70 s read timeout


@pytest.mark.parametrize("deadline", [float("inf"), 1e12, float("nan"), 0, -1])
def test_a_deadline_that_is_no_number_of_seconds_is_refused_by_name(deadline) -> None:
    with pytest.raises(ValueError, match="deadline_seconds"):
        CampaignClient("e", region="us-east-1", runtime=object(), deadline_seconds=deadline)
    client = CampaignClient("e", region="us-east-1", runtime=object())
    with pytest.raises(ValueError, match="deadline_seconds"):
        client.answer_probabilities([SlotFeatures(1, 19, 0.4)], deadline_seconds=deadline)
