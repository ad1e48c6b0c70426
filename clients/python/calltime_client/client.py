"""CampaignClient: many contacts or rows in, one answer each out, in input order."""

from __future__ import annotations

import datetime as dt
import json
import math
import random as random_module
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

from calltime_client.batching import Limits, batches, check_contacts
from calltime_client.errors import CampaignClientError, DeadlineExceeded, EndpointRequestError
from calltime_client.retry import Backoff, is_retryable
from calltime_client.types import CallingWindow, Contact, Recommendation, SlotFeatures

# A serverless cold start takes 10-15 s; a container has 60 s to answer. The default deadline
# leaves room for a cold start, throttling and a few retries.
DEFAULT_DEADLINE_SECONDS = 60.0
SAGEMAKER_INVOCATION_TIMEOUT = 60.0
MAX_DEADLINE_SECONDS = 24 * 3600.0
DEFAULT_LIMITS, DEFAULT_BACKOFF = Limits(), Backoff()


def check_deadline(seconds: object) -> float:
    """A deadline is a finite number of seconds, more than 0 and at most a day."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or \
            not math.isfinite(seconds) or not 0 < seconds <= MAX_DEADLINE_SECONDS:
        raise ValueError(f"deadline_seconds must be a number of seconds > 0 and at most "
                         f"{MAX_DEADLINE_SECONDS:g}, got {seconds!r}")
    return float(seconds)


@dataclass
class ClientStats:
    """What the client did, summed over its calls (thread-safe through the client)."""

    requests: int = 0  # InvokeEndpoint requests sent, retries included (never one not sent)
    retries: int = 0
    throttled: int = 0  # ThrottlingException: beyond the endpoint's MaxConcurrency
    not_ready: int = 0  # ModelNotReadyException: a cold start under way
    unavailable: int = 0  # 5xx and connection failures
    refused: int = 0  # 4xx, surfaced to the caller

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _runtime_client(region: str | None, endpoint_url: str | None, concurrency: int,
                    read_timeout: float = SAGEMAKER_INVOCATION_TIMEOUT + 10) -> Any:
    import boto3
    from botocore.config import Config

    # total_max_attempts=1: retries are this client's alone (the SDK's own would multiply
    # them and ignore the deadline).
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=min(5, read_timeout),
                    read_timeout=read_timeout, max_pool_connections=max(10, concurrency))
    return boto3.session.Session().client("sagemaker-runtime", region_name=region,
                                          endpoint_url=endpoint_url, config=config)


class CampaignClient:
    def __init__(self, endpoint_name: str, *, region: str | None = None,
                 endpoint_url: str | None = None, runtime: Any = None, concurrency: int = 4,
                 deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
                 limits: Limits = DEFAULT_LIMITS, backoff: Backoff = DEFAULT_BACKOFF,
                 random: Callable[[], float] = random_module.random) -> None:
        """`runtime`: a boto3 `sagemaker-runtime` client to use (made here otherwise, with
        `region` and `endpoint_url`, e.g. the local endpoint's URL). `concurrency`: requests in
        flight at once. `deadline_seconds`: the default deadline of each call."""
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        self.endpoint_name, self.concurrency = endpoint_name, concurrency
        self.deadline_seconds = check_deadline(deadline_seconds)
        self.limits, self.backoff, self._random = limits, backoff, random
        self.stats = ClientStats()
        self._stats_lock = threading.Lock()
        # `concurrency` bounds this client's requests in flight across all its calls (threads
        # of a service share one client), as the endpoint's MaxConcurrency counts them. A
        # request holds its slot until it is answered or its call's deadline passes.
        self._in_flight = threading.BoundedSemaphore(concurrency)
        # Made here: one SDK client per read timeout, which follows each call's deadline (a
        # silent endpoint's read ends with the call); given: used as it is.
        self._given_runtime, self._where = runtime, (region, endpoint_url)
        self._made: dict[int, Any] = {}
        self.runtime = self._runtime_for(self.deadline_seconds)

    def _runtime_for(self, seconds: float) -> Any:
        if self._given_runtime is not None:
            return self._given_runtime
        read_timeout = min(math.ceil(seconds), int(SAGEMAKER_INVOCATION_TIMEOUT + 10))
        with self._stats_lock:
            if read_timeout not in self._made:
                self._made[read_timeout] = _runtime_client(*self._where, self.concurrency,
                                                           read_timeout)
            return self._made[read_timeout]

    # --- the two formats -------------------------------------------------------------------

    def answer_probabilities(self, rows: Sequence[SlotFeatures],
                             deadline_seconds: float | None = None) -> list[float]:
        """The answer probability of a call at each row's slot, in input order."""
        plain = [row.row() for row in rows]
        chunks = list(batches(plain, self.limits.rows, self.limits.body_bytes))
        answers = self._run([{"features": chunk} for _, chunk in chunks], deadline_seconds)
        out: list[float] = []
        for (_, chunk), answer in zip(chunks, answers, strict=True):
            predictions = answer["predictions"]
            if len(predictions) != len(chunk):
                raise CampaignClientError(f"the endpoint answered {len(predictions)} "
                                          f"predictions for {len(chunk)} rows")
            out.extend(predictions)
        return out

    def recommend(self, contacts: Sequence[Contact], *, calling_window: CallingWindow | None = None,
                  top_k: int | None = None, as_of: str | None = None,
                  deadline_seconds: float | None = None) -> list[Recommendation]:
        """Each contact's best slots (best first), in input order. `as_of` (ISO 8601): when the
        histories end; default: now, once for the whole call, so every batch and every retry
        ranks at the same moment."""
        plain = [contact.to_json() for contact in contacts]
        check_contacts(plain, self.limits)
        common: dict[str, Any] = {}
        if calling_window is not None:
            common["calling_window"] = {day: list(hours) for day, hours in calling_window.items()}
        if top_k is not None:
            common["top_k"] = top_k
        common["as_of"] = as_of or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        room = self.limits.body_bytes - len(json.dumps(common).encode())
        chunks = list(batches(plain, self.limits.contacts, room,
                              weight=lambda c: len(c["history"]), max_weight=self.limits.calls))
        answers = self._run([{"contacts": chunk, **common} for _, chunk in chunks],
                            deadline_seconds)
        out: list[Recommendation] = []
        for (_, chunk), answer in zip(chunks, answers, strict=True):
            recommendations = answer["recommendations"]
            if [r["contact_id"] for r in recommendations] != [c["contact_id"] for c in chunk]:
                raise CampaignClientError("the endpoint's recommendations do not match the "
                                          "request's contacts")
            out.extend(Recommendation.from_json(r) for r in recommendations)
        return out

    # --- requests, concurrently, within one deadline ---------------------------------------

    def _count(self, **increments: int) -> None:
        with self._stats_lock:
            for name, value in increments.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)

    def _run(self, bodies: list[dict[str, Any]],
             deadline_seconds: float | None) -> list[dict[str, Any]]:
        seconds = check_deadline(deadline_seconds) if deadline_seconds is not None \
            else self.deadline_seconds
        deadline = time.monotonic() + seconds
        runtime = self._runtime_for(seconds)
        stop = threading.Event()
        progress = {"attempts": 0, "last_error": None}
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="calltime-client")
        try:
            futures: list[Future] = [pool.submit(self._send, runtime, body, (deadline, seconds),
                                                 stop, progress) for body in bodies]
            done, pending = wait(futures, timeout=max(0.0, deadline - time.monotonic()),
                                 return_when=FIRST_EXCEPTION)
            for future in done:
                error = future.exception()
                if error is not None and not isinstance(error, _Stopped):
                    raise error
            if pending:
                # Stopped and read under the lock a request is counted under: no request is
                # sent (or counted) after the attempts the error names.
                with self._stats_lock:
                    stop.set()
                    attempts = progress["attempts"]
                raise DeadlineExceeded(seconds, attempts, progress["last_error"])
            return [future.result() for future in futures]
        finally:
            # Requests not yet sent are not sent; one waiting for its answer stops waiting at
            # the deadline and gives its slot back (its SDK read ends by then too, in a daemon
            # thread that never keeps the process alive).
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)

    def _invoke(self, runtime: Any, payload: bytes, deadline: float, stop: threading.Event,
                progress: dict[str, Any], retry: bool) -> dict[str, Any]:
        """One InvokeEndpoint in a slot of `concurrency`, waited for at most until `deadline`:
        the slot is given back when the answer comes or the deadline passes, whichever is
        first; the request itself goes on in a daemon thread until its read times out. It is
        counted (`stats.requests`, the call's attempts) only once it is sent: a request that
        never got a slot before the deadline, or whose call had already stopped, was not."""
        if not self._in_flight.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise _Stopped
        freed = threading.Lock()

        def free() -> None:
            if freed.acquire(blocking=False):
                self._in_flight.release()

        answered = threading.Event()
        outcome: dict[str, Any] = {}

        def call() -> None:
            try:
                response = runtime.invoke_endpoint(
                    EndpointName=self.endpoint_name, Body=payload,
                    ContentType="application/json", Accept="application/json")
                outcome["answer"] = json.loads(response["Body"].read())
            except BaseException as err:
                outcome["error"] = err
            finally:
                free()
                answered.set()

        # A slot freed by a request given up at the deadline comes too late to be used; the
        # check and the count are one step under the lock the call's end reads them under.
        with self._stats_lock:
            if stop.is_set() or time.monotonic() >= deadline:
                free()
                raise _Stopped
            self.stats.requests += 1
            self.stats.retries += int(retry)  # a retry counted as it is sent, never before
            progress["attempts"] += 1
        threading.Thread(target=call, name="calltime-client-request", daemon=True).start()
        while not answered.wait(min(0.05, max(0.0, deadline - time.monotonic()))):
            if stop.is_set() or time.monotonic() >= deadline:
                free()
                raise _Stopped
        if "error" in outcome:
            raise outcome["error"]
        return outcome["answer"]

    def _send(self, runtime: Any, body: dict[str, Any], deadline_of: tuple[float, float],
              stop: threading.Event, progress: dict[str, Any]) -> dict[str, Any]:
        deadline, seconds = deadline_of
        payload = json.dumps(body, separators=(",", ":")).encode()
        attempt = 0
        while True:
            if stop.is_set():
                raise _Stopped
            try:
                return self._invoke(runtime, payload, deadline, stop, progress, attempt > 0)
            except _Stopped:
                if time.monotonic() >= deadline and not stop.is_set():
                    raise DeadlineExceeded(seconds, progress["attempts"],
                                           progress["last_error"]) from None
                raise
            except Exception as err:
                if not is_retryable(err):
                    self._count(refused=1)
                    raise _request_error(err) from err
                progress["last_error"] = err
                code = err.response["Error"].get("Code") if isinstance(err, ClientError) else ""
                self._count(throttled=code == "ThrottlingException",
                            not_ready=code == "ModelNotReadyException",
                            unavailable=code not in ("ThrottlingException",
                                                     "ModelNotReadyException"))
            pause = min(self.backoff.delay(attempt, self._random), deadline - time.monotonic())
            if pause > 0 and stop.wait(pause):
                raise _Stopped
            if time.monotonic() >= deadline:
                raise DeadlineExceeded(seconds, progress["attempts"], progress["last_error"])
            attempt += 1


class _Stopped(Exception):
    """Another request failed or the deadline passed: this one is not sent."""


def _request_error(err: BaseException) -> CampaignClientError:
    """A 4xx as the caller should see it: the endpoint's own message."""
    if not isinstance(err, ClientError):
        return CampaignClientError(f"{type(err).__name__}: {err}")
    response = err.response
    code = response.get("Error", {}).get("Code", "")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
    message = response.get("Error", {}).get("Message", str(err))
    if code == "ModelError":
        status = response.get("OriginalStatusCode") or status
        original = response.get("OriginalMessage") or ""
        try:
            message = json.loads(original).get("message", original)
        except (json.JSONDecodeError, AttributeError):
            message = original or message
    return EndpointRequestError(message, status, code)
