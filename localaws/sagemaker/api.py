"""The local SageMaker API: the few operations calltime uses, with real endpoint lifecycles.

moto's SageMaker has no UpdateEndpoint, no status transitions and a canned InvokeEndpoint, so this
is calltime's own. Endpoints really serve: a worker thread has the model data downloaded from
(moto) S3 and extracted, and a model server started (`localaws.sagemaker.servers`); the endpoint
goes InService only when `/ping` answers. Behaviour follows the SageMaker API
reference (CreateEndpoint, UpdateEndpoint, DescribeEndpoint, InvokeEndpoint):
- Create/Update return at once with the endpoint Creating/Updating; DescribeEndpoint shows it.
- A failed create ends `Failed` with a FailureReason.
- A failed update rolls back: the endpoint passes through `RollingBack` and returns to InService
  on the PREVIOUS endpoint config, with a FailureReason, or with none (`silent_update_failures`),
  as real SageMaker sometimes does; only EndpointConfigName tells the update did not take.
- While creating or updating, DescribeEndpoint shows the config being deployed in
  PendingDeploymentSummary and the one still serving in EndpointConfigName.
- An endpoint being updated keeps serving its current model; UpdateEndpoint on an endpoint that
  is not InService is a ValidationException, as is any unknown name.
- Serverless scale-to-zero (`scale_to_zero=True`, the default): once a deployment has passed its
  health check the server is stopped, and the next invocation starts it again and pays the real
  model load plus `cold_start_delay` seconds (default 3: the model download and the container's
  `pip install` of code/ that SageMaker does on every cold start), as a serverless cold start
  does; every cold start's setup time is recorded. With `idle_seconds`, an endpoint left idle
  that long scales to zero again (serverless does, after some minutes without traffic).
- While a cold start provisions, other requests wait for it; with `not_ready_while_cold=True`
  they get ModelNotReadyException (429: "resources are still being provisioned"), as a
  serverless variant may answer them.
- InvokeEndpoint forwards to the live server; a 4xx/5xx from the model is a ModelError with
  OriginalStatusCode/OriginalMessage; more in-flight requests than the config's MaxConcurrency
  is a ThrottlingException.
"""

from __future__ import annotations

import datetime as dt
import http.client
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localaws.sagemaker.errors import SageMakerError
from localaws.sagemaker.errors import validation as _validation
from localaws.sagemaker.servers import VARIANT, ModelServer, ModelServers
from pipeline_lambdas.contract import SERVERLESS_MAX_CONCURRENCY, SERVERLESS_MEMORY_SIZES

# Seconds a serverless cold start spends before the model loads (download, `pip install` of
# code/, container start): a few seconds, so the first call after a deployment is slow here too.
# CALLTIME_LOCAL_COLD_START_SECONDS sets it for every local run of this process and its children
# (`make pipeline CALLTIME_LOCAL_COLD_START_SECONDS=1` for a quicker demo; the tests use it).
COLD_START_ENV = "CALLTIME_LOCAL_COLD_START_SECONDS"
COLD_START_DELAY = float(os.environ.get(COLD_START_ENV, "3.0"))
# Seconds a container has to answer /invocations (SageMaker: 60); past it the caller gets a
# ModelError, "Received server error (0) ... Your invocation timed out ...".
INVOCATION_TIMEOUT = 60.0


# SageMaker's names (models, endpoint configs, endpoints): at most 63 of [a-zA-Z0-9-], no
# leading or trailing '-'; botocore checks neither, the service does.
_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")
SERVERLESS_PAYLOAD_LIMIT = 4 * 1024 * 1024  # InvokeEndpoint body on a serverless endpoint


def _check_name(name: str, member: str) -> None:
    if len(name) > 63:
        raise _validation(f"1 validation error detected: Value '{name}' at '{member}' failed to "
                          "satisfy constraint: Member must have length less than or equal to 63")
    if not _NAME.fullmatch(name):
        raise _validation(f"1 validation error detected: Value '{name}' at '{member}' failed to "
                          "satisfy constraint: Member must satisfy regular expression pattern: "
                          "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Endpoint:
    # every status the endpoint has had, in order (what a poller may miss between two polls)
    history: list[str] = field(default_factory=list, init=False, repr=False)
    name: str
    arn: str
    config_name: str
    status: str
    created: dt.datetime
    modified: dt.datetime
    failure_reason: str | None = None
    pending_config: str | None = None  # the config a create/update is deploying
    pending_since: dt.datetime | None = None
    server: ModelServer | None = None
    in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    start_lock: threading.Lock = field(default_factory=threading.Lock)
    worker: threading.Thread | None = None
    cold_starts: list[dict[str, Any]] = field(default_factory=list)
    last_invoked: float = 0.0  # time.monotonic() of the last invocation's end
    provisioning: bool = False  # a cold start is under way

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "status" and getattr(self, "status", None) != value:
            self.history.append(value)
        super().__setattr__(name, value)


class LocalSageMaker:
    def __init__(self, s3_client_factory: Callable[[], object], work_dir: Path, region: str,
                 account: str, ping_timeout: float = 30.0, silent_update_failures: bool = False,
                 rollback_pause: float = 0.2, scale_to_zero: bool = True,
                 cold_start_delay: float = COLD_START_DELAY,
                 invocation_timeout: float = INVOCATION_TIMEOUT,
                 idle_seconds: float | None = None, not_ready_while_cold: bool = False,
                 latency: float = 0.0) -> None:
        self.invocation_timeout = invocation_timeout
        self.idle_seconds, self.not_ready_while_cold = idle_seconds, not_ready_while_cold
        # Seconds each invocation spends besides the model's own time (the network and the
        # front end's, in AWS); held while in flight, so concurrency counts it.
        self.latency = latency
        # Each deployment's model is extracted under <work_dir>/models/ (and removed with it).
        self.servers = ModelServers(s3_client_factory, work_dir / "models", ping_timeout)
        self.region, self.account = region, account
        self.ping_timeout = ping_timeout
        self.silent_update_failures = silent_update_failures
        self.rollback_pause = rollback_pause
        self.scale_to_zero = scale_to_zero
        self.cold_start_delay = cold_start_delay
        self.models: dict[str, dict[str, Any]] = {}
        self.configs: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self.lock = threading.RLock()
        self._stopped = False

    # --- dispatch ------------------------------------------------------------------------------

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        method = getattr(self, f"_{operation}", None)
        if method is None:
            raise SageMakerError("UnknownOperationException",
                                 f"the local SageMaker does not emulate {operation}")
        return method(**params)

    def _check_new(self, name: str, member: str, existing: dict[str, Any], kind: str,
                   label: str) -> None:
        """What every Create* checks first: a valid name, not taken."""
        _check_name(name, member)
        if name in existing:
            raise _validation(f'Cannot create already existing {label} "{self.arn(kind, name)}".')

    def arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:{kind}/{name.lower()}"

    # --- models --------------------------------------------------------------------------------

    def _CreateModel(self, ModelName: str, ExecutionRoleArn: str | None = None,
                     PrimaryContainer: dict | None = None, Tags: list | None = None,
                     **_: Any) -> dict[str, Any]:
        with self.lock:
            self._check_new(ModelName, "modelName", self.models, "model", "model")
            if not PrimaryContainer or "ModelDataUrl" not in PrimaryContainer:
                raise _validation("PrimaryContainer.ModelDataUrl is required by this emulation")
            self.models[ModelName] = {
                "ModelName": ModelName, "ModelArn": self.arn("model", ModelName),
                "PrimaryContainer": PrimaryContainer, "ExecutionRoleArn": ExecutionRoleArn,
                "CreationTime": _now(), "Tags": Tags or []}
            return {"ModelArn": self.models[ModelName]["ModelArn"]}

    def _DescribeModel(self, ModelName: str) -> dict[str, Any]:
        model = self.models.get(ModelName)
        if model is None:
            raise _validation(f'Could not find model "{self.arn("model", ModelName)}".')
        return {k: v for k, v in model.items() if k != "Tags" and v is not None}

    def _DeleteModel(self, ModelName: str) -> dict[str, Any]:
        with self.lock:
            if self.models.pop(ModelName, None) is None:
                raise _validation(f'Could not find model "{self.arn("model", ModelName)}".')
        return {}

    def _ListModels(self, NameContains: str | None = None, **_: Any) -> dict[str, Any]:
        models = [m for m in self.models.values() if not NameContains or NameContains in
                  m["ModelName"]]
        return {"Models": [{"ModelName": m["ModelName"], "ModelArn": m["ModelArn"],
                            "CreationTime": m["CreationTime"]} for m in models]}

    # --- endpoint configs ----------------------------------------------------------------------

    def _CreateEndpointConfig(self, EndpointConfigName: str, ProductionVariants: list[dict],
                              Tags: list | None = None, **_: Any) -> dict[str, Any]:
        with self.lock:
            self._check_new(EndpointConfigName, "endpointConfigName", self.configs,
                            "endpoint-config", "endpoint configuration")
            if len(ProductionVariants) != 1:
                raise _validation("Serverless endpoints support exactly one production variant")
            variant = ProductionVariants[0]
            if variant["ModelName"] not in self.models:
                arn = self.arn("model", variant["ModelName"])
                raise _validation(f'Could not find model "{arn}".')
            serverless = variant.get("ServerlessConfig")
            if serverless is None:
                raise _validation("This emulation supports serverless variants only "
                                  "(ProductionVariants[0].ServerlessConfig is required)")
            memory, concurrency = serverless.get("MemorySizeInMB"), serverless.get("MaxConcurrency")
            if memory not in SERVERLESS_MEMORY_SIZES:
                raise _validation(f"Value '{memory}' at 'productionVariants.1.member."
                                  "serverlessConfig.memorySizeInMB' failed to satisfy constraint: "
                                  "Member must be one of "
                                  f"{', '.join(map(str, SERVERLESS_MEMORY_SIZES))}")
            if (not isinstance(concurrency, int)
                    or not 1 <= concurrency <= SERVERLESS_MAX_CONCURRENCY):
                raise _validation(f"Value '{concurrency}' at 'productionVariants.1.member."
                                  "serverlessConfig.maxConcurrency' failed to satisfy constraint: "
                                  "Member must have value between 1 and "
                                  f"{SERVERLESS_MAX_CONCURRENCY}")
            self.configs[EndpointConfigName] = {
                "EndpointConfigName": EndpointConfigName,
                "EndpointConfigArn": self.arn("endpoint-config", EndpointConfigName),
                "ProductionVariants": ProductionVariants, "CreationTime": _now(),
                "Tags": Tags or []}
            return {"EndpointConfigArn": self.configs[EndpointConfigName]["EndpointConfigArn"]}

    def _config(self, name: str) -> dict[str, Any]:
        config = self.configs.get(name)
        if config is None:
            raise _validation("Could not find endpoint configuration "
                              f'"{self.arn("endpoint-config", name)}".')
        return config

    def _DescribeEndpointConfig(self, EndpointConfigName: str) -> dict[str, Any]:
        return {k: v for k, v in self._config(EndpointConfigName).items() if k != "Tags"}

    def _DeleteEndpointConfig(self, EndpointConfigName: str) -> dict[str, Any]:
        with self.lock:
            self._config(EndpointConfigName)
            del self.configs[EndpointConfigName]
        return {}

    def _ListEndpointConfigs(self, NameContains: str | None = None, **_: Any) -> dict[str, Any]:
        return {"EndpointConfigs": [
            {"EndpointConfigName": c["EndpointConfigName"],
             "EndpointConfigArn": c["EndpointConfigArn"], "CreationTime": c["CreationTime"]}
            for c in self.configs.values()
            if not NameContains or NameContains in c["EndpointConfigName"]]}

    # --- endpoints -----------------------------------------------------------------------------

    def _endpoint(self, name: str) -> Endpoint:
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            raise _validation(f'Could not find endpoint "{self.arn("endpoint", name)}".')
        return endpoint

    def _CreateEndpoint(self, EndpointName: str, EndpointConfigName: str,
                        Tags: list | None = None, **_: Any) -> dict[str, Any]:
        with self.lock:
            self._check_new(EndpointName, "endpointName", self.endpoints, "endpoint", "endpoint")
            self._config(EndpointConfigName)
            now = _now()
            endpoint = Endpoint(EndpointName, self.arn("endpoint", EndpointName),
                                EndpointConfigName, "Creating", now, now,
                                pending_config=EndpointConfigName, pending_since=now)
            self.endpoints[EndpointName] = endpoint
            self._start_worker(endpoint, EndpointConfigName, creating=True)
            return {"EndpointArn": endpoint.arn}

    def _UpdateEndpoint(self, EndpointName: str, EndpointConfigName: str,
                        **_: Any) -> dict[str, Any]:
        with self.lock:
            endpoint = self._endpoint(EndpointName)
            self._config(EndpointConfigName)
            if endpoint.status != "InService":
                raise _validation(f'Cannot update in-progress endpoint "{endpoint.arn}".'
                                  if endpoint.status in ("Creating", "Updating", "RollingBack")
                                  else f'Cannot update endpoint "{endpoint.arn}" in status '
                                       f'{endpoint.status}.')
            endpoint.status, endpoint.modified, endpoint.failure_reason = "Updating", _now(), None
            endpoint.pending_config, endpoint.pending_since = EndpointConfigName, _now()
            self._start_worker(endpoint, EndpointConfigName, creating=False)
            return {"EndpointArn": endpoint.arn}

    def _DescribeEndpoint(self, EndpointName: str) -> dict[str, Any]:
        endpoint = self._endpoint(EndpointName)
        config = self.configs.get(endpoint.config_name)
        out: dict[str, Any] = {
            "EndpointName": endpoint.name, "EndpointArn": endpoint.arn,
            "EndpointConfigName": endpoint.config_name, "EndpointStatus": endpoint.status,
            "CreationTime": endpoint.created, "LastModifiedTime": endpoint.modified}
        if endpoint.failure_reason is not None:
            out["FailureReason"] = endpoint.failure_reason
        if endpoint.pending_config is not None:
            out["PendingDeploymentSummary"] = {"EndpointConfigName": endpoint.pending_config,
                                               "StartTime": endpoint.pending_since}
        if config is not None and endpoint.server is not None:
            serverless = config["ProductionVariants"][0]["ServerlessConfig"]
            out["ProductionVariants"] = [{"VariantName": config["ProductionVariants"][0].get(
                "VariantName", VARIANT), "CurrentServerlessConfig": serverless}]
        return out

    def _DeleteEndpoint(self, EndpointName: str) -> dict[str, Any]:
        with self.lock:
            endpoint = self._endpoint(EndpointName)
            del self.endpoints[EndpointName]
        if endpoint.server is not None:
            self.servers.retire(endpoint.server)
        return {}

    def _ListEndpoints(self, NameContains: str | None = None, **_: Any) -> dict[str, Any]:
        return {"Endpoints": [
            {"EndpointName": e.name, "EndpointArn": e.arn, "CreationTime": e.created,
             "LastModifiedTime": e.modified, "EndpointStatus": e.status}
            for e in self.endpoints.values() if not NameContains or NameContains in e.name]}

    # --- lifecycle -----------------------------------------------------------------------------

    def _start_worker(self, endpoint: Endpoint, config_name: str, creating: bool) -> None:
        worker = threading.Thread(target=self._deploy, args=(endpoint, config_name, creating),
                                  name=f"sagemaker-{endpoint.name}", daemon=True)
        endpoint.worker = worker
        worker.start()

    def _deploy(self, endpoint: Endpoint, config_name: str, creating: bool) -> None:
        try:
            server = self._launch(config_name)
        except SageMakerError as err:
            self._fail(endpoint, err.message, creating)
            return
        except Exception as err:  # the emulation's own failure must not leave it Creating
            self._fail(endpoint, f"Internal failure while deploying: {err}", creating)
            return
        if self.scale_to_zero:
            server.stop()  # provisioned and healthy; the first request will start it cold
        with self.lock:
            if self._stopped or self.endpoints.get(endpoint.name) is not endpoint:
                self.servers.retire(server)
                return
            old, endpoint.server = endpoint.server, server  # new requests go to the new model
        if old is not None:  # gone (its requests drained) before the update shows complete
            self.servers.retire(old)
        with self.lock:
            endpoint.config_name, endpoint.status = config_name, "InService"
            endpoint.modified, endpoint.pending_config = _now(), None

    def _fail(self, endpoint: Endpoint, reason: str, creating: bool) -> None:
        if creating:
            with self.lock:
                endpoint.status, endpoint.failure_reason = "Failed", reason
                endpoint.modified, endpoint.pending_config = _now(), None
            return
        # A failed update rolls back to the config the endpoint still serves.
        with self.lock:
            endpoint.status = "RollingBack"
        time.sleep(self.rollback_pause)
        with self.lock:
            endpoint.status, endpoint.modified = "InService", _now()
            endpoint.failure_reason = None if self.silent_update_failures else reason
            endpoint.pending_config = None

    def _launch(self, config_name: str) -> ModelServer:
        server = self.provision(config_name)
        try:
            self.servers.start(server)
        except BaseException:
            self.servers.retire(server)
            raise
        return server

    def provision(self, config_name: str) -> ModelServer:
        """The config's model data, downloaded and extracted: a server not yet started."""
        config = self._config(config_name)
        model = self.models.get(config["ProductionVariants"][0]["ModelName"])
        if model is None:
            raise SageMakerError("ValidationException", "Could not find model for the variant")
        container = model["PrimaryContainer"]
        return self.servers.provision(config_name, container["ModelDataUrl"],
                                      container.get("Environment", {}),
                                      model.get("ExecutionRoleArn"))

    # --- runtime -------------------------------------------------------------------------------

    def invoke(self, EndpointName: str, Body: bytes, ContentType: str | None = None,
               Accept: str | None = None, **_: Any) -> dict[str, Any]:
        endpoint = self.endpoints.get(EndpointName)
        server = endpoint.server if endpoint is not None else None
        if server is None or endpoint.status in ("Creating", "Failed"):
            # SageMaker Runtime's code is ValidationError (the control plane's ValidationException)
            raise SageMakerError("ValidationError",
                                 f"Endpoint {EndpointName} of account {self.account} not found."
                                 if server is None else f"Endpoint {EndpointName} is not "
                                                        "InService")
        size = len(Body) if isinstance(Body, bytes | bytearray | str) else 0
        if size > SERVERLESS_PAYLOAD_LIMIT:
            raise SageMakerError("ValidationError", f"Request payload of {size} bytes exceeds "
                                 f"the {SERVERLESS_PAYLOAD_LIMIT} byte limit of serverless "
                                 "endpoints")
        config = self.configs.get(endpoint.config_name)
        limit = config["ProductionVariants"][0]["ServerlessConfig"]["MaxConcurrency"] if config \
            else 1
        started = time.monotonic()
        with endpoint.lock:
            if endpoint.in_flight >= limit:
                raise SageMakerError("ThrottlingException", "Rate exceeded", status=400)
            if self._idle(endpoint, server, started):
                server.stop()  # scaled to zero while nobody called
            # One request provisions a cold start; who comes meanwhile waits for it, or is told
            # the model is not ready (decided here, under the lock, so no two both start it).
            starts = not server.running and not endpoint.provisioning
            if not server.running and not starts and self.not_ready_while_cold:
                raise SageMakerError("ModelNotReadyException", "Model is not ready: the "
                                     "serverless endpoint variant's resources are still "
                                     "being provisioned. Wait and try your request again.",
                                     status=429)
            endpoint.provisioning = endpoint.provisioning or starts
            endpoint.in_flight += 1
        cold = False
        try:
            if starts or not server.running:
                cold = self._cold_start(endpoint, server)
            if self.latency:
                time.sleep(self.latency)
            connection = http.client.HTTPConnection("127.0.0.1", server.port,
                                                    timeout=self.invocation_timeout)
            headers = {"Content-Type": ContentType or "application/json"}
            if Accept:
                headers["Accept"] = Accept
            body = Body if isinstance(Body, bytes) else Body.read() if hasattr(Body, "read") \
                else str(Body).encode()
            connection.request("POST", "/invocations", body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except TimeoutError as err:
            raise SageMakerError(
                "ModelError", "Received server error (0) from primary with message \"Your "
                "invocation timed out while waiting for a response from container primary. "
                "Review the latency metrics for each container in Amazon CloudWatch, resolve "
                "the issue, and try again.\". See logs.", status=424,
                extra={"OriginalStatusCode": 0}) from err
        except (OSError, http.client.HTTPException) as err:
            raise SageMakerError("ServiceUnavailable", f"The model container did not answer: "
                                 f"{err}", status=503) from err
        finally:
            with endpoint.lock:
                endpoint.in_flight -= 1
                endpoint.last_invoked = time.monotonic()
        if cold:  # what the caller waited for: the cold start plus the request
            endpoint.cold_starts[-1]["invocation_seconds"] = round(time.monotonic() - started, 3)
        if response.status >= 400:
            raise SageMakerError(
                "ModelError",
                f"Received client error ({response.status}) from primary with message "
                f'"{payload.decode(errors="replace")}". See logs.', status=424,
                extra={"OriginalStatusCode": response.status,
                       "OriginalMessage": payload.decode(errors="replace"),
                       "LogStreamArn": f"arn:aws:logs:{self.region}:{self.account}:log-group:"
                                       f"/aws/sagemaker/Endpoints/{EndpointName}"})
        return {"Body": payload,
                "ContentType": response.getheader("Content-Type", "application/json"),
                "InvokedProductionVariant": VARIANT}

    def _idle(self, endpoint: Endpoint, server: ModelServer, now: float) -> bool:
        """Scaled to zero by now: no request for `idle_seconds` (none in flight)."""
        return (self.idle_seconds is not None and server.running and endpoint.in_flight == 0
                and endpoint.last_invoked > 0
                and now - endpoint.last_invoked > self.idle_seconds)

    def _cold_start(self, endpoint: Endpoint, server: ModelServer) -> bool:
        """Start the server, or wait for the request that does; True when this request
        started it."""
        with endpoint.start_lock:
            if server.running:  # another request started it meanwhile
                return False
            try:
                time.sleep(self.cold_start_delay)  # what SageMaker does before the model loads
                self.servers.start(server)
            except SageMakerError as err:
                raise SageMakerError("ServiceUnavailable", f"Cold start failed: {err.message}",
                                     status=503) from err
            finally:
                with endpoint.lock:
                    endpoint.provisioning = False
            setup = self.cold_start_delay + server.ready_seconds
            endpoint.cold_starts.append({"at": _now().isoformat(),
                                         "model_setup_seconds": round(setup, 3)})
            return True

    def cold_starts(self) -> dict[str, list[dict[str, Any]]]:
        """ModelSetupTime-like records per endpoint, one per cold start."""
        return {name: list(e.cold_starts) for name, e in self.endpoints.items()}

    def stop(self) -> None:
        with self.lock:
            self._stopped = True
        for endpoint in list(self.endpoints.values()):
            if endpoint.worker is not None:
                endpoint.worker.join(timeout=self.ping_timeout + 5)
        self.servers.stop_all()

    def server_pids(self) -> list[int]:
        return self.servers.pids()
