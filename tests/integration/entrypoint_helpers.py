"""Helpers to run docker/entrypoint.py with the image's packages (.venv-mlflow) and talk to it.

Used by test_entrypoint.py and test_run_local.py; other suites (storage, security) may use them
to start a real MLflow server from the same entrypoint the container runs.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "docker" / "entrypoint.py"
MLFLOW_PYTHON = Path(os.environ.get("MLFLOW_VENV", ROOT / ".venv-mlflow")) / "bin" / "python"
ALB_HOST = "local-mlflow-alb-123456789.us-east-1.elb.amazonaws.com"
STARTUP_TIMEOUT = 90  # seconds; a cold start (schema creation included) takes 5-15 s
ECS_STOP_TIMEOUT = 30  # ECS sends SIGKILL this long after SIGTERM (stopTimeout default)

# The test command (make test) creates the venv first: a missing one is a failure, not a skip.
requires_mlflow_venv = pytest.mark.usefixtures("mlflow_venv")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(workdir: Path, port: int, **extra: str) -> dict[str, str]:
    """A clean environment, like a container's: nothing of the caller's AWS or MLflow settings."""
    tmp = workdir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "TMPDIR": str(tmp),
        "MLFLOW_HOST": "127.0.0.1",
        "MLFLOW_PORT": str(port),
        "MLFLOW_DATA_DIR": str(workdir / "data"),
    }
    env.update(extra)
    return env


def run_entrypoint(env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(MLFLOW_PYTHON), str(ENTRYPOINT), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict = field(default_factory=dict)

    def json(self):
        return json.loads(self.body)


def http(
    url: str,
    *,
    method: str = "GET",
    host: str | None = None,
    auth: tuple[str, str] | None = None,
    payload: dict | None = None,
    timeout: float = 10,
) -> Response:
    """One request with an exact Host header and optional basic auth; never raises on 4xx/5xx."""
    headers = {}
    data = None
    if host:
        headers["Host"] = host
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    if payload is not None:
        data = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Response(resp.status, resp.read(), dict(resp.headers))
    except urllib.error.HTTPError as err:
        return Response(err.code, err.read(), dict(err.headers))


def session_members(sid: int) -> list[int]:
    """Pids of live (non-zombie) processes in session sid."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            pids.append(int(entry.name))
    return pids


class ServerProcess:
    """docker/entrypoint.py serve, in its own session (like PID 1 of a container)."""

    def __init__(self, env: dict, workdir: Path, args: tuple[str, ...] = ("serve",)) -> None:
        self.env = env
        self.port = int(env["MLFLOW_PORT"])
        self.base_url = f"http://127.0.0.1:{self.port}{env.get('MLFLOW_STATIC_PREFIX', '')}"
        self.log_path = workdir / f"server-{self.port}-{time.monotonic_ns()}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(MLFLOW_PYTHON), str(ENTRYPOINT), *args],
            env=env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    @property
    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"server exited with {self.proc.returncode} before answering:\n{self.log}"
                )
            try:
                if http(self.base_url + "/health", timeout=2).status == 200:
                    return time.monotonic() - start
            except OSError:
                pass
            time.sleep(0.25)
        raise AssertionError(f"/health did not answer 200 within {timeout}s:\n{self.log}")

    def stop(self, timeout: float = ECS_STOP_TIMEOUT) -> tuple[int | None, float]:
        """SIGTERM, as ECS does; SIGKILL the session after `timeout`. Returns (rc, seconds)."""
        start = time.monotonic()
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                rc = None
        elapsed = time.monotonic() - start
        for pid in session_members(self.proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()
        return rc, elapsed


def mlflow_client_script(workdir: Path) -> Path:
    """A script that logs a run with the real MLflow client, forcing one Host header."""
    script = workdir / "client.py"
    script.write_text(
        """
import json, os, sys, tempfile

import requests.adapters

FORCED_HOST = os.environ.get("FORCED_HOST")
_send = requests.adapters.HTTPAdapter.send


def send(self, request, **kwargs):
    if FORCED_HOST:
        request.headers["Host"] = FORCED_HOST  # what a browser or SDK behind the ALB sends
    return _send(self, request, **kwargs)


requests.adapters.HTTPAdapter.send = send

import mlflow  # noqa: E402

mlflow.set_tracking_uri(os.environ["TRACKING_URI"])
client = mlflow.MlflowClient()
experiment_id = mlflow.create_experiment(os.environ.get("EXPERIMENT", "alb-roundtrip"))
with mlflow.start_run(experiment_id=experiment_id) as run:
    mlflow.log_params({"alpha": "0.5", "l1_ratio": "0.1"})
    for step in range(3):
        mlflow.log_metric("rmse", 1.0 / (step + 1), step=step)
    path = os.path.join(tempfile.mkdtemp(), "hello.txt")
    with open(path, "w") as handle:
        handle.write("hello from the tracking client\\n")
    mlflow.log_artifact(path)
got = client.get_run(run.info.run_id)
print(json.dumps({
    "experiment_id": experiment_id,
    "run_id": run.info.run_id,
    "artifact_uri": got.info.artifact_uri,
    "params": got.data.params,
    "metrics": got.data.metrics,
    "artifacts": [f.path for f in client.list_artifacts(run.info.run_id)],
}))
"""
    )
    return script


def run_mlflow_client(
    workdir: Path, tracking_uri: str, forced_host: str | None, **env: str
) -> dict:
    script = mlflow_client_script(workdir)
    client_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "TRACKING_URI": tracking_uri,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        **env,
    }
    if forced_host:
        client_env["FORCED_HOST"] = forced_host
    proc = subprocess.run(
        [str(MLFLOW_PYTHON), str(script)],
        env=client_env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, f"client failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])
