"""A local SageMaker for the few operations calltime uses, with real endpoint lifecycles.

moto's SageMaker has no UpdateEndpoint, no status transitions and a canned InvokeEndpoint, so this
is calltime's own. Endpoints really serve: a worker thread downloads the model data from (moto)
S3, extracts it and starts `localaws.model_server` as a subprocess on a free loopback port, and
the endpoint goes InService only when `/ping` answers. Behaviour follows the SageMaker API
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
  model load, as a serverless cold start does; every cold start's setup time is recorded.
- InvokeEndpoint forwards to the live server; a 4xx/5xx from the model is a ModelError with
  OriginalStatusCode/OriginalMessage; more in-flight requests than the config's MaxConcurrency
  is a ThrottlingException.
"""

from __future__ import annotations

import datetime as dt
import http.client
import io
import os
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

VARIANT = "AllTraffic"
MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)


class SageMakerError(Exception):
    def __init__(self, code: str, message: str, status: int = 400,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.extra = code, message, status, extra or {}


def _validation(message: str) -> SageMakerError:
    return SageMakerError("ValidationException", message)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ModelServer:
    """One `localaws.model_server` subprocess for an extracted model (None until started)."""

    process: subprocess.Popen | None
    port: int
    model_dir: Path
    log_path: Path
    started_at: float
    container_env: dict[str, str] = field(default_factory=dict)
    ready_seconds: float = 0.0

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.running:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])


@dataclass
class Endpoint:
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


class LocalSageMaker:
    def __init__(self, s3_client_factory, work_dir: Path, region: str, account: str,
                 ping_timeout: float = 30.0, silent_update_failures: bool = False,
                 rollback_pause: float = 0.2, scale_to_zero: bool = True) -> None:
        self._s3 = s3_client_factory
        self.work_dir = work_dir
        self.region, self.account = region, account
        self.ping_timeout = ping_timeout
        self.silent_update_failures = silent_update_failures
        self.rollback_pause = rollback_pause
        self.scale_to_zero = scale_to_zero
        self.models: dict[str, dict[str, Any]] = {}
        self.configs: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self._lock = threading.RLock()
        self._servers: list[ModelServer] = []
        self._stopped = False

    # --- dispatch ------------------------------------------------------------------------------

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        method = getattr(self, f"_{operation}", None)
        if method is None:
            raise SageMakerError("UnknownOperationException",
                                 f"the local SageMaker does not emulate {operation}")
        return method(**params)

    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:{kind}/{name.lower()}"

    # --- models --------------------------------------------------------------------------------

    def _CreateModel(self, ModelName: str, ExecutionRoleArn: str | None = None,
                     PrimaryContainer: dict | None = None, Tags: list | None = None,
                     **_: Any) -> dict[str, Any]:
        with self._lock:
            if ModelName in self.models:
                arn = self._arn("model", ModelName)
                raise _validation(f'Cannot create already existing model "{arn}".')
            if not PrimaryContainer or "ModelDataUrl" not in PrimaryContainer:
                raise _validation("PrimaryContainer.ModelDataUrl is required by this emulation")
            self.models[ModelName] = {
                "ModelName": ModelName, "ModelArn": self._arn("model", ModelName),
                "PrimaryContainer": PrimaryContainer, "ExecutionRoleArn": ExecutionRoleArn,
                "CreationTime": _now(), "Tags": Tags or []}
            return {"ModelArn": self.models[ModelName]["ModelArn"]}

    def _DescribeModel(self, ModelName: str) -> dict[str, Any]:
        model = self.models.get(ModelName)
        if model is None:
            raise _validation(f'Could not find model "{self._arn("model", ModelName)}".')
        return {k: v for k, v in model.items() if k != "Tags" and v is not None}

    def _DeleteModel(self, ModelName: str) -> dict[str, Any]:
        with self._lock:
            if self.models.pop(ModelName, None) is None:
                raise _validation(f'Could not find model "{self._arn("model", ModelName)}".')
        return {}

    def _ListModels(self, NameContains: str | None = None, **_: Any) -> dict[str, Any]:
        models = [m for m in self.models.values() if not NameContains or NameContains in
                  m["ModelName"]]
        return {"Models": [{"ModelName": m["ModelName"], "ModelArn": m["ModelArn"],
                            "CreationTime": m["CreationTime"]} for m in models]}

    # --- endpoint configs ----------------------------------------------------------------------

    def _CreateEndpointConfig(self, EndpointConfigName: str, ProductionVariants: list[dict],
                              Tags: list | None = None, **_: Any) -> dict[str, Any]:
        with self._lock:
            if EndpointConfigName in self.configs:
                raise _validation("Cannot create already existing endpoint configuration "
                                  f'"{self._arn("endpoint-config", EndpointConfigName)}".')
            if len(ProductionVariants) != 1:
                raise _validation("Serverless endpoints support exactly one production variant")
            variant = ProductionVariants[0]
            if variant["ModelName"] not in self.models:
                arn = self._arn("model", variant["ModelName"])
                raise _validation(f'Could not find model "{arn}".')
            serverless = variant.get("ServerlessConfig")
            if serverless is None:
                raise _validation("This emulation supports serverless variants only "
                                  "(ProductionVariants[0].ServerlessConfig is required)")
            memory, concurrency = serverless.get("MemorySizeInMB"), serverless.get("MaxConcurrency")
            if memory not in MEMORY_SIZES:
                raise _validation(f"Value '{memory}' at 'productionVariants.1.member."
                                  "serverlessConfig.memorySizeInMB' failed to satisfy constraint: "
                                  "Member must be one of 1024, 2048, 3072, 4096, 5120, 6144")
            if not isinstance(concurrency, int) or not 1 <= concurrency <= 200:
                raise _validation(f"Value '{concurrency}' at 'productionVariants.1.member."
                                  "serverlessConfig.maxConcurrency' failed to satisfy constraint: "
                                  "Member must have value between 1 and 200")
            self.configs[EndpointConfigName] = {
                "EndpointConfigName": EndpointConfigName,
                "EndpointConfigArn": self._arn("endpoint-config", EndpointConfigName),
                "ProductionVariants": ProductionVariants, "CreationTime": _now(),
                "Tags": Tags or []}
            return {"EndpointConfigArn": self.configs[EndpointConfigName]["EndpointConfigArn"]}

    def _config(self, name: str) -> dict[str, Any]:
        config = self.configs.get(name)
        if config is None:
            raise _validation("Could not find endpoint configuration "
                              f'"{self._arn("endpoint-config", name)}".')
        return config

    def _DescribeEndpointConfig(self, EndpointConfigName: str) -> dict[str, Any]:
        return {k: v for k, v in self._config(EndpointConfigName).items() if k != "Tags"}

    def _DeleteEndpointConfig(self, EndpointConfigName: str) -> dict[str, Any]:
        with self._lock:
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
            raise _validation(f'Could not find endpoint "{self._arn("endpoint", name)}".')
        return endpoint

    def _CreateEndpoint(self, EndpointName: str, EndpointConfigName: str,
                        Tags: list | None = None, **_: Any) -> dict[str, Any]:
        with self._lock:
            if EndpointName in self.endpoints:
                raise _validation("Cannot create already existing endpoint "
                                  f'"{self._arn("endpoint", EndpointName)}".')
            self._config(EndpointConfigName)
            now = _now()
            endpoint = Endpoint(EndpointName, self._arn("endpoint", EndpointName),
                                EndpointConfigName, "Creating", now, now,
                                pending_config=EndpointConfigName, pending_since=now)
            self.endpoints[EndpointName] = endpoint
            self._start_worker(endpoint, EndpointConfigName, creating=True)
            return {"EndpointArn": endpoint.arn}

    def _UpdateEndpoint(self, EndpointName: str, EndpointConfigName: str,
                        **_: Any) -> dict[str, Any]:
        with self._lock:
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
        with self._lock:
            endpoint = self._endpoint(EndpointName)
            del self.endpoints[EndpointName]
        if endpoint.server is not None:
            endpoint.server.stop()
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
        with self._lock:
            if self._stopped or self.endpoints.get(endpoint.name) is not endpoint:
                server.stop()
                return
            old, endpoint.server = endpoint.server, server
            endpoint.config_name, endpoint.status = config_name, "InService"
            endpoint.modified, endpoint.pending_config = _now(), None
        if old is not None:
            old.stop()

    def _fail(self, endpoint: Endpoint, reason: str, creating: bool) -> None:
        if creating:
            with self._lock:
                endpoint.status, endpoint.failure_reason = "Failed", reason
                endpoint.modified, endpoint.pending_config = _now(), None
            return
        # A failed update rolls back to the config the endpoint still serves.
        with self._lock:
            endpoint.status = "RollingBack"
        time.sleep(self.rollback_pause)
        with self._lock:
            endpoint.status, endpoint.modified = "InService", _now()
            endpoint.failure_reason = None if self.silent_update_failures else reason
            endpoint.pending_config = None

    def _launch(self, config_name: str) -> ModelServer:
        model_dir, env = self._provision(config_name)
        return self._start_server(model_dir, env)

    def _provision(self, config_name: str) -> tuple[Path, dict[str, str]]:
        """Download and extract the config's model data: (model dir, container environment)."""
        config = self._config(config_name)
        model = self.models.get(config["ProductionVariants"][0]["ModelName"])
        if model is None:
            raise SageMakerError("ValidationException", "Could not find model for the variant")
        url = model["PrimaryContainer"]["ModelDataUrl"]
        model_dir = Path(tempfile.mkdtemp(prefix=f"{config_name}-", dir=self.work_dir))
        parsed = urlparse(url)
        try:
            obj = self._s3().get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))
            data = obj["Body"].read()
        except Exception as err:  # any S3 failure fails the deployment
            raise SageMakerError("ValidationException",
                                 f"Could not find model data at {url}. ({err})") from err
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
                tar.extractall(model_dir, filter="data")
        except (tarfile.TarError, OSError, EOFError) as err:
            raise SageMakerError(
                "ValidationException",
                f'Failed to extract model data archive from URL "{url}". Please ensure that the '
                "object located at the URL is a valid tar.gz archive.") from err
        return model_dir, model["PrimaryContainer"].get("Environment", {})

    @staticmethod
    def _spawn(model_dir: Path, container_env: dict[str, str],
               log_path: Path) -> tuple[subprocess.Popen, int]:
        port = _free_port()
        env = {**os.environ, **container_env}
        env.pop("PYTHONPATH", None)
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "localaws.model_server", "--model-dir", str(model_dir),
                 "--port", str(port), "--workers", "1"],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                cwd=model_dir)
        return process, port

    def _start_server(self, model_dir: Path, container_env: dict[str, str]) -> ModelServer:
        log_path = model_dir.parent / f"{model_dir.name}.log"
        process, port = self._spawn(model_dir, container_env, log_path)
        server = ModelServer(process, port, model_dir, log_path, time.monotonic(),
                             dict(container_env))
        with self._lock:
            self._servers.append(server)
        self._await_ping(server)
        return server

    def _restart(self, server: ModelServer) -> None:
        """A cold start: a new process for the same model, which loads it again."""
        server.process, server.port = self._spawn(server.model_dir, server.container_env,
                                                  server.log_path)
        server.started_at = time.monotonic()
        self._await_ping(server)

    def _await_ping(self, server: ModelServer) -> None:
        deadline = time.monotonic() + self.ping_timeout
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                break
            try:
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
                connection.request("GET", "/ping")
                if connection.getresponse().status == 200:
                    server.ready_seconds = time.monotonic() - server.started_at
                    return
            except OSError:
                time.sleep(0.05)
        server.stop()
        raise SageMakerError(
            "ValidationException",
            f"The primary container for production variant {VARIANT} did not pass the ping "
            f"health check. Please check CloudWatch logs for this endpoint. ({server.log_tail()})")

    # --- runtime -------------------------------------------------------------------------------

    def invoke(self, EndpointName: str, Body: bytes, ContentType: str | None = None,
               Accept: str | None = None, **_: Any) -> dict[str, Any]:
        endpoint = self._endpoint(EndpointName)
        server = endpoint.server
        if server is None or endpoint.status in ("Creating", "Failed"):
            raise _validation(f"Endpoint {EndpointName} of account {self.account} not found."
                              if server is None else f"Endpoint {EndpointName} is not InService")
        config = self.configs.get(endpoint.config_name)
        limit = config["ProductionVariants"][0]["ServerlessConfig"]["MaxConcurrency"] if config \
            else 1
        with endpoint.lock:
            if endpoint.in_flight >= limit:
                raise SageMakerError("ThrottlingException", "Rate exceeded", status=400)
            endpoint.in_flight += 1
        started = time.monotonic()
        cold = False
        try:
            if not server.running:
                cold = self._cold_start(endpoint, server)
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            headers = {"Content-Type": ContentType or "application/json"}
            if Accept:
                headers["Accept"] = Accept
            body = Body if isinstance(Body, bytes) else Body.read() if hasattr(Body, "read") \
                else str(Body).encode()
            connection.request("POST", "/invocations", body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as err:
            raise SageMakerError("ServiceUnavailable", f"The model container did not answer: "
                                 f"{err}", status=503) from err
        finally:
            with endpoint.lock:
                endpoint.in_flight -= 1
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

    def _cold_start(self, endpoint: Endpoint, server: ModelServer) -> bool:
        with endpoint.start_lock:
            if server.running:  # another request started it meanwhile
                return False
            try:
                self._restart(server)
            except SageMakerError as err:
                raise SageMakerError("ServiceUnavailable", f"Cold start failed: {err.message}",
                                     status=503) from err
            endpoint.cold_starts.append({"at": _now().isoformat(),
                                         "model_setup_seconds": round(server.ready_seconds, 3)})
            return True

    def cold_starts(self) -> dict[str, list[dict[str, Any]]]:
        """ModelSetupTime-like records per endpoint, one per cold start."""
        return {name: list(e.cold_starts) for name, e in self.endpoints.items()}

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            servers = list(self._servers)
        for endpoint in list(self.endpoints.values()):
            if endpoint.worker is not None:
                endpoint.worker.join(timeout=self.ping_timeout + 5)
        for server in servers:
            server.stop()

    def server_pids(self) -> list[int]:
        return [s.process.pid for s in self._servers if s.process is not None]

    # --- persistence (a local "account" that outlives one process) ------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Models, configs and settled endpoints, JSON-serializable."""
        def plain(value: Any) -> Any:
            return value.isoformat() if isinstance(value, dt.datetime) else value

        with self._lock:
            return {
                "models": [{k: plain(v) for k, v in m.items()} for m in self.models.values()],
                "configs": [{k: plain(v) for k, v in c.items()} for c in self.configs.values()],
                "endpoints": [{"name": e.name, "config_name": e.config_name,
                               "status": e.status, "created": e.created.isoformat(),
                               "failure_reason": e.failure_reason}
                              for e in self.endpoints.values()],
            }

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Recreate a snapshot. An endpoint that was InService gets its config's model data
        again (a missing object fails it); serverless, it stays scaled to zero until invoked."""
        def parse(record: dict[str, Any]) -> dict[str, Any]:
            return {k: dt.datetime.fromisoformat(v) if k == "CreationTime" else v
                    for k, v in record.items()}

        with self._lock:
            self.models.update({m["ModelName"]: parse(m) for m in snapshot["models"]})
            self.configs.update({c["EndpointConfigName"]: parse(c)
                                 for c in snapshot["configs"]})
        for record in snapshot["endpoints"]:
            created = dt.datetime.fromisoformat(record["created"])
            endpoint = Endpoint(record["name"], self._arn("endpoint", record["name"]),
                                record["config_name"], "Failed", created, _now(),
                                failure_reason=record.get("failure_reason"))
            if record["status"] == "InService":
                try:
                    model_dir, env = self._provision(record["config_name"])
                except SageMakerError as err:
                    endpoint.failure_reason = f"restoring the local endpoint: {err.message}"
                else:
                    server = ModelServer(None, 0, model_dir, model_dir.parent /
                                         f"{model_dir.name}.log", time.monotonic(), dict(env))
                    with self._lock:
                        self._servers.append(server)
                    if not self.scale_to_zero:
                        self._restart(server)
                    endpoint.server, endpoint.status = server, "InService"
            with self._lock:
                self.endpoints[endpoint.name] = endpoint
