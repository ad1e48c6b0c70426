"""Step 9 core: delete old models and endpoint configs, never what the endpoint really uses.

What is kept comes from DescribeEndpoint (never from what the run intended): the live config,
the one being deployed if a deployment is somehow in progress, the previous config (the next
rollback target) and the newest `keep` versions. Model and config share the versioned name.
S3 artifacts are never deleted here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline_lambdas.clients import client
from pipeline_lambdas.contract import resource_prefix
from pipeline_lambdas.deployment import describe
from pipeline_lambdas.events import read_field
from pipeline_lambdas.live_model import record_live_model
from pipeline_lambdas.observability import step_handler
from pipeline_lambdas.settings import PipelineSettings


@dataclass
class CleanupResult:
    kept: list[str] = field(default_factory=list)
    deleted_configs: list[str] = field(default_factory=list)
    deleted_models: list[str] = field(default_factory=list)
    live_model: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _names(pages, key: str, name_key: str) -> list[tuple[Any, str]]:
    return [(item["CreationTime"], item[name_key]) for page in pages for item in page[key]]


def cleanup(sagemaker, endpoint_name: str, name_prefix: str, keep: int,
            previous_config: str | None = None) -> CleanupResult:
    current = describe(sagemaker, endpoint_name) or {}
    protected = {current.get("EndpointConfigName"), previous_config,
                 current.get("PendingDeploymentSummary", {}).get("EndpointConfigName")}
    protected.discard(None)
    configs = sorted(_names(sagemaker.get_paginator("list_endpoint_configs").paginate(
        NameContains=name_prefix), "EndpointConfigs", "EndpointConfigName"), reverse=True)
    models = sorted(_names(sagemaker.get_paginator("list_models").paginate(
        NameContains=name_prefix), "Models", "ModelName"), reverse=True)
    newest = {name for _, name in configs[:keep]} | {name for _, name in models[:keep]}
    kept = protected | newest
    result = CleanupResult(kept=sorted(kept))
    for _, name in configs:
        if name.startswith(name_prefix) and name not in kept:
            sagemaker.delete_endpoint_config(EndpointConfigName=name)
            result.deleted_configs.append(name)
    for _, name in models:
        if name.startswith(name_prefix) and name not in kept:
            sagemaker.delete_model(ModelName=name)
            result.deleted_models.append(name)
    return result


@step_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Record the live model (SSM), then delete old versions; runs after deploys and rollbacks."""
    settings = PipelineSettings.from_env()
    prefix = f"{resource_prefix(settings.project_name, settings.environment)}-"
    live = None
    if settings.live_model_parameter:
        live = record_live_model(client("sagemaker"), client("ssm"), settings.endpoint_name,
                                 settings.live_model_parameter)
    result = cleanup(client("sagemaker"), settings.endpoint_name, prefix,
                     settings.versions_to_keep,
                     read_field(event, "previous_endpoint_config_name", str, None) or None)
    result.live_model = live
    return result.to_dict()
