"""The SageMaker scikit-learn inference image: the newest version whose Python and numpy are
known from its build files, which training is pinned to.

The endpoint's code runs in that image: it needs Python 3.11 or later (`datetime.UTC`) and the
numpy the image ships. Images up to 1.4-2 ship Python 3.10 or older, so a version is chosen only
from those recorded in SERVING_IMAGES with the source of what they ship; a newer version the SDK
lists is not taken until it is recorded (tests/training/test_serving_image.py then says so).

Resolved with the SageMaker SDK (`sagemaker.core.image_uris`), offline. A stack with a region
gets that region's URI; an environment-agnostic stack gets a CloudFormation mapping over every
region the SDK knows, looked up with `AWS::Region` at deploy time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from sagemaker.core import image_uris


@dataclass(frozen=True)
class ServingImage:
    """What a scikit-learn serving image ships, and where that is written."""

    python: str  # major.minor
    numpy: str  # the exact pin
    os: str
    source: str


SERVING_IMAGES = {
    "1.9-0": ServingImage(
        "3.12", "2.5.1", "Amazon Linux 2023",
        "aws/deep-learning-containers: docker/sklearn/1.9-0/Dockerfile at 4f149a0 "
        "(ARG PYTHON_VERSION=3.12), pyproject.toml and uv.lock at 2c080f6 (requires-python "
        ">=3.12,<3.13; numpy 2.5.1, scikit-learn 1.9.0); .github/config/image/sklearn/"
        "sagemaker-1.9-0.yml at 5c986bb (python_version 3.12)"),
    "1.4-2-py312": ServingImage(
        "3.12", "2.1.0", "Ubuntu 24.04",
        "aws/sagemaker-scikit-learn-container: docker/1.4-2-py312/base/Dockerfile.cpu at "
        "eae7b6b; aws/deep-learning-containers docker/sklearn/1.4-2-py312 at b62e7e1 "
        "(ARG PYTHON_VERSION=3.12, numpy==2.1.0)"),
}


@cache
def _inference_config() -> dict:
    text = resources.files("sagemaker.core.image_uri_config").joinpath("sklearn.json").read_text()
    return json.loads(text)["inference"]


def _order(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", version.split("-py")[0]))


def listed_versions() -> list[str]:
    """Every scikit-learn inference image version the SDK lists, oldest first."""
    return sorted(_inference_config()["versions"], key=_order)


def newest_version() -> str:
    """'1.9-0' today: the newest inference image the SDK lists whose Python and numpy are
    recorded (SERVING_IMAGES)."""
    return max((v for v in listed_versions() if v in SERVING_IMAGES), key=_order)


def serving_image(version: str | None = None) -> ServingImage:
    return SERVING_IMAGES[version or newest_version()]


def sklearn_version(image_version: str) -> str:
    """'1.9-0' -> '1.9.0', the scikit-learn inside the image (and in constraints.txt)."""
    return image_version.split("-py")[0].replace("-", ".")


def image_uri(region: str, version: str | None = None) -> str:
    return image_uris.retrieve(framework="sklearn", region=region,
                               version=version or newest_version(), image_scope="inference")


def regions(version: str | None = None) -> list[str]:
    """Commercial regions with the image (GovCloud, China and ISO partitions left out)."""
    registries = _inference_config()["versions"][version or newest_version()]["registries"]
    return sorted(r for r in registries
                  if not r.startswith(("cn-", "us-gov-", "us-iso")))


def region_map(version: str | None = None) -> dict[str, dict[str, str]]:
    """{region: {"image": uri}} for a CfnMapping."""
    return {region: {"image": image_uri(region, version)} for region in regions(version)}
