"""The image's entrypoint (docker/entrypoint.py) with real MLflow, as the container runs it.

Each server runs from .venv-mlflow (the image's pinned packages) on a free port, with a SQLite
backend under tmp_path and, where artifacts matter, a bucket of the emulator's S3 as the
artifact destination. Requests go through the Host header an ALB forwards.
"""

from __future__ import annotations

import signal
import subprocess
import time
import urllib.parse

import pytest
from entrypoint_helpers import (
    ALB_HOST,
    ECS_STOP_TIMEOUT,
    ENTRYPOINT,
    MLFLOW_PYTHON,
    ServerProcess,
    base_env,
    free_port,
    http,
    requires_mlflow_venv,
    run_entrypoint,
    run_mlflow_client,
    session_members,
)

pytestmark = [pytest.mark.integration, requires_mlflow_venv]

SEARCH = "/api/2.0/mlflow/experiments/search?max_results=5"
ADMIN_PASSWORD = "first-Admin-pass-0001"
SECRET_KEY = "static-flask-secret-key-for-tests-0123456789"


@pytest.fixture
def servers():
    """Start servers; stop every one of them (SIGTERM, then SIGKILL) at teardown."""
    started: list[ServerProcess] = []

    def start(env, workdir, args=("serve",)) -> ServerProcess:
        server = ServerProcess(env, workdir, args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop(timeout=10)


@pytest.fixture(scope="module")
def artifact_bucket(emulator):
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket="local-mlflow-artifacts-test")
    return "local-mlflow-artifacts-test"


def s3_env(emulator, bucket: str) -> dict:
    return {
        "MLFLOW_ARTIFACTS_DESTINATION": f"s3://{bucket}/mlartifacts",
        "MLFLOW_S3_ENDPOINT_URL": emulator.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


# ------------------------------------------------------------------ serving through an ALB name


@pytest.fixture(scope="module")
def alb_server(tmp_path_factory, emulator, artifact_bucket):
    """One server for the module: SQLite, S3 artifacts, allowed host = the ALB's DNS name."""
    workdir = tmp_path_factory.mktemp("alb")
    env = base_env(
        workdir, free_port(), MLFLOW_ALLOWED_HOSTS=ALB_HOST, **s3_env(emulator, artifact_bucket)
    )
    server = ServerProcess(env, workdir)
    server.startup_seconds = server.wait_healthy()
    yield server
    server.stop(timeout=10)


def test_health_answers_200(alb_server):
    assert http(alb_server.base_url + "/health").status == 200
    # The health check of ECS and of the target group carries no allowed Host: still 200.
    assert http(alb_server.base_url + "/health", host="10.0.1.23:5000").status == 200


def test_one_process_serves(alb_server):
    """One worker: uvicorn serves from the exec'd entrypoint process itself (no CLI parent)."""
    members = session_members(alb_server.proc.pid)
    assert members == [alb_server.proc.pid]
    with open(f"/proc/{alb_server.proc.pid}/cmdline", "rb") as handle:
        assert b"uvicorn" in handle.read().split(b"\0")


def test_mlflow_client_logs_through_alb_host(alb_server, emulator, artifact_bucket, tmp_path):
    result = run_mlflow_client(tmp_path, alb_server.base_url, forced_host=ALB_HOST)
    assert result["params"] == {"alpha": "0.5", "l1_ratio": "0.1"}
    assert result["metrics"]["rmse"] == pytest.approx(1 / 3)
    assert result["artifacts"] == ["hello.txt"]
    assert result["artifact_uri"].startswith("mlflow-artifacts:/")  # proxied: no S3 on clients

    listing = emulator.client("s3").list_objects_v2(Bucket=artifact_bucket, Prefix="mlartifacts/")
    keys = [obj["Key"] for obj in listing.get("Contents", [])]
    expected = f"mlartifacts/{result['experiment_id']}/{result['run_id']}/artifacts/hello.txt"
    assert expected in keys
    body = emulator.client("s3").get_object(Bucket=artifact_bucket, Key=expected)["Body"].read()
    assert body == b"hello from the tracking client\n"


def test_allowed_host_gets_200_unknown_host_403(alb_server):
    assert http(alb_server.base_url + SEARCH, host=ALB_HOST).status == 200
    refused = http(alb_server.base_url + SEARCH, host="attacker.example.com")
    assert refused.status == 403
    assert b"Invalid Host header" in refused.body
    # The ALB's name with a port is another Host: it must be listed with its port to pass.
    assert http(alb_server.base_url + SEARCH, host=f"{ALB_HOST}:8080").status == 403
    # The UI is behind the same check.
    assert http(alb_server.base_url + "/", host="attacker.example.com").status == 403


def test_mlflow_client_refused_with_unknown_host(alb_server, tmp_path):
    with pytest.raises(AssertionError, match="403|Invalid Host header"):
        run_mlflow_client(tmp_path, alb_server.base_url, forced_host="attacker.example.com")


def test_job_runner_and_cli_are_not_running(alb_server):
    assert "huey" not in alb_server.log.lower()
    assert "mlflow server" not in alb_server.log


# ------------------------------------------------------------------ stopping


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_stops_within_ecs_stop_timeout(tmp_path, servers, workers):
    env = base_env(tmp_path, free_port(), MLFLOW_WORKERS=str(workers))
    server = servers(env, tmp_path)
    server.wait_healthy()
    if workers == 2:
        # uvicorn's supervisor, 2 workers (and multiprocessing's small resource tracker)
        assert len(session_members(server.proc.pid)) >= 3
    rc, elapsed = server.stop(timeout=ECS_STOP_TIMEOUT)
    # uvicorn shuts down gracefully, then re-raises SIGTERM: exit status 143 (-15 here).
    assert rc in (0, -signal.SIGTERM), server.log[-3000:]
    assert "Application shutdown complete" in server.log
    assert elapsed < ECS_STOP_TIMEOUT
    assert session_members(server.proc.pid) == [], "processes left behind after SIGTERM"


# ------------------------------------------------------------------ fail fast on bad settings

AUTH_ON = {
    "MLFLOW_AUTH_ENABLED": "true",
    "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "MLFLOW_FLASK_SERVER_SECRET_KEY": SECRET_KEY,
}
DB_PARTS = {
    "MLFLOW_DB_HOST": "db.internal",
    "MLFLOW_DB_USERNAME": "mlflow",
    "MLFLOW_DB_PASSWORD": "db-secret-value-42",
}

MALFORMED = [
    ({"MLFLOW_PORT": "abc"}, "MLFLOW_PORT"),
    ({"MLFLOW_PORT": "70000"}, "MLFLOW_PORT"),
    ({"MLFLOW_WORKERS": "0"}, "MLFLOW_WORKERS"),
    ({"MLFLOW_WORKERS": "two"}, "MLFLOW_WORKERS"),
    ({"MLFLOW_STATIC_PREFIX": "mlflow"}, "MLFLOW_STATIC_PREFIX"),
    ({"MLFLOW_STATIC_PREFIX": "/mlflow/"}, "MLFLOW_STATIC_PREFIX"),
    ({"MLFLOW_ALLOWED_HOSTS": "a.example.com, b.example.com"}, "MLFLOW_ALLOWED_HOSTS"),
    ({"MLFLOW_ALLOWED_HOSTS": "a.example.com,,b.example.com"}, "MLFLOW_ALLOWED_HOSTS"),
    ({"MLFLOW_ALLOWED_HOSTS": "https://a.example.com"}, "MLFLOW_ALLOWED_HOSTS"),
    ({"MLFLOW_ALLOWED_HOSTS": "a.example.com/mlflow"}, "MLFLOW_ALLOWED_HOSTS"),
    ({"MLFLOW_CORS_ALLOWED_ORIGINS": "app.example.com"}, "MLFLOW_CORS_ALLOWED_ORIGINS"),
    ({"MLFLOW_BACKEND_STORE_URI": "mysql://u:p@h/db"}, "MLFLOW_BACKEND_STORE_URI"),
    ({"MLFLOW_BACKEND_STORE_URI": "postgres://u:p@h/db"}, "MLFLOW_BACKEND_STORE_URI"),
    ({"MLFLOW_BACKEND_STORE_URI": "sqlite://"}, "MLFLOW_BACKEND_STORE_URI"),
    ({"MLFLOW_BACKEND_STORE_URI": "sqlite:///mlflow.db"}, "MLFLOW_BACKEND_STORE_URI"),
    (
        {"MLFLOW_BACKEND_STORE_URI": "sqlite:////tmp/x.db", **DB_PARTS},
        "MLFLOW_BACKEND_STORE_URI",
    ),
    ({"MLFLOW_DB_HOST": "db.internal"}, "MLFLOW_DB_USERNAME"),
    ({"MLFLOW_DB_HOST": "db.internal", "MLFLOW_DB_USERNAME": "u"}, "MLFLOW_DB_PASSWORD"),
    ({"MLFLOW_DB_PASSWORD": "orphan-password"}, "MLFLOW_DB_HOST"),
    ({**DB_PARTS, "MLFLOW_DB_SSLMODE": "sometimes"}, "MLFLOW_DB_SSLMODE"),
    ({**DB_PARTS, "MLFLOW_DB_PORT": "54x"}, "MLFLOW_DB_PORT"),
    ({**DB_PARTS, "MLFLOW_DB_HOST": "db.internal:5432"}, "MLFLOW_DB_HOST"),
    ({"MLFLOW_ARTIFACTS_DESTINATION": "gs://bucket/x"}, "MLFLOW_ARTIFACTS_DESTINATION"),
    ({"MLFLOW_ARTIFACTS_DESTINATION": "s3://Bad_Bucket/x"}, "MLFLOW_ARTIFACTS_DESTINATION"),
    ({"MLFLOW_ARTIFACTS_DESTINATION": "relative/dir"}, "MLFLOW_ARTIFACTS_DESTINATION"),
    ({"MLFLOW_DATA_DIR": "relative/dir"}, "MLFLOW_DATA_DIR"),
    ({"MLFLOW_AUTH_ENABLED": "maybe"}, "MLFLOW_AUTH_ENABLED"),
    ({"MLFLOW_AUTH_ENABLED": "true"}, "MLFLOW_AUTH_ADMIN_PASSWORD"),
    ({**AUTH_ON, "MLFLOW_AUTH_ADMIN_PASSWORD": "short"}, "MLFLOW_AUTH_ADMIN_PASSWORD"),
    ({**AUTH_ON, "MLFLOW_AUTH_ADMIN_PASSWORD": "password1234"}, "MLFLOW_AUTH_ADMIN_PASSWORD"),
    ({**AUTH_ON, "MLFLOW_FLASK_SERVER_SECRET_KEY": ""}, "MLFLOW_FLASK_SERVER_SECRET_KEY"),
    ({**AUTH_ON, "MLFLOW_FLASK_SERVER_SECRET_KEY": "short"}, "MLFLOW_FLASK_SERVER_SECRET_KEY"),
    ({**AUTH_ON, "MLFLOW_AUTH_DEFAULT_PERMISSION": "ALL"}, "MLFLOW_AUTH_DEFAULT_PERMISSION"),
    ({**AUTH_ON, "MLFLOW_AUTH_DATABASE_URI": "file:///x"}, "MLFLOW_AUTH_DATABASE_URI"),
    ({"MLFLOW_GUNICORN_OPTS": "--timeout 60"}, "MLFLOW_GUNICORN_OPTS"),
    ({"MLFLOW_UVICORN_OPTS": "--workers 4"}, "MLFLOW_UVICORN_OPTS"),
    ({"MLFLOW_LAUNCHER": "gunicorn"}, "MLFLOW_LAUNCHER"),
    (
        {"MLFLOW_LAUNCHER": "uvicorn", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "true"},
        "MLFLOW_LAUNCHER",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "variable"), MALFORMED, ids=[f"{v}-{i}" for i, (_, v) in enumerate(MALFORMED)]
)
def test_malformed_setting_fails_fast_naming_the_variable(tmp_path, overrides, variable):
    env = base_env(tmp_path, free_port(), **overrides)
    start = time.monotonic()
    proc = run_entrypoint(env, "serve", timeout=30)
    elapsed = time.monotonic() - start
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert variable in lines[0]
    assert elapsed < 5, f"validation took {elapsed:.1f}s: it must not start anything first"
    assert not (tmp_path / "data").exists(), "something was created before validation finished"
    for secret in ("db-secret-value-42", ADMIN_PASSWORD, SECRET_KEY, "orphan-password"):
        assert secret not in proc.stderr + proc.stdout


@pytest.mark.parametrize(
    "uri", ["file:///mlflow/mlruns", "/mlflow/mlruns", "./mlruns", "file:./mlruns"]
)
def test_file_store_is_refused(tmp_path, uri):
    proc = run_entrypoint(base_env(tmp_path, free_port(), MLFLOW_BACKEND_STORE_URI=uri), "serve")
    assert proc.returncode == 2
    assert "MLFLOW_BACKEND_STORE_URI" in proc.stderr
    assert "file store" in proc.stderr
    assert "maintenance mode" in proc.stderr


def test_unknown_subcommand_is_a_usage_error(tmp_path):
    proc = run_entrypoint(base_env(tmp_path, free_port()), "server")
    assert proc.returncode == 2
    assert "usage" in proc.stderr


# ------------------------------------------------------------------ secrets stay secret


def _forms(secret: str) -> list[str]:
    return [secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)]


def test_print_command_never_shows_secrets(tmp_path):
    db_password = "p@ss:w/rd%#?&=+ x"
    env = base_env(
        tmp_path,
        free_port(),
        MLFLOW_DB_HOST="mlflow-db.abc.us-east-1.rds.amazonaws.com",
        MLFLOW_DB_USERNAME="mlflow",
        MLFLOW_DB_PASSWORD=db_password,
        **AUTH_ON,
    )
    proc = run_entrypoint(env, "print-command")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    for secret in (db_password, ADMIN_PASSWORD, SECRET_KEY):
        for form in _forms(secret):
            assert form not in out
    assert (
        "postgresql+psycopg2://mlflow:***@mlflow-db.abc.us-east-1.rds.amazonaws.com:5432/mlflow"
        in out
    )
    assert "sslmode=require" in out
    assert "--factory entrypoint:server_app" in out
    assert "unset MLFLOW_DB_PASSWORD" in out  # the server process does not inherit it

    uri_password = "uri-secret-9876"
    env = base_env(
        tmp_path,
        free_port(),
        MLFLOW_BACKEND_STORE_URI=f"postgresql://mlflow:{uri_password}@db:5432/mlflow",
    )
    proc = run_entrypoint(env, "print-command")
    assert proc.returncode == 0, proc.stderr
    assert uri_password not in proc.stdout + proc.stderr
    assert "postgresql+psycopg2://mlflow:***@db:5432/mlflow" in proc.stdout


def test_print_command_shows_the_contract(tmp_path, emulator, artifact_bucket):
    env = base_env(
        tmp_path,
        5000,
        MLFLOW_ALLOWED_HOSTS=f"{ALB_HOST},mlflow.example.com",
        MLFLOW_CORS_ALLOWED_ORIGINS="https://mlflow.example.com",
        MLFLOW_STATIC_PREFIX="/mlflow",
        MLFLOW_WORKERS="2",
        **s3_env(emulator, artifact_bucket),
    )
    out = run_entrypoint(env, "print-command").stdout
    assert f"MLFLOW_SERVER_ALLOWED_HOSTS={ALB_HOST},mlflow.example.com" in out
    assert "MLFLOW_SERVER_CORS_ALLOWED_ORIGINS=https://mlflow.example.com" in out
    assert "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false" in out
    assert "_MLFLOW_STATIC_PREFIX=/mlflow" in out
    assert "_MLFLOW_SERVER_SERVE_ARTIFACTS=true" in out
    assert f"_MLFLOW_SERVER_ARTIFACT_DESTINATION=s3://{artifact_bucket}/mlartifacts" in out
    assert f"_MLFLOW_SERVER_FILE_STORE=sqlite:///{tmp_path}/data/mlflow.db" in out
    assert "-m uvicorn" in out
    assert "--workers 2" in out
    assert "--timeout-keep-alive 75" in out
    assert "--factory entrypoint:server_app" in out
    assert "MLFLOW_ARTIFACTS_TRANSFER=proxy" in out

    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "true"  # only the mlflow CLI runs jobs
    proc = run_entrypoint(env, "print-command")
    assert proc.returncode != 0
    assert "MLFLOW_ARTIFACTS_TRANSFER=proxy needs the uvicorn launcher" in proc.stderr
    env["MLFLOW_ARTIFACTS_TRANSFER"] = "direct"
    out = run_entrypoint(env, "print-command").stdout
    assert "-m mlflow server" in out
    assert "--serve-artifacts" in out
    assert "sqlite:" not in out.splitlines()[-1]  # the store URI is not on the command line


# ------------------------------------------------------------------ static prefix, healthcheck


def test_static_prefix_and_healthcheck(tmp_path, servers):
    env = base_env(tmp_path, free_port(), MLFLOW_STATIC_PREFIX="/mlflow")
    assert run_entrypoint(env, "healthcheck").returncode == 1  # nothing listening yet
    server = servers(env, tmp_path)
    server.wait_healthy()
    assert server.base_url.endswith("/mlflow")
    proc = run_entrypoint(env, "healthcheck", timeout=10)
    assert proc.returncode == 0, proc.stderr
    other_prefix = dict(env, MLFLOW_STATIC_PREFIX="/other")
    assert run_entrypoint(other_prefix, "healthcheck", timeout=10).returncode == 1


# ------------------------------------------------------------------ authentication


def test_auth_basic_and_admin_password_rotation(tmp_path, servers):
    port = free_port()
    env = base_env(tmp_path, port, MLFLOW_ALLOWED_HOSTS=f"{ALB_HOST},127.0.0.1:{port}", **AUTH_ON)
    server = servers(env, tmp_path)
    server.wait_healthy()
    url = server.base_url + SEARCH
    assert http(server.base_url + "/health").status == 200  # the load balancer needs no login
    assert http(url, host=ALB_HOST).status == 401
    assert http(url, host=ALB_HOST, auth=("admin", "wrong-password-0000")).status == 401
    assert http(url, host=ALB_HOST, auth=("admin", ADMIN_PASSWORD)).status == 200
    assert http(server.base_url + "/", host=ALB_HOST).status == 401  # the UI too
    assert (tmp_path / "data" / "basic_auth.db").exists()  # next to the backend store
    assert server.stop()[0] in (0, -signal.SIGTERM)
    assert ADMIN_PASSWORD not in server.log
    assert SECRET_KEY not in server.log

    # Rotation: a new secret value at the next start replaces the admin's password in the DB.
    new_password = "rotated-Admin-pass-0002"
    server = servers(dict(env, MLFLOW_AUTH_ADMIN_PASSWORD=new_password), tmp_path)
    server.wait_healthy()
    assert "admin password updated" in server.log
    assert http(url, host=ALB_HOST, auth=("admin", ADMIN_PASSWORD)).status == 401
    assert http(url, host=ALB_HOST, auth=("admin", new_password)).status == 200
    assert new_password not in server.log

    # The private config file: mode 0600 in the entrypoint's temp dir.
    configs = list((tmp_path / "tmp").glob("mlflow-auth-*/basic_auth-*.ini"))
    assert configs
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in configs)


def test_auth_off_by_default(alb_server):
    assert http(alb_server.base_url + SEARCH, host=ALB_HOST).status == 200


# ------------------------------------------------------------------ PostgreSQL


@pytest.fixture(scope="module")
def postgres(postgres_factory):
    """The shared throw-away PostgreSQL (tests/integration/postgres_helpers.py), with a
    password that needs quoting in a URL, and a database `mlflow`."""
    server = postgres_factory(password="pg p@ss:w/rd%#?&=")
    server.create_database("mlflow")
    return server


def pg_env(tmp_path, postgres, **extra):
    return base_env(
        tmp_path,
        free_port(),
        MLFLOW_DB_HOST="127.0.0.1",
        MLFLOW_DB_PORT=str(postgres["port"]),
        MLFLOW_DB_NAME="mlflow",
        MLFLOW_DB_USERNAME="mlflow",
        MLFLOW_DB_PASSWORD=postgres["password"],
        MLFLOW_DB_SSLMODE="disable",
        **extra,
    )


def test_postgres_migration_runs_once_with_concurrent_tasks(tmp_path, postgres):
    env = pg_env(tmp_path, postgres)
    procs = [
        subprocess.Popen(
            [str(MLFLOW_PYTHON), str(ENTRYPOINT), "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    created = [o for o in outputs if "tracking schema created" in o]
    assert len(created) == 1, outputs
    assert sum("tracking schema is current" in o for o in outputs) == 2, outputs
    for output in outputs:
        assert postgres["password"] not in output


def test_postgres_serves_with_auth_and_keeps_data_across_restarts(
    tmp_path, postgres, servers, emulator, artifact_bucket
):
    port = free_port()
    env = pg_env(
        tmp_path,
        postgres,
        MLFLOW_ALLOWED_HOSTS=ALB_HOST,
        **AUTH_ON,
        **s3_env(emulator, artifact_bucket),
    )
    env["MLFLOW_PORT"] = str(port)
    server = servers(env, tmp_path)
    server.wait_healthy()
    admin = ("admin", ADMIN_PASSWORD)
    created = http(
        server.base_url + "/api/2.0/mlflow/experiments/create",
        method="POST",
        host=ALB_HOST,
        auth=admin,
        payload={"name": "survives-restarts"},
    )
    assert created.status == 200, created.body
    assert server.stop()[0] in (0, -signal.SIGTERM)
    assert postgres["password"] not in server.log

    server = servers(env, tmp_path)
    server.wait_healthy()
    assert "tracking schema is current" in server.log
    got = http(
        f"{server.base_url}/api/2.0/mlflow/experiments/get-by-name"
        "?experiment_name=survives-restarts",
        host=ALB_HOST,
        auth=admin,
    )
    assert got.status == 200, got.body
    assert http(server.base_url + SEARCH, host=ALB_HOST).status == 401
