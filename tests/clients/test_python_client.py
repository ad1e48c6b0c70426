"""calltime_client (clients/python) against the local endpoint through boto3 over the SageMaker
Runtime HTTP API: batching inside the limits, results in input order, retries through throttling
and a cold start within one deadline, 4xx never retried."""

from __future__ import annotations

import json
import random
import time

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from calltime_client import (
    Backoff,
    Call,
    CampaignClient,
    CampaignClientError,
    Contact,
    EndpointRequestError,
    Limits,
    SlotFeatures,
)
from calltime_client.batching import batches
from calltime_client.retry import is_retryable

ENDPOINT = "calltime-local"


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any credentials: the local API wants a signed request, as AWS does."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")


def _client(api: dict, **options) -> CampaignClient:
    return CampaignClient(ENDPOINT, region=api["region"], endpoint_url=api["url"], **options)


def _rows(count: int, seed: int = 1) -> list[SlotFeatures]:
    rng = random.Random(seed)
    return [SlotFeatures(rng.randrange(7), rng.randrange(24), round(rng.random(), 3))
            for _ in range(count)]


def _contacts(count: int) -> list[Contact]:
    return [Contact(f"c-{i}", history=[Call(f"2026-06-0{1 + i % 7}T1{i % 10}:00:00Z", i % 3 == 0,
                                            30.0)] * (i % 4)) for i in range(count)]


# --- pure parts ------------------------------------------------------------------------------

def test_batches_keep_order_and_every_limit() -> None:
    items = [[i, i % 24, 0.5] for i in range(95)]
    chunks = list(batches(items, max_items=40, max_bytes=10_000))
    assert [len(c) for _, c in chunks] == [40, 40, 15]
    assert [x for _, c in chunks for x in c] == items
    assert [start for start, _ in chunks] == [0, 40, 80]
    small = list(batches(items, max_items=1000, max_bytes=200))
    assert all(len(json.dumps(c, separators=(",", ":"))) <= 200 for _, c in small)
    assert len(small) > 5 and [x for _, c in small for x in c] == items
    weighted = list(batches(list(range(10)), 100, 10_000, weight=lambda x: x, max_weight=12))
    assert all(sum(c) <= 12 for _, c in weighted) and [x for _, c in weighted for x in c] == \
        list(range(10))
    with pytest.raises(CampaignClientError, match="item 3 alone"):
        list(batches([1, 2, 3, 13], 100, 10_000, weight=lambda x: x, max_weight=12))


def test_what_is_retried() -> None:
    def error(code: str, status: int, **extra) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": "m"},
                            "ResponseMetadata": {"HTTPStatusCode": status}, **extra},
                           "InvokeEndpoint")

    for retried in (error("ThrottlingException", 400), error("ModelNotReadyException", 429),
                    error("ServiceUnavailable", 503), error("InternalFailure", 500),
                    error("SomethingNew", 502), error("SomethingNew", 429),  # any 5xx or 429
                    EndpointConnectionError(endpoint_url="http://x")):
        assert is_retryable(retried), retried
    for refused in (error("ModelError", 424, OriginalStatusCode=400),
                    error("ModelError", 424, OriginalStatusCode=415),
                    error("ModelError", 424, OriginalStatusCode=500),
                    error("ValidationError", 400), error("AccessDeniedException", 400),
                    error("SomethingNew", 404),
                    ValueError("not an AWS error")):
        assert not is_retryable(refused), refused
    waits = [Backoff(base=0.1, cap=1.0).delay(n, lambda: 1.0) for n in range(6)]
    assert waits == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert Backoff().delay(3, lambda: 0.0) == 0.0  # full jitter: anywhere from zero


def test_a_contact_no_request_could_carry_is_refused_before_sending() -> None:
    client = CampaignClient(ENDPOINT, region="il-central-1", endpoint_url="http://127.0.0.1:9")
    heavy = Contact("heavy", history=[Call("2026-06-01T10:00:00Z", True)] * 1001)
    with pytest.raises(CampaignClientError, match=r"contacts\[1\] \(contact_id 'heavy'\): "
                                                  r"1,001 history calls exceed"):
        client.recommend([Contact("light"), heavy])
    assert client.stats.requests == 0


# --- against the local endpoint --------------------------------------------------------------

def test_rows_are_batched_and_answered_in_input_order(runtime_api) -> None:
    client = _client(runtime_api)
    rows = _rows(25_000)
    predictions = client.answer_probabilities(rows)
    assert client.stats.requests == 3 and client.stats.retries == 0
    assert len(predictions) == 25_000 and all(0 < p < 1 for p in predictions)
    sample = [0, 9_999, 10_000, 24_999, 17_321]
    alone = _client(runtime_api).answer_probabilities([rows[i] for i in sample])
    assert [predictions[i] for i in sample] == pytest.approx(alone)
    # A smaller body limit: more requests, the same answers.
    tight = _client(runtime_api, limits=Limits(body_bytes=50_000))
    assert tight.answer_probabilities(rows[:5_000]) == pytest.approx(predictions[:5_000])
    assert tight.stats.requests >= 2


class _Recording:
    """A sagemaker-runtime client that keeps every request body it sends."""

    def __init__(self, runtime) -> None:
        self.runtime, self.bodies = runtime, []

    def invoke_endpoint(self, **params):
        self.bodies.append(json.loads(params["Body"]))
        return self.runtime.invoke_endpoint(**params)


def test_recommendations_are_batched_by_contacts_and_calls(runtime_api) -> None:
    from tests.support.local_endpoint import runtime_client

    sent = _Recording(runtime_client(runtime_api["url"], runtime_api["region"]))
    # 150 calls binds long before 100 contacts do (about 1.5 calls a contact)
    client = CampaignClient(ENDPOINT, runtime=sent, limits=Limits(calls=60))
    contacts = _contacts(250)
    answers = client.recommend(contacts, top_k=2, as_of="2026-06-10T00:00:00Z")
    assert [a.contact_id for a in answers] == [c.contact_id for c in contacts]
    assert all(len(a.slots) == 2 for a in answers)
    # Each request within both limits: 100 contacts, 60 history calls; every call sent once.
    calls = [sum(len(c["history"]) for c in body["contacts"]) for body in sent.bodies]
    assert max(calls) <= 60 and max(len(b["contacts"]) for b in sent.bodies) <= 100
    assert sum(calls) == sum(len(c.history) for c in contacts) > 5 * 60
    assert len(sent.bodies) == client.stats.requests > 5 and client.stats.retries == 0
    assert {b["as_of"] for b in sent.bodies} == {"2026-06-10T00:00:00Z"}
    single = _client(runtime_api).recommend([contacts[137]], top_k=2,
                                            as_of="2026-06-10T00:00:00Z")
    assert single[0] == answers[137]


def test_throttling_beyond_max_concurrency_is_retried_to_success(busy_runtime_api) -> None:
    client = _client(busy_runtime_api, concurrency=8, limits=Limits(rows=500),
                     backoff=Backoff(base=0.05, cap=0.5))
    rows = _rows(8_000, seed=2)
    predictions = client.answer_probabilities(rows)  # 16 requests, MaxConcurrency 2
    assert len(predictions) == 8_000
    assert client.stats.throttled > 0 and client.stats.retries >= client.stats.throttled
    assert client.stats.refused == 0


def test_a_cold_start_is_waited_out(busy_runtime_api) -> None:
    """After scaling to zero, the first requests meet a cold start (ModelNotReadyException
    while it lasts) and are retried until it ends. A deadline shorter than a cold start:
    test_python_client_hangs.py."""
    client = _client(busy_runtime_api, concurrency=2, limits=Limits(rows=5),
                     backoff=Backoff(base=0.05, cap=0.3))
    client.answer_probabilities(_rows(1))
    time.sleep(1.5)  # idle for more than its 1 s: scaled to zero (at least this long)
    started = time.monotonic()
    assert len(client.answer_probabilities(_rows(10))) == 10  # 2 requests at once
    assert time.monotonic() - started > 1.0  # the 1 s cold start, at least
    assert client.stats.not_ready >= 1 and client.stats.retries >= 1


def test_a_client_error_is_never_retried_and_says_what_the_endpoint_said(runtime_api) -> None:
    client = _client(runtime_api)
    with pytest.raises(EndpointRequestError) as err:
        client.answer_probabilities([SlotFeatures(1, 19, 0.4), SlotFeatures(1, 25, 0.4)])
    assert err.value.status == 400 and err.value.code == "ModelError"
    assert "features[1][1] (hour_of_day): expected an integer 0..23, got 25" in \
        err.value.message
    assert client.stats.retries == 0 and client.stats.refused == 1
    unknown = CampaignClient("no-such-endpoint", region="il-central-1",
                             endpoint_url=runtime_api["url"])
    with pytest.raises(EndpointRequestError) as missing:
        unknown.answer_probabilities(_rows(1))
    assert missing.value.code == "ValidationError" and "no-such-endpoint" in \
        missing.value.message
    assert unknown.stats.retries == 0


def test_both_clients_limits_are_the_endpoints() -> None:
    """The limits each client splits by are the ones the endpoint enforces (a client with a
    larger one sends requests the endpoint refuses; a smaller one, more requests than needed)."""
    import re
    from pathlib import Path

    from inference_code import request_parsing as endpoint

    enforced = {"rowsPerRequest": endpoint.MAX_FEATURE_ROWS,
                "contactsPerRequest": endpoint.MAX_CONTACTS,
                "historyPerContact": endpoint.MAX_HISTORY, "callsPerRequest": endpoint.MAX_CALLS}
    source = (Path(__file__).resolve().parents[2] / "clients/typescript/src/client.ts").read_text()
    block = source[source.index("export const ENDPOINT_LIMITS"):]
    typescript = {name: int(value.replace("_", "")) for name, value in
                  re.findall(r"(\w+): ([\d_]+),", block[:block.index("} as const")])}
    assert typescript == enforced
    limits = Limits()
    assert (limits.rows, limits.contacts, limits.calls_per_contact, limits.calls) == tuple(
        enforced.values())


def test_the_readme_names_each_clients_stats_as_they_are() -> None:
    import dataclasses
    import re
    from pathlib import Path

    from calltime_client.client import ClientStats

    root = Path(__file__).resolve().parents[2]
    readme = root.joinpath("docs", "calling-the-endpoint.md").read_text()
    said = readme[readme.index("- `client.stats`: in Python"):].split(".\n", 1)[0]
    python, typescript = said.split("in TypeScript")
    assert re.findall(r"`(\w+)`", python) == [f.name for f in dataclasses.fields(ClientStats)]
    types = root.joinpath("clients/typescript/src/types.ts").read_text()
    interface = types[types.index("export interface ClientStats"):]
    fields = re.findall(r"^  (\w+): number;", interface[:interface.index("\n}")], re.M)
    assert re.findall(r"`(\w+)`", typescript) == fields


def test_the_client_readmes_example_runs_against_the_endpoint(runtime_api) -> None:
    """clients/python/README.md's example, run as written, against the local endpoint (only the
    endpoint's name and where it is are changed)."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "clients/python/README.md").read_text()
    example = readme.split("```python\n", 1)[1].split("```", 1)[0]
    made_for_aws = 'CampaignClient("calltime-prod-optimal-call-time", region="il-central-1")'
    assert made_for_aws in example
    scope: dict = {}
    exec(example.replace(made_for_aws, f"CampaignClient({ENDPOINT!r}, "
                         f"region={runtime_api['region']!r}, endpoint_url={runtime_api['url']!r})"),
         scope)
    assert len(scope["probabilities"]) == 1 and 0 <= scope["probabilities"][0] <= 1
    slots = scope["recommendations"][0].slots
    assert len(slots) == 3
    assert all(s.day in ("sunday", "monday") and 9 <= s.hour < 21 for s in slots)


def test_the_package_is_typed_and_bounds_its_dependencies() -> None:
    """PEP 561's marker shipped as package data; every dependency with an upper bound (a boto3
    2 must not install under it untested); a README and a LICENSE beside it."""
    import tomllib
    from pathlib import Path

    import calltime_client

    folder = Path(__file__).resolve().parents[2] / "clients/python"
    project = tomllib.loads((folder / "pyproject.toml").read_text())
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["calltime_client"]
    assert (Path(calltime_client.__file__).parent / "py.typed").exists()
    dependencies = project["project"]["dependencies"]
    assert dependencies and all("<" in d for d in dependencies), dependencies
    assert (folder / project["project"]["readme"]).exists()
    assert "Apache License" in (folder / "LICENSE").read_text()
