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


_WHEEL = re.compile(r"(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-(?P<python>[^-]+)-"
                    r"(?P<abi>[^-]+)-(?P<platform>[^-]+)\.whl")


def loadable(wheel: str, python: str) -> bool:
    """Whether the base image's Python (`python`, e.g. 3.12) on x86_64 with its glibc loads
    this wheel, by the tags in its file name (PEP 427, PEP 600)."""
    tags = _WHEEL.fullmatch(wheel)
    assert tags, f"{wheel} is not a wheel file name"
    cp = f"cp{python.replace('.', '')}"
    pythons, abis = set(tags["python"].split(".")), set(tags["abi"].split("."))
    if not pythons & {cp, "py3", f"py{python.replace('.', '')}"} and not (
            "abi3" in abis and any(p.startswith("cp3") for p in pythons)):
        return False
    if not abis & {cp, "abi3", "none"}:
        return False
    glibc = GLIBC_MINOR[python]
    for platform in tags["platform"].split("."):
        if platform == "any":
            return True
        legacy = {"manylinux1_x86_64": 5, "manylinux2010_x86_64": 12,
                  "manylinux2014_x86_64": 17}
        match = re.fullmatch(r"manylinux_2_(\d+)_x86_64", platform)
        minor = int(match[1]) if match else legacy.get(platform)
        if minor is not None and minor <= glibc:
            return True
    return False


def registry_answered(python: str, target: Path) -> None:
    """The registry is asked for one package that has a wheel for every Python and glibc (a
    pure one of the image's): an answer proves it was reached, so a refusal after it means
    what it says (a dead index would also say "No matching distribution")."""
    pin = next(line for line in (ROOT / "constraints.txt").read_text().splitlines()
               if re.match(r"aws[-_]lambda[-_]powertools==", line, re.IGNORECASE))
    probe = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--only-binary=:all:", "--implementation", "cp", "--python-version",
         python, "--platform", "manylinux2014_x86_64", pin, "-d", str(target)],
        capture_output=True, text=True, timeout=300)
    assert probe.returncode == 0, ("the package registry did not answer, so nothing can be "
                                   f"judged: {probe.stderr[-1000:]}")


@pytest.mark.slow
def test_every_image_package_has_a_wheel_for_the_base_image(tmp_path: Path) -> None:
    python = base_python()
    done = wheels_resolve(python, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    wheels = sorted(p.name for p in tmp_path.iterdir())
    assert any(w.startswith("scikit_learn-1.9.0-") for w in wheels), wheels
    assert not [w for w in wheels if not w.endswith(".whl")]  # no source archive
    assert [w for w in wheels if not loadable(w, python)] == []


@pytest.mark.slow
def test_the_check_fails_where_wheels_are_missing(tmp_path: Path) -> None:
    """Amazon Linux 2 (python:3.11): the pinned numpy, scipy and scikit-learn have no wheels
    for glibc 2.26, so nothing resolves, once the registry is known to have answered."""
    registry_answered("3.11", tmp_path / "probe")
    done = wheels_resolve("3.11", tmp_path / "image")
    assert done.returncode != 0
    assert re.search(r"No matching distribution found for (numpy|scipy|scikit-learn)==",
                     done.stderr) or "ResolutionImpossible" in done.stderr, done.stderr[-2000:]


@pytest.mark.parametrize(("wheel", "python", "loads"), [
    ("numpy-2.4.6-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", "3.12", True),
    ("numpy-2.4.6-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", "3.11", False),
    ("numpy-2.4.6-cp311-cp311-manylinux_2_35_x86_64.whl", "3.12", False),
    ("pyarrow-26.0.1-cp312-cp312-manylinux_2_34_x86_64.whl", "3.12", True),
    ("six-1.16.0-py2.py3-none-any.whl", "3.12", True),
    ("cffi-2.0.0-cp312-abi3-manylinux2014_x86_64.whl", "3.12", True),
    ("x-1.0-cp312-cp312-macosx_11_0_arm64.whl", "3.12", False),
])
def test_wheel_tags_are_read_as_the_image_would(wheel: str, python: str, loads: bool) -> None:
    assert loadable(wheel, python) is loads
