"""Nothing is lost when the server process restarts: the entrypoint against a real PostgreSQL
server (the `postgres` backend) and against SQLite on a directory (the `efs` backend, as the
task sees its EFS mount), artifacts in the emulator's S3 either way.

For each backend: start docker/entrypoint.py (it creates the schema), log an experiment, a run,
parameters, a metric history and an artifact with the real MLflow client, stop the server with
SIGTERM as ECS does, start it again, and read everything back. Also: two entrypoints migrating a
fresh PostgreSQL database at once both succeed (the migration runs under an advisory lock).

The PostgreSQL server is the shared throw-away cluster of tests/integration/postgres_helpers.py
(fixture `postgres`, registered in tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest
from entrypoint_helpers import (
    MLFLOW_PYTHON,
    ServerProcess,
    base_env,
    free_port,
    requires_mlflow_venv,
    run_entrypoint,
)

pytestmark = [pytest.mark.integration, requires_mlflow_venv]

BUCKET = "persistence-mlflow-artifacts"
# tools/test-deps.sh (run by make test) installs PostgreSQL: a missing one fails, never skips.
requires_postgres = pytest.mark.usefixtures("postgres_binaries")


@pytest.fixture(scope="module")
def bucket(emulator):
    emulator.client("s3").create_bucket(Bucket=BUCKET)
    return BUCKET


# ---------------------------------------------------------------- the MLflow client

CLIENT = """
import json, os, sys, tempfile

import mlflow
from mlflow import MlflowClient

mlflow.set_tracking_uri(os.environ["TRACKING_URI"])
client = MlflowClient()
mode, name = sys.argv[1], sys.argv[2]
if mode == "log":
    experiment_id = mlflow.create_experiment(name)
    with mlflow.start_run(experiment_id=experiment_id, run_name="before-restart") as run:
        mlflow.log_params({"alpha": "0.5", "l1_ratio": "0.1"})
        for step in range(5):
            mlflow.log_metric("rmse", 1.0 / (step + 1), step=step)
        path = os.path.join(tempfile.mkdtemp(), "model.txt")
        with open(path, "w") as handle:
            handle.write("weights of " + name + "\\n")
        mlflow.log_artifact(path, artifact_path="model")
    print(json.dumps({"experiment_id": experiment_id, "run_id": run.info.run_id}))
else:
    experiment = client.get_experiment_by_name(name)
    runs = client.search_runs([experiment.experiment_id]) if experiment else []
    result = {"experiment_id": experiment.experiment_id if experiment else None, "runs": []}
    for run in runs:
        run_id = run.info.run_id
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="model/model.txt", dst_path=tempfile.mkdtemp()
        )
        result["runs"].append({
            "run_id": run_id,
            "run_name": run.info.run_name,
            "status": run.info.status,
            "params": run.data.params,
            "history": [[m.step, m.value] for m in client.get_metric_history(run_id, "rmse")],
            "artifacts": [f.path for f in client.list_artifacts(run_id, "model")],
            "artifact_text": open(local).read(),
        })
    print(json.dumps(result))
"""


def mlflow_client(workdir: Path, tracking_uri: str, mode: str, experiment: str) -> dict:
    script = workdir / "persistence_client.py"
    script.write_text(CLIENT)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "TRACKING_URI": tracking_uri,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
    }
    proc = subprocess.run(
        [str(MLFLOW_PYTHON), str(script), mode, experiment],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, f"client {mode} failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def server_env(workdir: Path, emulator, backend: dict[str, str]) -> dict[str, str]:
    """The task's environment: backend, artifacts proxied to the bucket, emulator credentials."""
    return base_env(
        workdir,
        free_port(),
        MLFLOW_ARTIFACTS_DESTINATION=f"s3://{BUCKET}/artifacts",
        MLFLOW_S3_ENDPOINT_URL=emulator.endpoint_url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        MLFLOW_DISABLE_TELEMETRY="true",
        **backend,
    )


def restart_roundtrip(workdir: Path, emulator, backend: dict[str, str], experiment: str):
    """Log, SIGTERM, start again, read back. Returns (logged ids, read-back, both server logs)."""
    env = server_env(workdir, emulator, backend)
    first = ServerProcess(env, workdir)
    try:
        first.wait_healthy()
        logged = mlflow_client(workdir, first.base_url, "log", experiment)
    finally:
        rc, _ = first.stop()
    # uvicorn shuts down gracefully, then re-raises SIGTERM (exit status 143, -15 here).
    assert rc in (0, -signal.SIGTERM), f"no clean stop on SIGTERM (rc={rc}):\n{first.log}"

    second = ServerProcess(env, workdir)
    try:
        second.wait_healthy()
        read = mlflow_client(workdir, second.base_url, "read", experiment)
    finally:
        second.stop()
    return logged, read, first.log, second.log


def assert_everything_kept(emulator, logged: dict, read: dict, experiment: str) -> None:
    assert read["experiment_id"] == logged["experiment_id"]
    [run] = read["runs"]
    assert run["run_id"] == logged["run_id"]
    assert run["run_name"] == "before-restart"
    assert run["status"] == "FINISHED"
    assert run["params"] == {"alpha": "0.5", "l1_ratio": "0.1"}
    assert run["history"] == [[step, 1.0 / (step + 1)] for step in range(5)]
    assert run["artifacts"] == ["model/model.txt"]
    assert run["artifact_text"] == f"weights of {experiment}\n"
    # The artifact lives in the bucket (proxied by the server), not on the server's disk.
    keys = [
        obj["Key"]
        for obj in emulator.client("s3")
        .list_objects_v2(Bucket=BUCKET, Prefix="artifacts/")
        .get("Contents", [])
    ]
    run_path = f"{logged['experiment_id']}/{logged['run_id']}"
    assert f"artifacts/{run_path}/artifacts/model/model.txt" in keys


# ---------------------------------------------------------------- tests


@requires_postgres
def test_postgres_backend_keeps_everything_across_a_restart(postgres, emulator, bucket, tmp_path):
    postgres.create_database("mlflow")
    logged, read, first_log, second_log = restart_roundtrip(
        tmp_path, emulator, postgres.environment("mlflow"), "postgres-restart"
    )
    assert_everything_kept(emulator, logged, read, "postgres-restart")
    assert "tracking schema created" in first_log
    assert "tracking schema is current" in second_log
    # The password never reaches the log.
    assert postgres.password not in first_log + second_log


@requires_postgres
def test_two_entrypoints_migrating_a_fresh_database_at_once_both_succeed(postgres, tmp_path):
    postgres.create_database("race")
    env = base_env(
        tmp_path, free_port(), MLFLOW_DISABLE_TELEMETRY="true", **postgres.environment("race")
    )
    results: list = [None, None]

    def migrate(index: int) -> None:
        results[index] = run_entrypoint(env, "migrate", timeout=300)

    threads = [threading.Thread(target=migrate, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for proc in results:
        assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    logs = [proc.stderr for proc in results]
    # One created the schema; the other waited for the lock, then found it current.
    assert sum("tracking schema created" in log for log in logs) == 1, logs
    assert sum("tracking schema is current" in log for log in logs) == 1, logs
    assert len(postgres.query("race", "SELECT version_num FROM alembic_version")) == 1


def test_sqlite_on_a_directory_keeps_everything_across_a_restart(emulator, bucket, tmp_path):
    # The efs backend: the task mounts the file system at /mlflow/data and the server keeps
    # its SQLite file there; a directory outside the process plays the file system here.
    data = tmp_path / "efs"
    data.mkdir()
    logged, read, first_log, second_log = restart_roundtrip(
        tmp_path,
        emulator,
        {"MLFLOW_BACKEND_STORE_URI": f"sqlite:///{data}/mlflow.db"},
        "sqlite-restart",
    )
    assert_everything_kept(emulator, logged, read, "sqlite-restart")
    assert (data / "mlflow.db").stat().st_size > 0
    assert "tracking schema is current" in second_log
