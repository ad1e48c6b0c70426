"""Creating the serverless endpoint config: where SageMaker may not offer it, say what to do."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from pipeline_lambdas.endpoint_config import create_model_and_config
from pipeline_lambdas.errors import ServerlessNotAvailable
from pipeline_lambdas.serverless_regions import SERVERLESS_INFERENCE_REGIONS


def _refused(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ValidationException",
                                  "Message": "The requested feature is not supported"}},
                       operation)


class _SageMaker:
    """Nothing exists yet; CreateEndpointConfig is refused, as it may be where Serverless
    Inference is not offered."""

    def __init__(self, region: str) -> None:
        self.meta = SimpleNamespace(region_name=region)

    def describe_model(self, **_: object) -> None:
        raise _refused("DescribeModel")

    describe_endpoint_config = describe_endpoint = describe_model

    def create_model(self, **_: object) -> None:
        pass

    def create_endpoint_config(self, **_: object) -> None:
        raise _refused("CreateEndpointConfig")


def test_the_refusal_says_in_one_line_what_to_do_where_serverless_is_not_documented(
        settings) -> None:
    assert "il-central-1" not in SERVERLESS_INFERENCE_REGIONS
    with pytest.raises(ServerlessNotAvailable) as err:
        create_model_and_config(_SageMaker("il-central-1"), settings, "v1", "s3://b/m.tar.gz")
    message = str(err.value)
    assert "\n" not in message and "il-central-1" in message
    assert "Regional Services List" in message and "not supported" in message


def test_elsewhere_sagemakers_own_error_stands(settings) -> None:
    with pytest.raises(ClientError, match="not supported"):
        create_model_and_config(_SageMaker("us-east-1"), settings, "v1", "s3://b/m.tar.gz")
