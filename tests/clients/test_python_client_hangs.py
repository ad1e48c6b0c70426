"""What the Python client promises, against endpoints that misbehave on purpose (a real HTTP
server speaking SageMaker Runtime's wire protocol): a call's deadline bounds everything it holds
(a request that hangs releases its concurrency slot at the deadline, its read does not outlive
it, the process exits when the caller is done); one `as_of` on every batch and retry; the SDK's
own retries off; one concurrency limit shared by every call of a client."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from calltime_client import CampaignClient, DeadlineExceeded, Limits, SlotFeatures

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


def _serving(monkeypatch: pytest.MonkeyPatch, handler: type, **state) -> ThreadingHTTPServer:
    """A local HTTP server answering with `handler` (its `state` as attributes), started, with
    `url`; the SDK given credentials to sign with."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    for name, value in state.items():
        setattr(server, name, value)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    return server


@pytest.fixture
def hanging_endpoint(monkeypatch: pytest.MonkeyPatch):
    _FirstHangs.seen = 0
    server = _serving(monkeypatch, _FirstHangs, hung=threading.Event())
    yield server.url
    server.hung.set()
    server.shutdown()


def test_a_hung_request_gives_its_slot_back_at_the_deadline(hanging_endpoint) -> None:
    client = CampaignClient("e", region="us-east-1", endpoint_url=hanging_endpoint,
                            concurrency=1, deadline_seconds=2)
    row = [SlotFeatures(1, 19, 0.4)]
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        client.answer_probabilities(row)
    # the deadline (2 s, with room for a loaded machine), not the SDK's 70 s read timeout
    assert time.monotonic() - started < 10
    # The only slot is free again: the next call connects and is answered.
    assert client.answer_probabilities(row) == [0.5]
    assert _FirstHangs.seen == 2


def test_a_request_that_never_got_a_slot_was_not_sent_and_is_not_counted(
        hanging_endpoint) -> None:
    """Two requests, one slot: the first hangs until the deadline, so the second never gets
    the slot and is never sent; stats.requests and the error's attempts count what was sent."""
    client = CampaignClient("e", region="us-east-1", endpoint_url=hanging_endpoint,
                            concurrency=1, deadline_seconds=1, limits=Limits(rows=1))
    with pytest.raises(DeadlineExceeded) as raised:
        client.answer_probabilities([SlotFeatures(1, 19, 0.4), SlotFeatures(2, 9, 0.4)])
    assert _FirstHangs.seen == 1  # what the endpoint received
    assert client.stats.requests == 1
    assert raised.value.attempts == 1


def test_the_process_exits_when_the_caller_is_done_though_a_request_still_hangs(
        hanging_endpoint) -> None:
    script = ("import sys, time\n"
              "from calltime_client import CampaignClient, DeadlineExceeded, Limits, SlotFeatures\n"
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


class _Scripted(BaseHTTPRequestHandler):
    """InvokeEndpoint answered by script: the first `throttle` requests are throttled, `fail`
    answers 503 to every request, `cold` answers ModelNotReadyException (429) to every request,
    as during a cold start that does not end; each answer waits `delay` seconds. Keeps every
    body and the most requests it held at once."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        server = self.server
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        with server.lock:
            server.bodies.append(body)
            server.in_flight += 1
            server.most = max(server.most, server.in_flight)
            throttled = len(server.bodies) <= server.throttle
        time.sleep(server.delay)
        with server.lock:
            server.in_flight -= 1
        if server.fail or server.cold or throttled:
            code, status = ("ServiceUnavailable", 503) if server.fail else \
                ("ModelNotReadyException", 429) if server.cold else ("ThrottlingException", 400)
            answer = json.dumps({"message": code}).encode()
            self.send_response(status)
            self.send_header("x-amzn-ErrorType", code)
        else:
            rows = len(body.get("features", [])) or 0
            answer = json.dumps({"predictions": [0.5] * rows} if rows else {
                "recommendations": [{"contact_id": c["contact_id"], "slots": []}
                                    for c in body["contacts"]]}).encode()
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch):
    server = _serving(monkeypatch, _Scripted, lock=threading.Lock(), bodies=[], in_flight=0,
                      most=0, throttle=0, fail=False, cold=False, delay=0.0)
    yield server
    server.shutdown()


def _backoff_now():
    from calltime_client import Backoff

    return Backoff(base=0.01, cap=0.05)


def test_one_as_of_goes_with_every_batch_and_every_retry_when_none_is_given(scripted) -> None:
    from calltime_client import Call, Contact, Limits

    scripted.throttle = 1  # the first request is throttled and sent again
    client = CampaignClient("e", region="us-east-1", endpoint_url=scripted.url,
                            limits=Limits(contacts=100), backoff=_backoff_now())
    contacts = [Contact(f"c-{i}", history=[Call("2026-06-01T10:00:00Z", True, 3.0)])
                for i in range(150)]
    client.recommend(contacts)
    assert len(scripted.bodies) == 3 and client.stats.retries == 1  # 2 batches, 1 retry
    stamps = {body.get("as_of") for body in scripted.bodies}
    assert len(stamps) == 1 and None not in stamps  # fixed once for the call, and sent
    sent = dt.datetime.fromisoformat(stamps.pop())
    assert abs((dt.datetime.now(dt.UTC) - sent).total_seconds()) < 3600  # now, by default


def test_the_sdks_own_retries_are_off_so_each_attempt_is_counted_once(scripted) -> None:
    scripted.fail = True  # 503 every time: the client retries until its deadline
    client = CampaignClient("e", region="us-east-1", endpoint_url=scripted.url,
                            deadline_seconds=1, backoff=_backoff_now())
    with pytest.raises(DeadlineExceeded, match=r"after \d+ attempt"):
        client.answer_probabilities([SlotFeatures(1, 19, 0.4)])
    # not 3-5 times as many (the last may be cut at the deadline before its body arrived)
    assert client.stats.requests - 1 <= len(scripted.bodies) <= client.stats.requests > 1
    # each 503 counted as such (the last request may be cut by the deadline before its answer)
    assert client.stats.requests - 1 <= client.stats.unavailable <= client.stats.requests


def test_the_defaults_are_the_readmes(scripted) -> None:
    """README: concurrency 4 and a 60 s deadline by default; per request at most 100 contacts
    and 30,000 history calls, as the endpoint enforces."""
    from calltime_client import Call, Contact, Limits

    from inference_code.request_parsing import MAX_CALLS, MAX_CONTACTS

    client = CampaignClient("e", region="us-east-1", endpoint_url=scripted.url)
    assert client.deadline_seconds == 60
    calls = [Call("2026-06-01T10:00:00Z", True, 3.0)] * 1_000
    client.recommend([Contact(f"c-{i}") for i in range(250)])  # 100 + 100 + 50
    assert sorted(len(b["contacts"]) for b in scripted.bodies) == [50, 100, 100]  # concurrent
    scripted.bodies.clear()
    client.recommend([Contact(f"c-{i}", history=calls) for i in range(31)])  # 31,000 calls
    assert sorted(sum(len(c["history"]) for c in b["contacts"]) for b in scripted.bodies) == [
        1_000, 30_000]
    assert (Limits().contacts, Limits().calls) == (MAX_CONTACTS, MAX_CALLS) == (100, 30_000)
    scripted.bodies.clear()
    scripted.delay = 0.3
    rows = [SlotFeatures(1, 19, 0.4)] * 12
    CampaignClient("e", region="us-east-1", endpoint_url=scripted.url,
                   limits=Limits(rows=1)).answer_probabilities(rows)  # 12 requests
    assert len(scripted.bodies) == 12 and scripted.most == 4


def test_one_concurrency_limit_is_shared_by_every_call_of_a_client(scripted) -> None:
    scripted.delay = 0.2
    client = CampaignClient("e", region="us-east-1", endpoint_url=scripted.url,
                            concurrency=2)
    rows = [SlotFeatures(1, 19, 0.4)]
    calls = [threading.Thread(target=client.answer_probabilities, args=(rows,))
             for _ in range(6)]
    for call in calls:
        call.start()
    for call in calls:
        call.join()
    assert len(scripted.bodies) == 6 and scripted.most <= 2  # a per-call limit would let 6 in


def test_a_deadline_shorter_than_a_cold_start_ends_the_call_at_the_deadline(scripted) -> None:
    """A cold start is waited out (test_python_client.py), but not past the call's deadline:
    against one that never ends, the call stops retrying at its deadline and names the last
    answer. (The bound is loose on purpose: the endpoint would answer never.)"""
    scripted.cold = True
    client = CampaignClient("e", region="us-east-1", endpoint_url=scripted.url,
                            backoff=_backoff_now())
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as err:
        client.answer_probabilities([SlotFeatures(1, 19, 0.4)], deadline_seconds=2)
    assert time.monotonic() - started < 30
    assert "2 s deadline" in str(err.value) and client.stats.not_ready >= 1
    assert "ModelNotReadyException" in str(err.value.last_error)
    assert client.stats.requests - 1 <= len(scripted.bodies) <= client.stats.requests > 1
