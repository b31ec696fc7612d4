"""tools/run_local.py: the task definition registered in the emulator, run on this machine.

A task definition like the ecs role's (environment, secrets from Secrets Manager in both the
plain and the JSON-key form, and an SSM parameter) is registered in the emulator; run_local
must resolve it, print only names with --print-env, and start a server that answers /health,
logs in with the admin password from the secret, and stores artifacts in the emulator's S3.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from entrypoint_helpers import (
    ALB_HOST,
    ECS_STOP_TIMEOUT,
    free_port,
    http,
    requires_mlflow_venv,
    run_mlflow_client,
    session_members,
)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import run_local  # noqa: E402

pytestmark = pytest.mark.integration

FAMILY = "runlocal-mlflow-tracking"
BUCKET = "runlocal-mlflow-artifacts"
ADMIN_PASSWORD = "run-local-Admin-pass-7"
SECRET_KEY = "run-local-flask-secret-key-0123456789"
DB_PASSWORD = "run-local-db-password-55"


@pytest.fixture(scope="module")
def task_definition(emulator):
    """Secrets and a task definition shaped like the ecs role's, in the emulator."""
    sm = emulator.client("secretsmanager")
    admin = sm.create_secret(
        Name="local/mlflow/admin",
        SecretString=json.dumps({"username": "admin", "password": ADMIN_PASSWORD}),
    )["ARN"]
    flask_key = sm.create_secret(Name="local/mlflow/flask-secret-key", SecretString=SECRET_KEY)[
        "ARN"
    ]
    emulator.client("ssm").put_parameter(
        Name="/local/mlflow/default-permission", Value="READ", Type="SecureString"
    )
    emulator.client("s3").create_bucket(Bucket=BUCKET)
    account = "123456789012"
    container = {
        "name": "mlflow",
        "image": f"{account}.dkr.ecr.us-east-1.amazonaws.com/mlflow-tracking:abc123",
        "essential": True,
        "command": ["serve"],
        "portMappings": [{"containerPort": 5000, "protocol": "tcp"}],
        "environment": [
            {"name": "MLFLOW_HOST", "value": "0.0.0.0"},
            {"name": "MLFLOW_PORT", "value": "5000"},
            {"name": "MLFLOW_WORKERS", "value": "1"},
            {"name": "MLFLOW_ALLOWED_HOSTS", "value": ALB_HOST},
            {"name": "MLFLOW_ARTIFACTS_DESTINATION", "value": f"s3://{BUCKET}/artifacts"},
            {"name": "MLFLOW_DATA_DIR", "value": "/mlflow/data"},
            {"name": "MLFLOW_AUTH_ENABLED", "value": "true"},
        ],
        "secrets": [
            {"name": "MLFLOW_AUTH_ADMIN_PASSWORD", "valueFrom": f"{admin}:password::"},
            {"name": "MLFLOW_FLASK_SERVER_SECRET_KEY", "valueFrom": flask_key},
            {
                "name": "MLFLOW_AUTH_DEFAULT_PERMISSION",
                "valueFrom": (
                    f"arn:aws:ssm:us-east-1:{account}:parameter/local/mlflow/default-permission"
                ),
            },
        ],
    }
    emulator.client("ecs").register_task_definition(
        family=FAMILY,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[container],
    )
    # A PostgreSQL task: the emulator runs no database server.
    db_secret = sm.create_secret(
        Name="local/mlflow/db",
        SecretString=json.dumps({"username": "mlflow", "password": DB_PASSWORD}),
    )["ARN"]
    pg = dict(container)
    pg["environment"] = [
        *container["environment"],
        {"name": "MLFLOW_DB_HOST", "value": "mlflow-db.abc.us-east-1.rds.amazonaws.com"},
        {"name": "MLFLOW_DB_USERNAME", "value": "mlflow"},
    ]
    pg["secrets"] = [
        *container["secrets"],
        {"name": "MLFLOW_DB_PASSWORD", "valueFrom": f"{db_secret}:password::"},
    ]
    emulator.client("ecs").register_task_definition(
        family=FAMILY + "-pg",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[pg],
    )
    return FAMILY


def server_processes(port: int) -> list[int]:
    """Pids of live processes whose command line names the port (the server run_local ran)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0") if entry.name.isdigit() else []
        except OSError:
            continue
        if str(port).encode() in cmdline and any(b"uvicorn" in arg for arg in cmdline):
            pids.append(int(entry.name))
    return pids


def run_tool(emulator, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "run_local.py"), "--endpoint-url",
         emulator.endpoint_url, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("value_from", "expected"),
    [
        (
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:local/db-AbCdEf:password::",
            {
                "service": "secretsmanager",
                "secret_id": "arn:aws:secretsmanager:us-east-1:123456789012:secret:local/db-AbCdEf",
                "json_key": "password",
                "version_stage": None,
                "version_id": None,
            },
        ),
        (
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:key-AbCdEf",
            {
                "service": "secretsmanager",
                "secret_id": "arn:aws:secretsmanager:us-east-1:123456789012:secret:key-AbCdEf",
                "json_key": None,
                "version_stage": None,
                "version_id": None,
            },
        ),
        (
            "arn:aws:secretsmanager:us-east-1:1:secret:k-AbCdEf::AWSPREVIOUS:",
            {
                "service": "secretsmanager",
                "secret_id": "arn:aws:secretsmanager:us-east-1:1:secret:k-AbCdEf",
                "json_key": None,
                "version_stage": "AWSPREVIOUS",
                "version_id": None,
            },
        ),
        (
            "arn:aws:ssm:us-east-1:123456789012:parameter/local/mlflow/x",
            {"service": "ssm", "name": "/local/mlflow/x"},
        ),
        ("plain-parameter", {"service": "ssm", "name": "plain-parameter"}),
    ],
)
def test_parse_secret_reference(value_from, expected):
    assert run_local.parse_secret_reference(value_from) == expected


def test_print_env_names_sources_never_values(emulator, task_definition):
    proc = run_tool(emulator, "--family", task_definition, "--port", "5123", "--print-env")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    lines = {line.split("\t")[0]: line for line in out.splitlines() if "\t" in line}
    assert "Secrets Manager" in lines["MLFLOW_AUTH_ADMIN_PASSWORD"]
    assert "Secrets Manager" in lines["MLFLOW_FLASK_SERVER_SECRET_KEY"]
    assert "SSM" in lines["MLFLOW_AUTH_DEFAULT_PERMISSION"]
    for name in ("MLFLOW_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "MLFLOW_DATA_DIR"):
        assert "local" in lines[name]
    for secret in (ADMIN_PASSWORD, SECRET_KEY, "READ"):
        assert secret not in out + proc.stderr


def test_resolves_environment_and_secrets(emulator, task_definition, tmp_path):
    args = run_local.parse_args(
        ["--family", task_definition, "--endpoint-url", emulator.endpoint_url, "--port", "5124",
         "--data-dir", str(tmp_path / "data")]
    )  # fmt: skip
    clients = run_local.make_clients(args.endpoint_url, args.region)
    task = run_local.read_task(clients, args.family, args.container)
    run_local.localize(task, args)
    env = task.values
    assert env["MLFLOW_AUTH_ADMIN_PASSWORD"] == ADMIN_PASSWORD  # the JSON key of the secret
    assert env["MLFLOW_FLASK_SERVER_SECRET_KEY"] == SECRET_KEY
    assert env["MLFLOW_AUTH_DEFAULT_PERMISSION"] == "READ"
    assert env["MLFLOW_ALLOWED_HOSTS"] == f"{ALB_HOST},127.0.0.1:5124,localhost:5124"
    assert env["MLFLOW_S3_ENDPOINT_URL"] == emulator.endpoint_url
    assert env["MLFLOW_DATA_DIR"] == str(tmp_path / "data")
    assert env["MLFLOW_PORT"] == "5124"
    assert env["MLFLOW_HOST"] == "127.0.0.1"
    assert task.command == ["serve"]


def test_postgres_task_needs_local_db(emulator, task_definition, tmp_path):
    proc = run_tool(emulator, "--family", task_definition + "-pg", "--print-env")
    assert proc.returncode == 1
    assert "--local-db" in proc.stderr
    assert DB_PASSWORD not in proc.stdout + proc.stderr
    proc = run_tool(
        emulator, "--family", task_definition + "-pg", "--print-env", "--local-db",
        "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "MLFLOW_DB_HOST" not in proc.stdout
    assert "MLFLOW_DATA_DIR" in proc.stdout


def test_postgres_task_against_another_server_keeps_the_task_settings(
    emulator, task_definition, tmp_path
):
    """--db-endpoint: only where the database is changes (tests/integration/test_container.py
    runs the image so against a real PostgreSQL); a malformed endpoint is refused."""
    argv = ["--family", task_definition + "-pg", "--endpoint-url", emulator.endpoint_url,
            "--data-dir", str(tmp_path), "--db-endpoint", "127.0.0.1:6543"]  # fmt: skip
    args = run_local.parse_args(argv)
    clients = run_local.make_clients(args.endpoint_url, args.region)
    task = run_local.read_task(clients, args.family, args.container)
    run_local.localize(task, args)
    env = task.values
    assert (env["MLFLOW_DB_HOST"], env["MLFLOW_DB_PORT"]) == ("127.0.0.1", "6543")
    assert task.sources["MLFLOW_DB_HOST"] == "local: --db-endpoint"
    assert env["MLFLOW_DB_USERNAME"] == "mlflow"
    assert env["MLFLOW_DB_PASSWORD"] == DB_PASSWORD  # from the task's secret
    assert "MLFLOW_BACKEND_STORE_URI" not in env
    args = run_local.parse_args([*argv[:-1], "db.example.com"])
    task = run_local.read_task(clients, args.family, args.container)
    with pytest.raises(run_local.RunLocalError, match="--db-endpoint must be HOST:PORT"):
        run_local.localize(task, args)


def test_missing_family_is_a_clear_error(emulator):
    proc = run_tool(emulator, "--family", "no-such-family", "--print-env")
    assert proc.returncode == 1
    assert "no task definition 'no-such-family'" in proc.stderr


def test_docker_without_engine_is_a_clear_message(emulator, task_definition, tmp_path):
    # An engine that does not answer: DOCKER_HOST names a socket that does not exist.
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "run_local.py"), "--endpoint-url",
         emulator.endpoint_url, "--family", task_definition, "--docker",
         "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
        env={**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"},
    )  # fmt: skip
    assert proc.returncode == 1
    assert "no Docker engine answers" in proc.stderr


def test_docker_command_is_the_task_in_its_box(emulator, task_definition, tmp_path):
    """The docker run line run_local builds from the task definition (limits, user, health)."""
    args = run_local.parse_args(
        ["--family", task_definition, "--endpoint-url", emulator.endpoint_url, "--port", "5125",
         "--data-dir", str(tmp_path / "data"), "--docker", "--image", "mlflow-tracking:test"]
    )  # fmt: skip
    clients = run_local.make_clients(args.endpoint_url, args.region)
    task = run_local.read_task(clients, args.family, args.container)
    run_local.localize(task, args)
    task.read_only = True
    task.user = "10001:10001"
    task.mounts = [
        {"path": "/tmp", "volume": "tmp", "efs": False, "read_only": False},
        {"path": "/mlflow/data", "volume": "data", "efs": True, "read_only": False},
    ]
    cmd, name = run_local.docker_command(task, args, tmp_path)
    line = " ".join(cmd)
    assert name == "mlflow-local-5125"
    assert "--cpus 0.25 --memory 512m --memory-swap 512m" in line  # cpu 256, memory 512
    assert "--stop-timeout 30" in line and "--network host" in line
    assert "--read-only" in cmd and "--user 10001:10001" in line
    assert "/tmp:mode=1777" in cmd
    assert f"type=bind,source={tmp_path / 'data'},target=/mlflow/data" in cmd
    assert cmd[-2:] == ["mlflow-tracking:test", "serve"]
    # Secrets only in the private env file, never on the command line.
    assert ADMIN_PASSWORD not in line and SECRET_KEY not in line
    env_file = tmp_path / "container.env"
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert values["MLFLOW_AUTH_ADMIN_PASSWORD"] == ADMIN_PASSWORD
    assert values["MLFLOW_DATA_DIR"] == "/mlflow/data"
    assert values["MLFLOW_S3_ENDPOINT_URL"] == emulator.endpoint_url
    assert values["MLFLOW_PORT"] == "5125"


@requires_mlflow_venv
def test_runs_the_task_locally(emulator, task_definition, tmp_path):
    port = free_port()
    log = open(tmp_path / "run_local.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "run_local.py"), "--family", task_definition,
         "--endpoint-url", emulator.endpoint_url, "--port", str(port),
         "--data-dir", str(tmp_path / "data")],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp_path / "run_local.log").read_text()
            try:
                if http(base + "/health", timeout=2).status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "run_local.log").read_text()
            time.sleep(0.25)

        search = base + "/api/2.0/mlflow/experiments/search?max_results=1"
        assert http(search).status == 401  # auth from the task definition
        assert http(search, auth=("admin", ADMIN_PASSWORD)).status == 200  # the secret's value
        assert http(search, host=ALB_HOST, auth=("admin", ADMIN_PASSWORD)).status == 200
        assert http(search, host="elsewhere.example.com").status == 403
        assert (tmp_path / "data" / "mlflow.db").exists()  # the container default, made local

        result = run_mlflow_client(
            tmp_path,
            base,
            forced_host=None,
            MLFLOW_TRACKING_USERNAME="admin",
            MLFLOW_TRACKING_PASSWORD=ADMIN_PASSWORD,
        )
        key = f"artifacts/{result['experiment_id']}/{result['run_id']}/artifacts/hello.txt"
        emulator.client("s3").head_object(Bucket=BUCKET, Key=key)  # in the emulator's S3
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=ECS_STOP_TIMEOUT)
        finally:
            leftovers = session_members(proc.pid) + server_processes(port)
            for pid in leftovers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            log.close()
    output = (tmp_path / "run_local.log").read_text()
    assert rc in (0, 128 + signal.SIGTERM), output
    assert leftovers == [], "run_local left processes behind"
    assert not list(tmp_path.glob("mlflow-local-*")), "the private runtime dir was not removed"
    for secret in (ADMIN_PASSWORD, SECRET_KEY):
        assert secret not in output
