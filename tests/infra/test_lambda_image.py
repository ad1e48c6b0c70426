"""The pipeline's Lambda image can be built: every package it installs has a wheel for the
image's Python and glibc (its base image has no compiler, so a source build fails `cdk deploy`).

Asks the package registry (reachable from tests and CI) with `pip download --only-binary`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "infra" / "lambda.Dockerfile"
REQUIREMENTS = ROOT / "infra" / "lambda-requirements.txt"
# glibc of the Lambda Python base images: Amazon Linux 2 up to 3.11, Amazon Linux 2023 after.
GLIBC_MINOR = {"3.9": 26, "3.10": 26, "3.11": 26, "3.12": 34, "3.13": 34}


def base_python() -> str:
    match = re.search(r"^FROM public\.ecr\.aws/lambda/python:(\d+\.\d+)\s*$",
                      DOCKERFILE.read_text(), re.MULTILINE)
    assert match, f"{DOCKERFILE}: expected FROM public.ecr.aws/lambda/python:<version>"
    return match.group(1)


def wheels_resolve(python: str, target: Path) -> subprocess.CompletedProcess:
    """pip download of the image's packages, wheels only, for that Python on x86_64 Linux with
    the base image's glibc (every manylinux tag it can load)."""
    platforms = [f"manylinux_2_{minor}_x86_64" for minor in range(5, GLIBC_MINOR[python] + 1)]
    platforms += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
               "--only-binary=:all:", "--implementation", "cp", "--python-version", python,
               *[arg for p in platforms for arg in ("--platform", p)],
               "-c", str(ROOT / "constraints.txt"), "-r", str(REQUIREMENTS), "-d", str(target)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def test_the_image_runs_the_python_the_project_runs() -> None:
    assert base_python() == f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.mark.slow
def test_every_image_package_has_a_wheel_for_the_base_image(tmp_path: Path) -> None:
    done = wheels_resolve(base_python(), tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert any(p.name.startswith("scikit_learn-") for p in tmp_path.iterdir())


def test_the_check_fails_where_wheels_are_missing(tmp_path: Path) -> None:
    """Amazon Linux 2 (python:3.11): the pinned numpy, scipy and scikit-learn have no wheels
    for glibc 2.26, so nothing resolves."""
    done = wheels_resolve("3.11", tmp_path)
    assert done.returncode != 0
    assert "ResolutionImpossible" in done.stderr or "No matching distribution" in done.stderr
