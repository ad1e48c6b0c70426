"""The local SageMaker Runtime over HTTP, through boto3 as any caller outside the pipeline: the
service's wire protocol and error shapes, which the SDKs turn into their typed exceptions."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from tests.support.api_shapes import check_output
from tests.support.local_endpoint import local_endpoint, runtime_client

ENDPOINT = "calltime-local"


def _invoke(client, body: bytes | str, endpoint: str = ENDPOINT) -> dict:
    return client.invoke_endpoint(EndpointName=endpoint, Body=body,
                                  ContentType="application/json", Accept="application/json")


def test_the_campaigns_flat_row_is_answered_200(runtime_api) -> None:
    client = runtime_client(runtime_api["url"])
    response = _invoke(client, json.dumps({"features": [1, 19, 0.4]}))
    check_output("sagemaker-runtime", "InvokeEndpoint", response)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert response["ContentType"] == "application/json"
    predictions = json.loads(response["Body"].read())["predictions"]
    assert len(predictions) == 1 and 0 < predictions[0] < 1


def test_a_refused_request_is_a_model_error_with_the_containers_answer(runtime_api) -> None:
    client = runtime_client(runtime_api["url"])
    with pytest.raises(client.exceptions.ModelError) as err:
        _invoke(client, json.dumps({"features": [1, 25, 0.4]}))
    response = err.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["OriginalStatusCode"] == 400
    assert "features[1] (hour_of_day)" in json.loads(response["OriginalMessage"])["message"]
    assert "Received client error (400)" in response["Error"]["Message"]
    assert response["LogStreamArn"].startswith("arn:aws:logs:il-central-1:")


def test_unknown_endpoints_and_oversized_bodies_are_validation_errors(runtime_api) -> None:
    client = runtime_client(runtime_api["url"])
    with pytest.raises(client.exceptions.ValidationError) as unknown:
        _invoke(client, "{}", endpoint="no-such-endpoint")
    assert "no-such-endpoint" in unknown.value.response["Error"]["Message"]
    with pytest.raises(client.exceptions.ValidationError) as big:
        _invoke(client, b" " * (4 * 1024 * 1024 + 1))
    assert "4194304 byte limit" in big.value.response["Error"]["Message"]


def test_an_unsigned_request_is_refused(runtime_api) -> None:
    request = urllib.request.Request(f"{runtime_api['url']}/endpoints/{ENDPOINT}/invocations",
                                     data=b'{"features": [1, 19, 0.4]}', method="POST",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=10)
    assert err.value.code == 403
    assert err.value.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def _concurrently(client, count: int) -> list[tuple[str, int]]:
    """`count` requests at once; each one's outcome: ("ok", 200) or (error code, status)."""
    outcomes: list[tuple[str, int]] = []
    together = threading.Barrier(count)

    def one() -> None:
        together.wait()
        try:
            response = _invoke(client, json.dumps({"features": [1, 19, 0.4]}))
            outcomes.append(("ok", response["ResponseMetadata"]["HTTPStatusCode"]))
        except client.exceptions.ClientError as err:
            outcomes.append((err.response["Error"]["Code"],
                             err.response["ResponseMetadata"]["HTTPStatusCode"]))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.fixture
def endpoint_with(trained, tmp_path):
    """Start a `calltime local endpoint` of the session's model with these flags, for this
    test alone (no state left by another test)."""
    with contextlib.ExitStack() as started:
        def start(*flags: str) -> dict:
            return started.enter_context(local_endpoint(trained.artifact, *flags,
                                                        log=tmp_path / "endpoint.log"))
        yield start


def test_beyond_max_concurrency_is_throttled(endpoint_with) -> None:
    """MaxConcurrency 2 and 2 s per invocation (long beside the time 6 threads take to start on
    a loaded machine): of 6 requests at once, 2 are served and the rest throttled."""
    api = endpoint_with("--max-concurrency", "2", "--latency", "2", "--cold-start-delay", "0")
    client = runtime_client(api["url"])
    assert _concurrently(client, 1) == [("ok", 200)]  # warm: no cold start below
    outcomes = _concurrently(client, 6)
    assert outcomes.count(("ok", 200)) == 2, outcomes
    assert outcomes.count(("ThrottlingException", 400)) == 4, outcomes


def test_a_cold_start_is_not_ready_for_others_while_the_first_waits_it_out(
        endpoint_with) -> None:
    """Scaled to zero after 1 s idle; a 2 s cold start: the request that starts it waits it out,
    another meanwhile is told ModelNotReadyException."""
    api = endpoint_with("--idle-seconds", "1", "--cold-start-delay", "2",
                        "--not-ready-while-cold")
    client = runtime_client(api["url"])
    assert _concurrently(client, 1) == [("ok", 200)]  # the first cold start, waited out
    time.sleep(1.5)  # idle for more than 1 s (at least this long): scaled to zero
    started = time.monotonic()
    outcomes = _concurrently(client, 2)
    assert sorted(outcomes) == [("ModelNotReadyException", 429), ("ok", 200)], outcomes
    assert time.monotonic() - started > 2.0  # the one that came first waited the cold start
