"""Where SageMaker Serverless Inference is offered: the one list the synth warning and the first
run's error both read.

From the "Deploy models with Amazon SageMaker Serverless Inference" guide's region list as
checked when this was written; AWS adds regions over time, so a region missing here gets a
warning, never a refusal. il-central-1 (the first target) was not in that list: confirm in the
AWS Regional Services List before deploying there.
"""

from __future__ import annotations

SERVERLESS_INFERENCE_REGIONS = frozenset({
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1",
    "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1",
    "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3",
    "eu-south-1", "eu-north-1", "me-south-1", "sa-east-1",
})
DEPLOYING_DOC = "docs/deploying.md"


def region_warning(region: str) -> str | None:
    """What to tell the person deploying to `region`, or None where it is documented."""
    if region in SERVERLESS_INFERENCE_REGIONS:
        return None
    return (f"SageMaker Serverless Inference is not in the documented regions for {region}: "
            "the first run may fail to create the serverless endpoint config. Confirm it in the "
            f"AWS Regional Services List, or deploy to another region (see {DEPLOYING_DOC}).")
