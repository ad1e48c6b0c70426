"""`calltime local endpoint` in a subprocess: a local SageMaker endpoint behind the SageMaker
Runtime HTTP API, reached by the real SDKs as a caller outside the pipeline reaches AWS."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config


@contextmanager
def local_endpoint(artifact: Path, *flags: str, log: Path) -> Iterator[dict[str, Any]]:
    """Start it (`flags` as the command takes them), yield its ready line, stop it."""
    command = [sys.executable, "-m", "calltime", "local", "endpoint", "--model", str(artifact),
               "--port", "0", *flags]
    with log.open("w") as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True,
                                   start_new_session=True)
    try:
        line = process.stdout.readline()
        if not line:
            process.wait(timeout=10)
            raise RuntimeError(f"calltime local endpoint ended: {log.read_text()[-2000:]}")
        yield json.loads(line)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def runtime_client(url: str, region: str = "il-central-1") -> Any:
    """boto3's sagemaker-runtime client pointed at the local API, without the SDK's retries."""
    return boto3.session.Session().client(
        "sagemaker-runtime", endpoint_url=url, region_name=region,
        aws_access_key_id="local", aws_secret_access_key="local",
        config=Config(retries={"total_max_attempts": 1}))
