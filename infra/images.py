"""The SageMaker scikit-learn inference image: the newest version, which training is pinned to.

Resolved with the SageMaker SDK (`sagemaker.core.image_uris`), offline. A stack with a region
gets that region's URI; an environment-agnostic stack gets a CloudFormation mapping over every
region the SDK knows, looked up with `AWS::Region` at deploy time.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

from sagemaker.core import image_uris


@cache
def _inference_config() -> dict:
    text = resources.files("sagemaker.core.image_uri_config").joinpath("sklearn.json").read_text()
    return json.loads(text)["inference"]


def newest_version() -> str:
    """'1.9-0' today: the newest scikit-learn inference image version the SDK lists."""

    def key(version: str) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", version.split("-py")[0]))

    return max(_inference_config()["versions"], key=key)


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
