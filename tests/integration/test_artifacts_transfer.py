"""How MLflow clients move artifacts: `storage_artifacts_transfer` (proxy | direct).

The server is docker/entrypoint.py from .venv-mlflow (the image's packages) with MLflow's login
on, a SQLite backend under tmp_path and artifacts in a bucket of the emulator's S3; the client
is the real MLflow 3.17 client in a subprocess of the same virtualenv.

A client "that can reach only the server" runs with HTTP_PROXY/HTTPS_PROXY pointing at a
loopback port that refuses connections and NO_PROXY naming only the server's host:port, so
every request it makes anywhere else (the emulator's S3 included) fails. The server is reached
as `localhost:<port>` and S3 as `127.0.0.1:<port>`: requests matches a NO_PROXY host:port entry
only for a host name, never for an IP address. Each client first probes S3 and reports whether
it got through, so a test cannot pass because the block silently did nothing.

- proxy (the default): /server-info reports multipart uploads and downloads off, the presigned
  and multipart routes answer 501, and the blocked client logs and downloads back a 6-byte
  file and a 600 MiB file (sha256 compared), even when it forces presigned downloads or
  multipart uploads (it falls back to the proxied routes on 501).
- direct: /server-info reports both on, a client that reaches S3 downloads through the
  presigned URL and uploads a large file in presigned parts, straight to the emulator's S3;
  the blocked client, which succeeds in proxy mode, cannot download there.
- The storage role puts the choice in the task definition (MLFLOW_ARTIFACTS_TRANSFER),
  deploying inventories/local into the emulator, and refuses an unknown value.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
from entrypoint_helpers import (
    MLFLOW_PYTHON,
    ServerProcess,
    base_env,
    free_port,
    http,
    requires_mlflow_venv,
)

pytestmark = [pytest.mark.integration, requires_mlflow_venv]

BUCKET = "transfer-mlflow-artifacts"
ADMIN = ("admin", "transfer-Admin-pass-0042")
SECRET_KEY = "transfer-flask-secret-key-0123456789abcdef"
MIB = 1024 * 1024
LARGE_MIB = 600  # above MLflow's 500 MiB multipart threshold
SMALL_BYTES = b"hello\n"  # 6 bytes
SERVER_INFO = "/api/3.0/mlflow/server-info"

CLIENT = r"""
import hashlib, json, os, sys, tempfile, time

import requests

out = {"downloads": {}, "seconds": {}}
try:
    requests.get(os.environ["S3_PROBE_URL"], timeout=5)
    out["s3_reachable"] = True
except requests.exceptions.RequestException as err:
    out["s3_reachable"] = False
    out["s3_error"] = type(err).__name__

import mlflow  # noqa: E402


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(8 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


mlflow.set_tracking_uri(os.environ["TRACKING_URI"])
mode = sys.argv[1]
if mode == "log":
    mlflow.set_experiment(os.environ["EXPERIMENT"])
    with mlflow.start_run() as run:
        for path in sys.argv[2:]:
            start = time.monotonic()
            mlflow.log_artifact(path)
            out["seconds"]["upload " + os.path.basename(path)] = round(time.monotonic() - start, 1)
    run_id = run.info.run_id
    names = [os.path.basename(path) for path in sys.argv[2:]]
else:
    run_id, names = sys.argv[2], sys.argv[3:]
out["run_id"] = run_id
out["artifact_uri"] = mlflow.get_run(run_id).info.artifact_uri
for name in names:
    start = time.monotonic()
    try:
        # By artifact URI: the runs:/ form would hide the cause of a failure.
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=out["artifact_uri"] + "/" + name,
            dst_path=tempfile.mkdtemp(dir=os.environ["WORKDIR"]),
        )
    except Exception as err:  # report the whole chain: MLflow wraps the cause
        chain = []
        while err is not None and len(chain) < 10:
            chain.append(f"{type(err).__name__}: {err}")
            err = err.__cause__ or err.__context__
        out["download_error"] = chain
        print(json.dumps(out))
        sys.exit(3)
    out["seconds"]["download " + name] = round(time.monotonic() - start, 1)
    out["downloads"][name] = {"sha256": sha256(local), "size": os.path.getsize(local)}
    os.remove(local)
print(json.dumps(out))
"""


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def bucket(emulator):
    emulator.client("s3").create_bucket(Bucket=BUCKET)
    return BUCKET


@pytest.fixture(scope="module")
def closed_port():
    """A loopback port bound but never listening: every connection to it is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def start_server(workdir: Path, emulator, transfer: str) -> ServerProcess:
    port = free_port()
    env = base_env(
        workdir,
        port,
        MLFLOW_ALLOWED_HOSTS=f"localhost:{port},127.0.0.1:{port}",
        MLFLOW_ARTIFACTS_DESTINATION=f"s3://{BUCKET}/artifacts",
        MLFLOW_ARTIFACTS_TRANSFER=transfer,
        MLFLOW_S3_ENDPOINT_URL=emulator.endpoint_url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        MLFLOW_AUTH_ENABLED="true",
        MLFLOW_AUTH_ADMIN_PASSWORD=ADMIN[1],
        MLFLOW_FLASK_SERVER_SECRET_KEY=SECRET_KEY,
        MLFLOW_DISABLE_TELEMETRY="true",
    )
    server = ServerProcess(env, workdir)
    server.base_url = f"http://localhost:{port}"
    server.wait_healthy()
    return server


@pytest.fixture(scope="module")
def proxy_server(tmp_path_factory, emulator, bucket):
    server = start_server(tmp_path_factory.mktemp("proxy"), emulator, "proxy")
    yield server
    server.stop(timeout=10)


@pytest.fixture(scope="module")
def direct_server(tmp_path_factory, emulator, bucket):
    server = start_server(tmp_path_factory.mktemp("direct"), emulator, "direct")
    yield server
    server.stop(timeout=10)


def run_client(
    workdir: Path,
    server: ServerProcess,
    emulator,
    args: list[str],
    *,
    blocked_port: int | None,
    env: dict | None = None,
    timeout: float = 600,
) -> tuple[subprocess.CompletedProcess, dict]:
    """The MLflow client; with blocked_port, it reaches the server and nothing else."""
    script = workdir / "transfer_client.py"
    script.write_text(CLIENT)
    client_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "WORKDIR": str(workdir),
        "TRACKING_URI": server.base_url,
        "MLFLOW_TRACKING_USERNAME": ADMIN[0],
        "MLFLOW_TRACKING_PASSWORD": ADMIN[1],
        "EXPERIMENT": "artifacts-transfer",
        "S3_PROBE_URL": f"{emulator.endpoint_url}/{BUCKET}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
    }
    if blocked_port is not None:
        proxy = f"http://127.0.0.1:{blocked_port}"
        server_netloc = server.base_url.split("://", 1)[1]
        client_env.update(
            HTTP_PROXY=proxy,
            HTTPS_PROXY=proxy,
            http_proxy=proxy,
            https_proxy=proxy,
            NO_PROXY=server_netloc,
            no_proxy=server_netloc,
        )
    client_env.update(env or {})
    proc = subprocess.run(
        [str(MLFLOW_PYTHON), str(script), *args],
        env=client_env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    result = {}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode in (0, 3) and lines:
        result = json.loads(lines[-1])
    return proc, result


def ok(proc: subprocess.CompletedProcess, result: dict) -> dict:
    assert proc.returncode == 0, f"client failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return result


def write_small(workdir: Path) -> tuple[Path, str]:
    path = workdir / "small.txt"
    path.write_bytes(SMALL_BYTES)
    return path, hashlib.sha256(SMALL_BYTES).hexdigest()


def write_large(workdir: Path, mib: int) -> tuple[Path, str]:
    """mib MiB, quickly: one random MiB, each copy stamped with its index (order matters)."""
    block = os.urandom(MIB)
    digest = hashlib.sha256()
    path = workdir / f"large-{mib}m.bin"
    with open(path, "wb") as handle:
        for index in range(mib):
            chunk = index.to_bytes(8, "big") + block[8:]
            handle.write(chunk)
            digest.update(chunk)
    return path, digest.hexdigest()


def s3_keys(emulator, prefix: str = "artifacts/") -> dict[str, int]:
    pages = emulator.client("s3").get_paginator("list_objects_v2")
    return {
        obj["Key"]: obj["Size"]
        for page in pages.paginate(Bucket=BUCKET, Prefix=prefix)
        for obj in page.get("Contents", [])
    }


def artifact_requests(server: ServerProcess, method: str, name: str) -> int:
    """uvicorn's access log lines for `method` of the proxied artifact route of `name`."""
    return sum(
        1
        for line in server.log.splitlines()
        if f'"{method} /api/2.0/mlflow-artifacts/artifacts/' in line and f"/{name} " in line
    )


# ---------------------------------------------------------------- proxy


def test_proxy_server_info_reports_no_multipart(proxy_server):
    anonymous = http(proxy_server.base_url + SERVER_INFO)
    assert anonymous.status == 200, anonymous.body  # server-info needs no login
    info = anonymous.json()
    assert info["multipart_uploads_enabled"] is False
    assert info["multipart_downloads_enabled"] is False
    assert info["store_type"]  # the rest of MLflow's answer is kept


def test_proxy_refuses_presigned_and_multipart_routes(proxy_server):
    base = proxy_server.base_url + "/api/2.0/mlflow-artifacts"
    for method, path in [
        ("GET", "/presigned/0/run/artifacts/small.txt"),
        ("POST", "/mpu/create/0/run/artifacts/large.bin"),
        ("POST", "/mpu/complete/0/run/artifacts/large.bin"),
        ("POST", "/mpu/abort/0/run/artifacts/large.bin"),
    ]:
        payload = None if method == "GET" else {"path": "large.bin", "num_parts": 1}
        answer = http(base + path, method=method, auth=ADMIN, payload=payload)
        assert answer.status == 501, (path, answer.status, answer.body)
        assert answer.json()["error_code"] == "NOT_IMPLEMENTED"


def test_proxy_client_reaching_only_the_server_moves_small_and_600_mib_files(
    proxy_server, emulator, closed_port, tmp_path
):
    small, small_sha = write_small(tmp_path)
    start = time.monotonic()
    large, large_sha = write_large(tmp_path, LARGE_MIB)
    written = time.monotonic() - start
    proc, result = run_client(
        tmp_path, proxy_server, emulator, ["log", str(small), str(large)], blocked_port=closed_port
    )
    result = ok(proc, result)
    print(f"600 MiB file written in {written:.1f} s; client timings {result['seconds']}")
    assert result["s3_reachable"] is False, "the client could reach S3: the test proves nothing"
    assert result["s3_error"] == "ProxyError"
    assert result["artifact_uri"].startswith("mlflow-artifacts:/")
    assert result["downloads"] == {
        "small.txt": {"sha256": small_sha, "size": len(SMALL_BYTES)},
        large.name: {"sha256": large_sha, "size": LARGE_MIB * MIB},
    }
    # Both files went to the bucket through the server, and came back through it.
    keys = s3_keys(emulator)
    run_prefix = next(k for k in keys if k.endswith(f"/{result['run_id']}/artifacts/small.txt"))
    assert keys[run_prefix] == len(SMALL_BYTES)
    assert keys[run_prefix.replace("small.txt", large.name)] == LARGE_MIB * MIB
    for name in ("small.txt", large.name):
        assert artifact_requests(proxy_server, "PUT", name) == 1, proxy_server.log[-3000:]
        assert artifact_requests(proxy_server, "GET", name) == 1, proxy_server.log[-3000:]


def test_proxy_client_forcing_presigned_downloads_falls_back(
    proxy_server, emulator, closed_port, tmp_path
):
    """MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD=true: the presigned route answers 501 and the
    client downloads through the server instead."""
    small, small_sha = write_small(tmp_path)
    proc, result = run_client(
        tmp_path,
        proxy_server,
        emulator,
        ["log", str(small)],
        blocked_port=closed_port,
        env={"MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD": "true"},
    )
    result = ok(proc, result)
    assert result["s3_reachable"] is False
    assert result["downloads"]["small.txt"]["sha256"] == small_sha
    assert "does not support presigned downloads (HTTP 501)" in proc.stderr


def test_proxy_client_forcing_multipart_uploads_falls_back(
    proxy_server, emulator, closed_port, tmp_path
):
    """MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true (here from 6 MiB): the multipart route
    answers 501 in the form MLflow's client reads as "unsupported", and it uploads through
    the server instead."""
    large, large_sha = write_large(tmp_path, 12)
    proc, result = run_client(
        tmp_path,
        proxy_server,
        emulator,
        ["log", str(large)],
        blocked_port=closed_port,
        env={
            "MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD": "true",
            "MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE": str(6 * MIB),
            "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE": str(5 * MIB),
        },
    )
    result = ok(proc, result)
    assert result["s3_reachable"] is False
    assert result["downloads"][large.name]["sha256"] == large_sha


# ---------------------------------------------------------------- direct


def test_direct_server_info_reports_multipart(direct_server):
    info = http(direct_server.base_url + SERVER_INFO).json()
    assert info["multipart_uploads_enabled"] is True
    assert info["multipart_downloads_enabled"] is True


def test_direct_client_downloads_and_uploads_straight_from_s3(
    direct_server, emulator, closed_port, tmp_path
):
    small, small_sha = write_small(tmp_path)
    # From 10 MiB in 5 MiB parts here (MLflow's default threshold is 500 MiB): the parts go to
    # S3 with presigned URLs, the server only creates and completes the upload.
    large, large_sha = write_large(tmp_path, 12)
    multipart = {
        "MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE": str(10 * MIB),
        "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE": str(5 * MIB),
    }
    proc, result = run_client(
        tmp_path,
        direct_server,
        emulator,
        ["log", str(small), str(large)],
        blocked_port=None,
        env=multipart,
    )
    result = ok(proc, result)
    assert result["s3_reachable"] is True
    assert result["downloads"] == {
        "small.txt": {"sha256": small_sha, "size": len(SMALL_BYTES)},
        large.name: {"sha256": large_sha, "size": 12 * MIB},
    }
    log = direct_server.log
    # Downloads: a presigned URL from the server, the bytes from S3, never the proxied GET.
    assert log.count('"GET /api/2.0/mlflow-artifacts/presigned/') == 2, log[-3000:]
    for name in ("small.txt", large.name):
        assert artifact_requests(direct_server, "GET", name) == 0, log[-3000:]
    # Uploads: the small file through the server, the large one in presigned parts.
    assert artifact_requests(direct_server, "PUT", "small.txt") == 1, log[-3000:]
    assert artifact_requests(direct_server, "PUT", large.name) == 0, log[-3000:]
    assert log.count('"POST /api/2.0/mlflow-artifacts/mpu/create/') == 1, log[-3000:]
    assert log.count('"POST /api/2.0/mlflow-artifacts/mpu/complete/') == 1, log[-3000:]
    keys = s3_keys(emulator)
    assert any(
        key.endswith(f"/{result['run_id']}/artifacts/{large.name}") and size == 12 * MIB
        for key, size in keys.items()
    )

    # The client that reaches only the server, which works in proxy mode, cannot download here.
    proc, blocked = run_client(
        tmp_path,
        direct_server,
        emulator,
        ["download", result["run_id"], "small.txt"],
        blocked_port=closed_port,
        timeout=300,
    )
    assert proc.returncode == 3, f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    assert blocked["s3_reachable"] is False
    causes = "\n".join(blocked["download_error"])
    # It asked the server for a presigned URL, failed to fetch the bytes from S3 with it (the
    # client retries and then reports the chunk), and never asked the server for the bytes.
    assert "Failed to download 1 chunk(s) for small.txt" in causes, causes
    assert direct_server.log.count('"GET /api/2.0/mlflow-artifacts/presigned/') == 3
    assert artifact_requests(direct_server, "GET", "small.txt") == 0


# ---------------------------------------------------------------- the deployed task definition


def container_environment(emulator, family: str = "local-mlflow-tracking") -> dict[str, str]:
    taskdef = emulator.client("ecs").describe_task_definition(taskDefinition=family)
    [container] = taskdef["taskDefinition"]["containerDefinitions"]
    return {item["name"]: item["value"] for item in container["environment"]}


def test_storage_role_sets_the_transfer_in_the_task_definition(emulator, playbook):
    """`direct` reaches the task definition (the default, `proxy`, is checked by
    test_make_targets.py's `make deploy`)."""
    result = playbook(
        "deploy",
        inventory="local",
        emulator=emulator,
        extra_vars={"storage_artifacts_transfer": "direct"},
    )
    assert result.rc == 0, result.tail()
    assert container_environment(emulator)["MLFLOW_ARTIFACTS_TRANSFER"] == "direct"


def test_storage_role_refuses_an_unknown_transfer(emulator, playbook):
    result = playbook(
        "deploy",
        inventory="local",
        emulator=emulator,
        extra_vars={"storage_artifacts_transfer": "presigned"},
    )
    assert result.rc != 0
    assert "storage_artifacts_transfer" in result.stdout + result.stderr
