"""Training uses the scikit-learn of the serving container the deployment uses, which is the
one docs/model.md says is chosen (its table of serving images): expected values come from there,
not from the code that chooses."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import sklearn
from sagemaker.core import image_uris

from infra import images

ROOT = Path(__file__).resolve().parents[2]


def documented_chosen() -> str:
    """The serving image docs/model.md's table marks `(chosen)`, e.g. '1.9-0'."""
    found = re.search(r"^\| `([\d.\-a-z]+)` \(chosen\) \|",
                      (ROOT / "docs" / "model.md").read_text(), re.MULTILINE)
    assert found, "docs/model.md: the serving image table marks no image (chosen)"
    return found.group(1)


def test_the_deployment_chooses_the_image_the_docs_say() -> None:
    assert images.newest_version() == documented_chosen()


def test_training_sklearn_equals_the_chosen_serving_container() -> None:
    version = documented_chosen().split("-py")[0].replace("-", ".")  # 1.9-0 -> 1.9.0
    assert sklearn.__version__ == version
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert f"scikit-learn=={version}" in pyproject["project"]["dependencies"]
    assert f"scikit-learn=={version}" in (ROOT / "constraints.txt").read_text().splitlines()


@pytest.mark.parametrize("region", ["il-central-1", "us-east-1", "eu-west-1"])
def test_image_resolves_for_region(region: str) -> None:
    chosen = documented_chosen()
    uri = image_uris.retrieve(framework="sklearn", region=region, version=chosen,
                              image_scope="inference")
    assert re.fullmatch(rf"\d+\.dkr\.ecr\.{region}\.amazonaws\.com/sagemaker-scikit-learn:"
                        rf"{re.escape(chosen)}-cpu-py3", uri)
    assert images.image_uri(region) == uri  # what the stack puts in the model
