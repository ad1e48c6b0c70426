"""A local SageMaker account that outlives one process: its models, configs and settled
endpoints as JSON, and back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from localaws.sagemaker.api import Endpoint, LocalSageMaker
from localaws.sagemaker.errors import SageMakerError


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def snapshot(sagemaker: LocalSageMaker) -> dict[str, Any]:
    """Models, configs and settled endpoints, JSON-serializable."""
    with sagemaker.lock:
        return {
            "models": [{k: _plain(v) for k, v in m.items()}
                       for m in sagemaker.models.values()],
            "configs": [{k: _plain(v) for k, v in c.items()}
                        for c in sagemaker.configs.values()],
            "endpoints": [{"name": e.name, "config_name": e.config_name,
                           "status": e.status, "created": e.created.isoformat(),
                           "failure_reason": e.failure_reason}
                          for e in sagemaker.endpoints.values()],
        }


def restore(sagemaker: LocalSageMaker, saved: dict[str, Any]) -> None:
    """Recreate a snapshot. An endpoint that was InService gets its config's model data
    again (a missing object fails it); serverless, it stays scaled to zero until invoked."""
    def parse(record: dict[str, Any]) -> dict[str, Any]:
        return {k: dt.datetime.fromisoformat(v) if k == "CreationTime" else v
                for k, v in record.items()}

    with sagemaker.lock:
        sagemaker.models.update({m["ModelName"]: parse(m) for m in saved["models"]})
        sagemaker.configs.update({c["EndpointConfigName"]: parse(c) for c in saved["configs"]})
    for record in saved["endpoints"]:
        created = dt.datetime.fromisoformat(record["created"])
        endpoint = Endpoint(record["name"], sagemaker.arn("endpoint", record["name"]),
                            record["config_name"], "Failed", created,
                            dt.datetime.now(dt.UTC), failure_reason=record.get("failure_reason"))
        if record["status"] == "InService":
            try:
                server = sagemaker.provision(record["config_name"])
            except SageMakerError as err:
                endpoint.failure_reason = f"restoring the local endpoint: {err.message}"
            else:
                if not sagemaker.scale_to_zero:
                    sagemaker.servers.start(server)
                endpoint.server, endpoint.status = server, "InService"
        with sagemaker.lock:
            sagemaker.endpoints[endpoint.name] = endpoint
