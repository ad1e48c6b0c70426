"""The commands a data scientist runs, end to end: generate -> train -> serve -> invoke."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

CLI = [sys.executable, "-m", "calltime"]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_trained_artifact_serves_with_its_own_code(tmp_path: Path) -> None:
    done = _run("generate", "--out", "data", "--contacts", "300", "--seed", "3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = _run("train", "--calls", "data/calls.csv", "--out", "model", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["rows_rejected"] > 0 and Path(tmp_path / "model/model.tar.gz").exists()

    model_dir = tmp_path / "opt_ml_model"
    server = subprocess.Popen(
        [*CLI, "serve", "--model", "model/model.tar.gz", "--port", "0", "--workers", "1",
         "--model-dir", str(model_dir)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        # --port 0: the OS picks a free port, and serve says which (no bind-then-close race).
        port = int(server.stdout.readline().strip().rsplit(":", 1)[1])
        body = json.dumps({"contacts": [{"contact_id": "c-000001"}], "top_k": 2,
                           "as_of": "2026-06-01T06:00:00Z"})
        deadline = time.monotonic() + 30
        while True:
            done = _run("invoke", "--url", f"http://127.0.0.1:{port}", "--body", body,
                        cwd=tmp_path)
            if done.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert done.returncode == 0, done.stderr
        slots = json.loads(done.stdout)["recommendations"][0]["slots"]
        assert len(slots) == 2
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        log = server.communicate(timeout=20)[0]
    # The worker loaded the artifact's own code, not the repository's modules.
    loaded = [line for line in log.splitlines() if "model loaded by" in line]
    assert loaded, log
    assert f"{model_dir}/code/inference.py" in loaded[0]
    assert f"{model_dir}/code/inference_code/__init__.py" in loaded[0]
