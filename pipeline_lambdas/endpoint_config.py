"""Step 4 core: a versioned SageMaker Model and serverless EndpointConfig, idempotently; and what
the endpoint serves before this run touches it (the rollback target, whatever happens later).

A run asked to deploy the version the endpoint already serves is refused here
(`VersionAlreadyLive`), before the endpoint is touched: Deploy would find nothing to do, and a
rollback after a failed health check would have nothing to go back to."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

from inference_code.artifact_layout import CODE_DIR, ENTRY_POINT
from pipeline_lambdas.clients import client
from pipeline_lambdas.contract import VARIANT_NAME, check_serverless
from pipeline_lambdas.deployment import describe
from pipeline_lambdas.errors import ServerlessNotAvailable, VersionAlreadyLive
from pipeline_lambdas.events import read_field
from pipeline_lambdas.observability import step_handler
from pipeline_lambdas.serverless_regions import region_warning
from pipeline_lambdas.settings import PipelineSettings

MODEL_DIR = "/opt/ml/model"  # where the serving container extracts model.tar.gz


@dataclass(frozen=True)
class ModelAndConfig:
    model_name: str
    endpoint_config_name: str
    memory_size_mb: int
    max_concurrency: int
    created: bool  # False when a retry found both already there
    # The config the endpoint serves before this run touches it ("" when there is no endpoint,
    # or a Failed one): Deploy and Rollback never leave the endpoint worse than that.
    live_endpoint_config_name: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _exists(call, **kwargs: Any) -> bool:
    try:
        call(**kwargs)
        return True
    except ClientError as err:
        if err.response["Error"]["Code"] in ("ValidationException", "ResourceNotFound"):
            return False
        raise


def create_model_and_config(sagemaker, settings: PipelineSettings, version: str,
                            artifact_uri: str, memory_size_mb: int | None = None,
                            max_concurrency: int | None = None,
                            tags: dict[str, str] | None = None) -> ModelAndConfig:
    """Create both under the version's name; a retry reuses what the first attempt made."""
    memory = memory_size_mb if memory_size_mb is not None else settings.memory_size_mb
    concurrency = max_concurrency if max_concurrency is not None else settings.max_concurrency
    check_serverless(memory, concurrency, "memory_size_mb", "max_concurrency")
    name = settings.versioned_name(version)
    live = live_config(sagemaker, settings.endpoint_name)
    if live == name:
        raise VersionAlreadyLive(f"{version} is already live on {settings.endpoint_name} "
                                 f"(endpoint config {name}): nothing to deploy")
    tag_list = [{"Key": k, "Value": v} for k, v in {
        "project": settings.project_name, "environment": settings.environment,
        "model-version": version, **(tags or {})}.items()]
    created = False
    if not _exists(sagemaker.describe_model, ModelName=name):
        sagemaker.create_model(
            ModelName=name, ExecutionRoleArn=settings.execution_role_arn,
            PrimaryContainer={
                "Image": settings.container_image, "ModelDataUrl": artifact_uri,
                "Environment": {"SAGEMAKER_PROGRAM": ENTRY_POINT,
                                "SAGEMAKER_SUBMIT_DIRECTORY": f"{MODEL_DIR}/{CODE_DIR}",
                                "SAGEMAKER_CONTAINER_LOG_LEVEL": "20"}},
            Tags=tag_list)
        created = True
    if not _exists(sagemaker.describe_endpoint_config, EndpointConfigName=name):
        try:
            sagemaker.create_endpoint_config(
                EndpointConfigName=name,
                ProductionVariants=[{"VariantName": VARIANT_NAME, "ModelName": name,
                                     "ServerlessConfig": {"MemorySizeInMB": memory,
                                                          "MaxConcurrency": concurrency}}],
                Tags=tag_list)
        except ClientError as err:
            hint = region_warning(sagemaker.meta.region_name)
            if hint is None:
                raise
            raise ServerlessNotAvailable(f"{hint} (SageMaker said: "
                                         f"{err.response['Error'].get('Message', err)})") from err
        created = True
    else:
        existing = sagemaker.describe_endpoint_config(EndpointConfigName=name)
        serverless = existing["ProductionVariants"][0].get("ServerlessConfig", {})
        memory, concurrency = serverless.get("MemorySizeInMB", memory), serverless.get(
            "MaxConcurrency", concurrency)
    return ModelAndConfig(name, name, memory, concurrency, created, live)


def live_config(sagemaker, endpoint_name: str) -> str:
    """The config the endpoint serves now: "" without an endpoint or with a Failed one (which
    serves nothing). An update in progress still serves its current config."""
    current = describe(sagemaker, endpoint_name)
    if current is None or current["EndpointStatus"] == "Failed":
        return ""
    return current.get("EndpointConfigName") or ""


@step_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = PipelineSettings.from_env()
    return create_model_and_config(
        client("sagemaker"), settings, read_field(event, "model_version", str),
        read_field(event, "artifact_uri", str), read_field(event, "memory_size_mb", int, None),
        read_field(event, "max_concurrency", int, None)).to_dict()
