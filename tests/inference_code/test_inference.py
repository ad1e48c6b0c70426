"""The endpoint contract, asserted against the handlers and against the real local server."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from inference_code import inference
from inference_code.features import DAY_NAMES
from inference_code.ranking import DEFAULT_WINDOW
from training import artifact

JSON, CSV = "application/json", "text/csv"
WINDOW = {"sunday": [9, 21], "monday": [9, 21], "tuesday": [9, 21], "wednesday": [9, 21],
          "thursday": [9, 21], "friday": [9, 14]}
AS_OF = "2026-06-08T06:00:00Z"
CALLING_DOC = Path(__file__).resolve().parents[2] / "docs" / "calling-the-endpoint.md"

Client = Callable[[bytes, str, str], tuple[int, str, str]]


@pytest.fixture(scope="module")
def model_dir(trained, tmp_path_factory) -> Path:
    return artifact.extract(trained.artifact, tmp_path_factory.mktemp("opt_ml_model"))


@pytest.fixture(scope="module")
def server(trained, tmp_path_factory) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "calltime", "serve", "--model", str(trained.artifact),
         "--port", "0", "--workers", "2",
         "--model-dir", str(tmp_path_factory.mktemp("served"))],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        cwd=tmp_path_factory.mktemp("cwd"), env={**os.environ, "CALLTIME_BODY_TIMEOUT": "1"})
    url = served_url(process)
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
                    assert response.status == 200
                    break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"model server did not become healthy: {output}")
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def served_url(process: subprocess.Popen) -> str:
    """The URL `calltime serve --port 0` printed: the port it listens on, chosen by the OS."""
    line = process.stdout.readline().decode()
    found = re.search(r" on (http://\S+)$", line.strip())
    assert found, line
    return found.group(1)


def handler_client(model_dir: Path) -> Client:
    model = inference.model_fn(str(model_dir))

    def call(body: bytes, content_type: str, accept: str) -> tuple[int, str, str]:
        data = inference.input_fn(body, content_type)
        result = inference.output_fn(inference.predict_fn(data, model), accept)
        if len(result) == 3:
            return result[2], result[0], result[1]
        return 200, result[0], result[1]

    return call


def http_client(url: str) -> Client:
    def call(body: bytes, content_type: str, accept: str) -> tuple[int, str, str]:
        request = urllib.request.Request(f"{url}/invocations", data=body, method="POST",
                                         headers={"Content-Type": content_type,
                                                  "Accept": accept})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode(), response.headers[
                    "Content-Type"]
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(), err.headers["Content-Type"]

    return call


@pytest.fixture(params=["handlers", "http"])
def client(request, model_dir) -> Client:
    if request.param == "handlers":
        return handler_client(model_dir)
    return http_client(request.getfixturevalue("server"))


def _json(payload: object) -> bytes:
    return json.dumps(payload).encode()


def _slots_request(**overrides: object) -> dict:
    request = {"contacts": [{"contact_id": "c-1", "timezone": "Asia/Jerusalem", "history": [
        {"called_at": "2026-06-07T16:05:00Z", "answered": True, "duration_seconds": 42},
        {"called_at": "2026-06-04T07:00:00Z", "answered": False}]}],
        "calling_window": WINDOW, "top_k": 3, "as_of": AS_OF}
    request.update(overrides)
    return request


# --- the seed format ----------------------------------------------------------------------------

def test_seed_format_returns_one_probability_per_row(client: Client) -> None:
    status, body, content_type = client(_json({"features": [[1, 19, 0.5], [2, 9, 0.1, 3],
                                                            [0, 0, 0.0]]}), JSON, JSON)
    assert status == 200 and content_type.startswith(JSON)
    predictions = json.loads(body)["predictions"]
    assert len(predictions) == 3
    assert all(0 < p < 1 for p in predictions)
    # The previous answer rate matters (a contact who answers is more likely to answer).
    _, high, _ = client(_json({"features": [[1, 19, 0.9]]}), JSON, JSON)
    _, low, _ = client(_json({"features": [[1, 19, 0.05]]}), JSON, JSON)
    assert json.loads(high)["predictions"][0] > json.loads(low)["predictions"][0]


def test_the_campaign_client_s_flat_row_is_one_row(client: Client) -> None:
    """The TypeScript caller sends ONE flat row, `{"features": [dayOfWeek, hourOfDay,
    previousAnswerRate]}`, and reads `predictions`: one probability, the same as for `[[...]]`."""
    status, body, _ = client(_json({"features": [2, 19, 0.4]}), JSON, JSON)
    assert status == 200, body
    (flat,) = json.loads(body)["predictions"]
    _, nested, _ = client(_json({"features": [[2, 19, 0.4]]}), JSON, JSON)
    assert json.loads(nested)["predictions"] == [flat]
    assert 0 < flat < 1


def test_csv_rows_in_and_out(client: Client) -> None:
    status, body, content_type = client(b"1,19,0.5\n2,9,0.1\n", CSV, CSV)
    assert status == 200 and content_type.startswith(CSV)
    _, as_json, _ = client(_json({"features": [[1, 19, 0.5], [2, 9, 0.1]]}), JSON, JSON)
    assert [float(v) for v in body.split()] == json.loads(as_json)["predictions"]


# --- best-slot recommendations -------------------------------------------------------------------

def test_recommendations_are_in_window_sorted_and_deterministic(client: Client) -> None:
    status, body, _ = client(_json(_slots_request()), JSON, JSON)
    assert status == 200
    [rec] = json.loads(body)["recommendations"]
    assert rec["contact_id"] == "c-1"
    slots = rec["slots"]
    assert len(slots) == 3
    for slot in slots:
        start, end = WINDOW[slot["day"]]
        assert start <= slot["hour"] < end
        assert 0 <= slot["answer_probability"] <= 1
    probabilities = [s["answer_probability"] for s in slots]
    assert probabilities == sorted(probabilities, reverse=True)
    assert client(_json(_slots_request()), JSON, JSON)[1] == body


def test_window_limits_days_and_hours(client: Client) -> None:
    window = {"tuesday": [18, 20]}
    _, body, _ = client(_json(_slots_request(calling_window=window, top_k=168)), JSON, JSON)
    slots = json.loads(body)["recommendations"][0]["slots"]
    assert {(s["day"], s["hour"]) for s in slots} == {("tuesday", 18), ("tuesday", 19)}


def test_defaults_cold_contact_and_no_window(client: Client) -> None:
    status, body, _ = client(_json({"contacts": [{"contact_id": "new"}], "as_of": AS_OF}),
                             JSON, JSON)
    assert status == 200
    slots = json.loads(body)["recommendations"][0]["slots"]
    assert len(slots) == 3  # default top_k
    for slot in slots:  # inside the default window: Sun-Thu 9-21, Fri 9-14, never Saturday
        start, end = DEFAULT_WINDOW[slot["day"]]
        assert start <= slot["hour"] < end, slot
    # and all of it is offered: asked for every slot, the cold contact gets exactly the window
    _, every, _ = client(_json({"contacts": [{"contact_id": "new"}], "as_of": AS_OF,
                                "top_k": 168}), JSON, JSON)
    offered = {(s["day"], s["hour"]) for s in json.loads(every)["recommendations"][0]["slots"]}
    assert offered == {(day, hour) for day, (start, end) in DEFAULT_WINDOW.items()
                       for hour in range(start, end)}
    # ... which is the documented one, as docs/calling-the-endpoint.md words it (not the
    # constant compared with itself)
    assert "(Sunday-Thursday 09-21, Friday 09-14, no Saturday)" in CALLING_DOC.read_text()
    stated = {day: (9, 21) for day in ("sunday", "monday", "tuesday", "wednesday", "thursday")}
    assert offered == {(day, hour) for day, (start, end) in {**stated, "friday": (9, 14)}.items()
                       for hour in range(start, end)}


def test_a_contact_without_a_time_zone_is_read_in_jerusalem(client: Client) -> None:
    """docs/calling-the-endpoint.md: `timezone` may be omitted (`Asia/Jerusalem`)."""
    history = [{"called_at": f"2026-05-{d:02d}T16:30:00Z", "answered": True}
               for d in range(3, 28) if d % 7 not in (1, 2)]

    def slots(**zone: str) -> list:
        request = {"contacts": [{"contact_id": "a", "history": history, **zone}],
                   "as_of": AS_OF, "top_k": 10}
        return json.loads(client(_json(request), JSON, JSON)[1])["recommendations"][0]["slots"]

    assert slots() == slots(timezone="Asia/Jerusalem") != slots(timezone="America/New_York")


def test_history_is_read_in_the_contacts_local_time(client: Client) -> None:
    """The same UTC calls mean evening in New York and night in Jerusalem."""
    history = [{"called_at": f"2026-05-{d:02d}T23:30:00Z", "answered": True}
               for d in range(4, 30) if d % 7 not in (1, 2)]
    history += [{"called_at": f"2026-05-{d:02d}T13:30:00Z", "answered": False}
                for d in range(4, 30) if d % 7 not in (1, 2)]
    request = {"contacts": [{"contact_id": "ny", "timezone": "America/New_York",
                             "history": history}], "as_of": AS_OF, "top_k": 10}
    _, body, _ = client(_json(request), JSON, JSON)
    slots = json.loads(body)["recommendations"][0]["slots"]
    # On a working day (Sunday is New York's rest day, where evening people answer earlier):
    best = next(s for s in slots if s["day"] in {"monday", "tuesday", "wednesday", "thursday"})
    assert 17 <= best["hour"] <= 20  # 23:30 UTC is 19:30 in New York


# --- bad input: a client error naming the field, never a 200 or a stack trace ---------------------

BAD_REQUESTS = [
    ("malformed json", b'{"features": [[1, 2, 0.5]', JSON, JSON, 400, "body: malformed JSON"),
    ("empty body", b"", JSON, JSON, 400, "body: malformed JSON"),
    ("not an object", b"[1, 2, 3]", JSON, JSON, 400, "expected a JSON object"),
    ("no known key", _json({"rows": []}), JSON, JSON, 400, "'features' or 'contacts'"),
    ("both kinds", _json({"features": [[1, 2, 0.5]], "contacts": []}), JSON, JSON, 400,
     "not both"),
    ("features not a list", _json({"features": "1,2,3"}), JSON, JSON, 400,
     "features: expected a non-empty list"),
    ("row too short", _json({"features": [[1, 2]]}), JSON, JSON, 400,
     "features[0]: expected a list of 3 to"),
    ("row too long", _json({"features": [[1] * 99]}), JSON, JSON, 400,
     "features[0]: expected a list of 3 to"),
    ("flat row too short", _json({"features": [1, 19]}), JSON, JSON, 400,
     "features: expected a list of 3 to"),
    ("flat row hour 24", _json({"features": [1, 24, 0.5]}), JSON, JSON, 400,
     "features[1] (hour_of_day): expected an integer 0..23"),
    ("flat row string", _json({"features": [1, "19", 0.5]}), JSON, JSON, 400,
     "features[1]: expected a finite number"),
    ("rows and a number", _json({"features": [[1, 19, 0.5], 3]}), JSON, JSON, 400,
     "features[1]: expected a list of 3 to"),
    ("string in row", _json({"features": [[1, "19", 0.5]]}), JSON, JSON, 400,
     "features[0][1]: expected a finite number"),
    ("bool in row", _json({"features": [[True, 19, 0.5]]}), JSON, JSON, 400,
     "features[0][0]: expected a finite number"),
    ("NaN", b'{"features": [[1, 19, NaN]]}', JSON, JSON, 400, "NaN is not a valid JSON number"),
    ("Infinity", b'{"features": [[1, 19, Infinity]]}', JSON, JSON, 400,
     "Infinity is not a valid JSON number"),
    ("day of week 7", _json({"features": [[7, 19, 0.5]]}), JSON, JSON, 400,
     "features[0][0] (day_of_week): expected an integer 0..6"),
    ("hour 24", _json({"features": [[1, 24, 0.5]]}), JSON, JSON, 400,
     "features[0][1] (hour_of_day): expected an integer 0..23"),
    ("rate above 1", _json({"features": [[1, 9, 1.5]]}), JSON, JSON, 400,
     "features[0][2] (previous_answer_rate): expected 0..1"),
    ("csv garbage", b"1,nine,0.5\n", CSV, JSON, 400, "csv line 1: not a row of numbers"),
    ("contacts not a list", _json({"contacts": {"c": 1}}), JSON, JSON, 400,
     "contacts: expected a non-empty list"),
    ("empty contacts", _json({"contacts": []}), JSON, JSON, 400,
     "contacts: expected a non-empty list"),
    ("contact id missing", _json({"contacts": [{"history": []}]}), JSON, JSON, 400,
     "contacts[0].contact_id: expected a non-empty string"),
    ("history not a list", _json({"contacts": [{"contact_id": "a", "history": "x"}]}), JSON,
     JSON, 400, "contacts[0].history: expected a list"),
    ("timestamp without offset", _json({"contacts": [{"contact_id": "a", "history": [
        {"called_at": "2026-06-07T16:05:00", "answered": True}]}]}), JSON, JSON, 400,
     "contacts[0].history[0].called_at: '2026-06-07T16:05:00' has no UTC offset"),
    ("bad timestamp", _json({"contacts": [{"contact_id": "a", "history": [
        {"called_at": "yesterday", "answered": True}]}]}), JSON, JSON, 400,
     "contacts[0].history[0].called_at: 'yesterday' is not an ISO-8601 timestamp"),
    ("answered as string", _json({"contacts": [{"contact_id": "a", "history": [
        {"called_at": "2026-06-07T16:05:00Z", "answered": "yes"}]}]}), JSON, JSON, 400,
     "contacts[0].history[0].answered: expected true or false"),
    ("negative duration", _json({"contacts": [{"contact_id": "a", "history": [
        {"called_at": "2026-06-07T16:05:00Z", "answered": True, "duration_seconds": -3}]}]}),
     JSON, JSON, 400, "contacts[0].history[0].duration_seconds: must be >= 0"),
    ("unknown time zone", _json({"contacts": [{"contact_id": "a", "timezone": "Mars/Base"}]}),
     JSON, JSON, 400, "contacts[0].timezone: unknown time zone 'Mars/Base'"),
    ("unknown day", _json(_slots_request(calling_window={"funday": [9, 12]})), JSON, JSON, 400,
     "calling_window: unknown day 'funday'"),
    ("hour above 24", _json(_slots_request(calling_window={"monday": [9, 25]})), JSON, JSON,
     400, "calling_window.monday: expected 0 <= start < end <= 24"),
    ("negative hour", _json(_slots_request(calling_window={"monday": [-1, 5]})), JSON, JSON,
     400, "calling_window.monday: expected 0 <= start < end <= 24"),
    ("empty hour range", _json(_slots_request(calling_window={"monday": [12, 12]})), JSON,
     JSON, 400, "calling_window.monday: expected 0 <= start < end <= 24"),
    ("empty window", _json(_slots_request(calling_window={})), JSON, JSON, 400,
     "calling_window: expected an object"),
    ("window hours not a pair", _json(_slots_request(calling_window={"monday": [9]})), JSON,
     JSON, 400, "calling_window.monday: expected [start_hour, end_hour] integers"),
    ("top_k zero", _json(_slots_request(top_k=0)), JSON, JSON, 400, "top_k: expected an integer"),
    ("top_k string", _json(_slots_request(top_k="3")), JSON, JSON, 400,
     "top_k: expected an integer"),
    ("too many contacts", _json({"contacts": [{"contact_id": f"c{i}"} for i in range(101)]}),
     JSON, JSON, 400, "contacts: 101 contacts exceed the limit of 100"),
    ("too much history", _json({"contacts": [{"contact_id": "a", "history": [
        {"called_at": "2026-06-07T16:05:00Z", "answered": True}] * 1001}]}), JSON, JSON, 400,
     "contacts[0].history: 1,001 calls exceed the limit of 1,000"),
    # Hostile input (issue 13): each a 400 naming the field, never a 500, never echoed whole.
    ("nested 100,000 deep", b"[" * 100_000, JSON, JSON, 400, "body: JSON nested too deeply"),
    ("a 5,000-digit integer", b'{"features": [[1, 10, ' + b"9" * 5000 + b"]]}", JSON, JSON,
     400, "body: a number in the JSON has too many digits"),
    ("a directory of the zone database", _json({"contacts": [
        {"contact_id": "a", "timezone": "Asia"}]}), JSON, JSON, 400,
     "contacts[0].timezone: unknown time zone 'Asia'"),
    ("a 10,000-character time zone", _json({"contacts": [
        {"contact_id": "a", "timezone": "Z" * 10_000}]}), JSON, JSON, 400,
     "contacts[0].timezone: unknown time zone 'ZZZZ"),
    # Names that resolve to the host's zone or to files outside the IANA list: a local time
    # that would depend on the image.
    *[(f"time zone {zone}", _json({"contacts": [{"contact_id": "a", "timezone": zone}]}), JSON,
       JSON, 400, f"contacts[0].timezone: unknown time zone {zone!r}")
      for zone in ("localtime", "Factory", "posixrules", "posix/Asia/Jerusalem",
                   "right/UTC", "zone.tab")],
    *[(f"called_at {when}", _json({"contacts": [{"contact_id": "a", "history": [
        {"called_at": when, "answered": True}]}]}), JSON, JSON, 400,
       "contacts[0].history[0].called_at: ") for when in (
        "9999-12-31T23:00:00Z", "9999-12-31T23:00:00-05:00", "0001-01-01T00:00+05:00")],
    *[(f"as_of {when}", _json(_slots_request(as_of=when)), JSON, JSON, 400, "as_of: ")
      for when in ("9999-12-31T23:00:00Z", "0001-01-01T00:00+05:00")],
    # The documented bounds: call times and as_of lie in 2000-01-01 .. 2100-01-01.
    *[(f"called_at {when} (just outside)", _json({"contacts": [{"contact_id": "a", "history": [
        {"called_at": when, "answered": True}]}]}), JSON, JSON, 400,
       f"contacts[0].history[0].called_at: '{when}' is outside 2000-01-01 .. 2100-01-01")
      for when in ("1999-12-31T23:59:59Z", "2100-01-01T00:00:00Z")],
    *[(f"as_of {when} (just outside)", _json(_slots_request(as_of=when)), JSON, JSON, 400,
       f"as_of: '{when}' is outside 2000-01-01 .. 2100-01-01")
      for when in ("1999-12-31T23:59:59Z", "2100-01-01T00:00:00Z")],
    ("10,001 feature rows (the documented limit is 10,000)", _json(
        {"features": [[1, 10, 0.5]] * 10_001}), JSON, JSON, 400,
     "features: 10,001 rows exceed the limit of 10,000"),
    ("a body over the serverless 4 MB", _json({"features": [[1, 10, 0.5]] * 300_000}), JSON,
     JSON, 413, "exceed the serverless endpoint's limit of 4,194,304"),
    ("more history in all than 4 MB holds", _json({"contacts": [
        {"contact_id": f"c{i}", "history": [{"called_at": "2026-06-07T16:05:00Z",
                                             "answered": True}] * 301} for i in range(100)]}),
     JSON, JSON, 400, "contacts: 30,100 history calls in all exceed the limit of 30,000"),
    ("unsupported content type", b"<xml/>", "application/xml", JSON, 415,
     "content type 'application/xml' is not supported"),
    ("unsupported accept", _json({"features": [[1, 19, 0.5]]}), JSON, "application/xml", 406,
     "accept 'application/xml' is not supported"),
    ("csv accept for recommendations", _json(_slots_request()), JSON, CSV, 406,
     "use application/json"),
]


@pytest.mark.parametrize(("body", "content_type", "accept", "status", "message"),
                         [case[1:] for case in BAD_REQUESTS], ids=[c[0] for c in BAD_REQUESTS])
def test_bad_input_is_a_client_error_naming_the_field(client: Client, body: bytes,
                                                      content_type: str, accept: str,
                                                      status: int, message: str) -> None:
    got_status, got_body, got_type = client(body, content_type, accept)
    assert got_status == status, got_body
    assert got_type.startswith(JSON)
    error = json.loads(got_body)
    assert set(error) == {"error", "message"}
    assert error["error"] == ("UnsupportedContentType" if status == 415 else "ClientError")
    assert message in error["message"]
    assert "Traceback" not in got_body
    assert len(error["message"]) < 300  # what a client sent is cut, not echoed (nor logged)


def test_an_error_quotes_at_most_40_characters_of_what_was_sent(client: Client) -> None:
    """docs/calling-the-endpoint.md: error messages quote at most 40 characters of what was
    sent."""
    sent = "Z" * 10_000
    _, body, _ = client(_json({"contacts": [{"contact_id": "a", "timezone": sent}]}), JSON, JSON)
    message = json.loads(body)["message"]
    quoted = message.split("unknown time zone ", 1)[1]
    assert quoted.startswith("'" + "Z" * 39) and "Z" * 41 not in quoted
    assert quoted.endswith("(10,002 characters)")  # the repr's length, said, not shown


def test_the_edges_the_docs_state_are_answered(client: Client) -> None:
    """10,000 feature rows are answered; call times and as_of at 2000-01-01 and just before
    2100-01-01 are accepted (just outside: tests above)."""
    status, body, _ = client(_json({"features": [[1, 10, 0.5]] * 10_000}), JSON, JSON)
    assert status == 200 and len(json.loads(body)["predictions"]) == 10_000
    # 100 contacts; 1,000 history calls for one contact; 30,000 in all (30 x 1,000)
    calls = [{"called_at": "2026-05-04T10:00:00Z", "answered": False}] * 1_000
    for contacts in ([{"contact_id": f"c{i}"} for i in range(100)],
                     [{"contact_id": f"c{i}", "history": calls} for i in range(30)]):
        status, body, _ = client(_json({"contacts": contacts, "as_of": AS_OF}), JSON, JSON)
        assert status == 200 and len(json.loads(body)["recommendations"]) == len(contacts), \
            body[:300]
    for when in ("2000-01-01T00:00:00Z", "2099-12-31T23:59:59Z"):
        status, body, _ = client(_json(_slots_request(as_of=when, contacts=[
            {"contact_id": "a", "history": [{"called_at": when, "answered": True}]}])),
            JSON, JSON)
        assert status == 200, body


def test_a_list_of_accepted_types_gets_the_one_served(client: Client) -> None:
    """What browsers and axios send: a list with weights; JSON is chosen, CSV where asked."""
    seed = _json({"features": [[1, 19, 0.5]]})
    for accept, served in (("application/json, text/plain, */*", JSON), ("*/*", JSON),
                           ("text/csv;q=0.9, application/json;q=0.5", CSV),
                           ("text/*, application/xml", CSV), ("application/*", JSON)):
        status, _, content_type = client(seed, JSON, accept)
        assert status == 200 and content_type.startswith(served), accept
    status, _, _ = client(seed, JSON, "application/xml, text/html;q=0.9")
    assert status == 406


def test_a_chunked_body_is_read_whole(server: str) -> None:
    """A client that streams its body (Transfer-Encoding: chunked, no Content-Length) is
    answered as if it had sent the body at once."""
    host, port = server.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("POST", "/invocations", body=iter([b'{"features": ', b"[[1, 19, 0.5]]}"]),
                       headers={"Content-Type": JSON, "Accept": JSON}, encode_chunked=True)
    response = connection.getresponse()
    assert response.status == 200, response.read()
    assert len(json.loads(response.read())["predictions"]) == 1


def test_a_client_that_stalls_its_body_is_shed_and_others_are_served(server: str) -> None:
    """Content-Length says 100, 10 bytes come: the server answers 408 after its body timeout
    (1 s here) instead of holding a thread until the client gives up; meanwhile others get
    answers."""
    host, port = server.removeprefix("http://").split(":")
    stalled = [socket.create_connection((host, int(port)), timeout=10) for _ in range(40)]
    try:
        for connection in stalled:
            connection.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: "
                               b"application/json\r\nContent-Length: 100\r\n\r\n{\"feat")
        status, _, _ = http_client(server)(_json({"features": [[1, 19, 0.5]]}), JSON, JSON)
        assert status == 200  # 40 stalled clients do not take the server down
        started = time.monotonic()
        answer = b""
        while b"body: not received" not in answer and time.monotonic() - started < 5:
            answer += stalled[0].recv(4096)
        assert answer.startswith(b"HTTP/1.1 408") and b"body: not received" in answer
        stalled[0].sendall(b"the rest of the body..")
        assert stalled[0].recv(4096) == b""  # then closed: the rest is never taken as a request
    finally:
        for connection in stalled:
            connection.close()


def test_non_utf8_body(model_dir: Path) -> None:
    status, body, _ = handler_client(model_dir)(b'{"features": "\xff"}', JSON, JSON)
    assert status == 400 and "not UTF-8" in json.loads(body)["message"]


def test_every_day_name_is_accepted(client: Client) -> None:
    window = {day: [10, 11] for day in DAY_NAMES}
    _, body, _ = client(_json(_slots_request(calling_window=window, top_k=7)), JSON, JSON)
    days = {s["day"] for s in json.loads(body)["recommendations"][0]["slots"]}
    assert days == set(DAY_NAMES)


def test_ping_and_unknown_paths(server: str) -> None:
    with urllib.request.urlopen(f"{server}/ping", timeout=5) as response:
        assert response.status == 200
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{server}/nope", timeout=5)
    assert err.value.code == 404
