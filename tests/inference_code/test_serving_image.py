"""The endpoint's code runs in the serving image the deployment chooses: its Python is at least
what the code needs (vermin reads the code), and the handlers answer the same under the image's
numpy, in an environment this test makes itself (Python 3.12 and exactly that numpy, nothing of
this repository), as under the project's."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infra import images

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SERVING_ENV = ROOT / ".venv-serving"  # made here, kept between runs (like .venv)
CONTRACT = ROOT / "tests" / "support" / "serving_contract.py"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


def minimum_python(path: Path) -> str:
    """The least Python every module under `path` runs on, as vermin finds it."""
    done = subprocess.run([str(BIN / "vermin"), "--no-tips", "--eval-annotations",
                           "--no-parse-comments", str(path)],
                          capture_output=True, text=True, check=True)
    found = re.search(r"Minimum required versions: (?:~?2[.\d]*, )?(3\.\d+)", done.stdout)
    assert found, done.stdout[-2000:]
    return found.group(1)


def test_the_endpoint_code_needs_no_newer_python_than_the_chosen_image_ships() -> None:
    needed, image = minimum_python(ROOT / "inference_code"), images.serving_image()
    assert _version(needed) <= _version(image.python), (
        f"inference_code needs Python {needed}; the {images.newest_version()} serving image "
        f"ships {image.python} ({image.source})")


def test_an_image_the_sdk_lists_is_taken_only_once_what_it_ships_is_recorded() -> None:
    """A newer version in sagemaker-core fails here until its Python and numpy are written
    into SERVING_IMAGES with their source; until then the deployment keeps the one it knows."""
    listed = images.listed_versions()
    assert images.newest_version() == listed[-1], (
        f"sagemaker-core lists {listed[-1]}, newer than {images.newest_version()}: record its "
        "Python and numpy (and where they are written) in infra/images.SERVING_IMAGES")
    assert set(images.SERVING_IMAGES) <= set(listed)
    for version, image in images.SERVING_IMAGES.items():
        assert re.fullmatch(r"3\.\d+", image.python) and image.source, version


def serving_environment(image: images.ServingImage) -> Path:
    """.venv-serving: the image's Python series and exactly its numpy (and pytest), made with
    the project's uv; rebuilt when the image's pins change."""
    from filelock import FileLock

    stamp = SERVING_ENV / f".made-{image.python}-{image.numpy}"
    python = SERVING_ENV / "bin" / "python"
    with FileLock(f"{SERVING_ENV}.lock"):  # pytest-xdist workers make it once
        if not stamp.exists():
            _make_serving_environment(image)
    return python


def _make_serving_environment(image: images.ServingImage) -> None:
    # The image's Python series from this machine (the project's own is 3.12, as the image's),
    # never one uv would download.
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == image.python, (
        f"the serving image runs Python {image.python}; make test runs on "
        f"{sys.version_info.major}.{sys.version_info.minor}")
    uv = str(BIN / "uv")
    subprocess.run([uv, "venv", "--quiet", "--clear", "--no-python-downloads", "--python",
                    sys._base_executable, str(SERVING_ENV)], check=True)
    subprocess.run([uv, "pip", "install", "--quiet", "--python",
                    str(SERVING_ENV / "bin" / "python"), f"numpy=={image.numpy}"], check=True)
    (SERVING_ENV / f".made-{image.python}-{image.numpy}").touch()


REQUESTS = [
    {"body": json.dumps({"features": [1, 19, 0.4]}), "content_type": "application/json",
     "accept": "application/json"},
    {"body": json.dumps({"features": [[0, 9, 0.1], [6, 21, 0.9], [3, 13, 0.5]]}),
     "content_type": "application/json", "accept": "text/csv"},
    {"body": json.dumps({"contacts": [{"contact_id": "c-1", "timezone": "Asia/Jerusalem",
                                       "history": [{"called_at": "2026-11-29T17:05:00Z",
                                                    "answered": True},
                                                   {"called_at": "2026-11-30T09:10:00Z",
                                                    "answered": False}]}],
                         "as_of": "2026-12-01T00:00:00Z", "top_k": 3}),
     "content_type": "application/json", "accept": "application/json"},
    {"body": "{not json", "content_type": "application/json", "accept": "application/json"},
]


@pytest.mark.slow
def test_the_handlers_answer_the_same_under_the_images_python_and_numpy(trained,
                                                                        tmp_path) -> None:
    image = images.serving_image()
    python = serving_environment(image)
    requests = tmp_path / "requests.json"
    requests.write_text(json.dumps(REQUESTS))

    def answers(interpreter: Path) -> dict:
        # -I: isolated, nothing of this repository on the path; run from elsewhere.
        done = subprocess.run([str(interpreter), "-I", str(CONTRACT), str(trained.artifact),
                               str(requests)], capture_output=True, text=True, cwd=tmp_path,
                              env={"PATH": os.environ.get("PATH", "")}, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout)

    image_side, ours = answers(python), answers(Path(sys.executable))
    assert image_side["numpy"] == image.numpy and \
        image_side["python"].startswith(f"{image.python}.")
    assert image_side["handlers_from_artifact"] and ours["handlers_from_artifact"]
    assert image_side["answers"] == ours["answers"]
    assert all("raised" not in a for a in image_side["answers"])
    assert json.loads(image_side["answers"][0]["body"])["predictions"][0] > 0
    assert '"error"' in image_side["answers"][3]["body"]  # refused by name, not a crash
