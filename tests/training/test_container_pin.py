"""Training uses the scikit-learn of the serving container the deployment uses by default."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import sklearn
from sagemaker.core import image_uris

from infra import images

ROOT = Path(__file__).resolve().parents[2]


def newest_inference_version() -> str:
    return images.newest_version()


def container_sklearn(version: str) -> str:
    return images.sklearn_version(version)


def test_training_sklearn_equals_the_newest_serving_container() -> None:
    newest = newest_inference_version()
    assert sklearn.__version__ == container_sklearn(newest)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert f"scikit-learn=={container_sklearn(newest)}" in pyproject["project"]["dependencies"]
    constraints = (ROOT / "constraints.txt").read_text().splitlines()
    assert f"scikit-learn=={container_sklearn(newest)}" in constraints


@pytest.mark.parametrize("region", ["il-central-1", "us-east-1", "eu-west-1"])
def test_image_resolves_for_region(region: str) -> None:
    uri = image_uris.retrieve(framework="sklearn", region=region,
                              version=newest_inference_version(), image_scope="inference")
    assert re.fullmatch(rf"\d+\.dkr\.ecr\.{region}\.amazonaws\.com/sagemaker-scikit-learn:"
                        rf"{re.escape(newest_inference_version())}-cpu-py3", uri)
