"""The local model server loads what the artifact ships and nothing from this repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from training import artifact

REPOSITORY = Path(__file__).resolve().parents[2]


def _load(model_dir: Path) -> subprocess.CompletedProcess:
    """ServingApp in a fresh interpreter started in the repository (the worst case: the repo's
    packages are importable from the working directory and the editable install)."""
    script = textwrap.dedent(f"""
        import json, sys
        from pathlib import Path
        from localaws.model_server import ServingApp
        app = ServingApp(Path({str(model_dir)!r}))
        print(json.dumps({{name: module.__file__ for name, module in sys.modules.items()
                          if name == "inference" or name.split(".")[0] == "inference_code"}}))
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-c", script], cwd=REPOSITORY, env=env,
                          capture_output=True, text=True, timeout=60)


def test_every_handler_module_comes_from_the_artifact(trained, tmp_path) -> None:
    model_dir = artifact.extract(trained.artifact, tmp_path / "model")
    done = _load(model_dir)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert {"inference", "inference_code", "inference_code.request_parsing"} <= set(loaded)
    outside = {name: path for name, path in loaded.items()
               if not path.startswith(str(model_dir / "code"))}
    assert not outside


def test_a_module_the_artifact_does_not_ship_fails_to_load(trained, tmp_path) -> None:
    model_dir = artifact.extract(trained.artifact, tmp_path / "model")
    (model_dir / "code" / "inference_code" / "request_parsing.py").unlink()
    done = _load(model_dir)
    assert done.returncode != 0
    assert "No module named 'inference_code.request_parsing'" in done.stderr
