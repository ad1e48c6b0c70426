"""The model servers behind local endpoints: model data fetched and extracted as the container
does, one `localaws.model_server` process per deployment on a free loopback port, ready when
`/ping` answers. Every process runs in its own session so it can be stopped with its workers."""

from __future__ import annotations

import http.client
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from localaws.authorization import acting_as, role_session
from localaws.sagemaker.errors import SageMakerError

VARIANT = "AllTraffic"


def _listening_socket() -> socket.socket:
    """A loopback socket already bound and listening, handed to the server process: no window
    between choosing a port and taking it for another process to take it first."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    return sock


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


class ModelServers:
    """Fetches model data and starts, restarts and stops the servers of one local account."""

    def __init__(self, s3_client_factory: Callable[[], object], work_dir: Path,
                 ping_timeout: float = 30.0) -> None:
        self._s3 = s3_client_factory
        self.work_dir = work_dir
        self.ping_timeout = ping_timeout
        self._servers: list[ModelServer] = []
        self._lock = threading.Lock()

    def provision(self, name: str, url: str, container_env: dict[str, str],
                  role_arn: str | None = None) -> ModelServer:
        """Download (as the model's execution role) and extract model data into a new
        directory: a server not yet started."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        model_dir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.work_dir))
        try:
            self._fetch(url, model_dir, role_arn)
        except BaseException:
            shutil.rmtree(model_dir, ignore_errors=True)
            raise
        server = ModelServer(None, 0, model_dir, model_dir.parent / f"{model_dir.name}.log",
                             time.monotonic(), dict(container_env))
        with self._lock:
            self._servers.append(server)
        return server

    def _fetch(self, url: str, model_dir: Path, role_arn: str | None) -> None:
        parsed = urlparse(url)
        try:
            with acting_as(role_session(role_arn, "SageMaker") if role_arn else None):
                obj = self._s3().get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))
            data = obj["Body"].read()
        except ClientError as err:
            if err.response["Error"]["Code"] != "AccessDenied":
                raise SageMakerError("ValidationException",
                                     f"Could not find model data at {url}. ({err})") from err
            raise SageMakerError(
                "ValidationException",
                f'Could not access model data at {url}. Please ensure that the role '
                f'"{role_arn}" exists and that its trust relationship policy allows the action '
                '"sts:AssumeRole" for the service principal "sagemaker.amazonaws.com". Also '
                'ensure that the role has "s3:GetObject" permissions and that the object is '
                f"located in the endpoint's region. ({err})") from err
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

    def start(self, server: ModelServer) -> None:
        """A (cold) start: a new process for the server's model, which loads it again."""
        server.process, server.port = self._spawn(server)
        server.started_at = time.monotonic()
        self._await_ping(server)

    @staticmethod
    def _spawn(server: ModelServer) -> tuple[subprocess.Popen, int]:
        env = {**os.environ, **server.container_env}
        env.pop("PYTHONPATH", None)
        with server.log_path.open("ab") as log, _listening_socket() as listening:
            port = listening.getsockname()[1]
            process = subprocess.Popen(
                [sys.executable, "-m", "localaws.model_server", "--model-dir",
                 str(server.model_dir), "--listen-fd", str(listening.fileno()), "--workers",
                 "1", "--parent-pid", str(os.getpid())],
                pass_fds=(listening.fileno(),),
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                cwd=server.model_dir)
        return process, port

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

    def retire(self, server: ModelServer) -> None:
        """A server no endpoint will use again (replaced, failed, deleted): stopped, and its
        extracted model removed (its log stays with the account's work directory)."""
        server.stop()
        shutil.rmtree(server.model_dir, ignore_errors=True)
        with self._lock:
            if server in self._servers:
                self._servers.remove(server)

    def stop_all(self) -> None:
        with self._lock:
            servers = list(self._servers)
        for server in servers:
            server.stop()

    def pids(self) -> list[int]:
        return [s.process.pid for s in self._servers if s.process is not None]
