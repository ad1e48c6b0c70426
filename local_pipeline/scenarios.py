"""What `make pipeline SCENARIO=...` changes in the world before (or during) a run, and where the
run must end to have shown it: one record per scenario in SCENARIOS.

The state machine and the handlers are never changed: a scenario only supplies different data,
starts more than one run, or, like a bad build would, puts a different artifact where the package
step published one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3

from localaws.artifact_faults import garbage_artifact
from pipeline_lambdas.contract import EndState
from training.log_faults import shuffled_labels, without_answered


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    # the final states that show what the scenario means to show
    expected_ends: tuple[EndState, ...]
    # (demo calls.csv, target path) -> the log to train on; None: the demo log itself
    make_log: Callable[[Path, Path], Path] | None = None
    # applied to the model.tar.gz bytes right after the package step publishes them
    artifact_fault: Callable[[bytes], bytes] | None = None
    runs: int = 1  # executions started together
    needs_live_model: bool = False  # a first run deploys one when there is none
    force_deploy: bool = False  # past the gate (which keeps a live model trained on this data)


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("deploy", "the demo call log; the first run creates the endpoint, a later run on "
             "new data updates it, on the same data the gate keeps the live model",
             (EndState.DEPLOYED, EndState.KEPT_CURRENT_MODEL)),
    Scenario("broken-model", "the published model.tar.gz loads and pings but answers garbage "
             "(deployed with force_deploy): the health check fails, the endpoint is rolled "
             "back, the previous model keeps answering", (EndState.ROLLED_BACK,),
             artifact_fault=garbage_artifact, needs_live_model=True, force_deploy=True),
    Scenario("worse-model", "the call log's `answered` labels are shuffled: the model learns "
             "nothing, the quality gate keeps the live model", (EndState.KEPT_CURRENT_MODEL,),
             make_log=shuffled_labels, needs_live_model=True),
    Scenario("bad-data", "a call log without the `answered` column: training refuses it, the "
             "endpoint is never touched", (EndState.PIPELINE_FAILED,),
             make_log=without_answered),
    Scenario("concurrent", "two runs started together: one takes the lock (and deploys, or "
             "keeps a live model trained on this data), the other is refused",
             (EndState.DEPLOYED, EndState.KEPT_CURRENT_MODEL), runs=2),
)}


def with_artifact_fault(handler: Callable[[dict, Any], dict],
                        fault: Callable[[bytes], bytes]) -> Callable[[dict, Any], dict]:
    """Wrap the package step's handler: after it publishes, the artifact is replaced."""
    def run(event: dict, context: Any) -> dict:
        result = handler(event, context)
        uri = urlparse(result["artifact_uri"])
        s3 = boto3.client("s3")
        key = uri.path.lstrip("/")
        data = s3.get_object(Bucket=uri.netloc, Key=key)["Body"].read()
        s3.put_object(Bucket=uri.netloc, Key=key, Body=fault(data))
        return result

    return run
