"""The PostgreSQL connection budget of one MLflow worker, measured against a real PostgreSQL.

roles/ecs/tasks/validate.yml refuses a deploy when
tasks x workers x engines x (pool_size + max_overflow) exceeds what the DB instance takes,
counting 3 engines per worker with MLflow's login on (tracking, model registry, auth). Here the
image's entrypoint (docker/entrypoint.py, .venv-mlflow) serves one worker with login on against a
throw-away PostgreSQL started with max_connections=30, with the pool the ecs role sets
(MLFLOW_SQLALCHEMYSTORE_POOL_SIZE=2, MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW=3), while 16 concurrent
clients log runs, metrics and parameters, search runs and create and search registered models
(so every store works at once). A sampler counts the server's connections in pg_stat_activity
every 20 ms.

- With pool 2 + overflow 3 the server never holds more than 1 worker x 3 engines x 5 = 15
  connections, and no client sees an error. (MLflow's log_batch holds a connection of the
  tracking engine while it asks for a second one: with anyio's 40 handler threads, 5 such calls
  at once took all 5 connections and waited for the pool's 30 s timeout, 18 to 21 of 64 rounds
  failing; the entrypoint now runs at most pool + overflow - 1 handlers per worker.)
- The worker opens 3 engines (MLflow logs each engine it creates).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from entrypoint_helpers import (
    MLFLOW_PYTHON,
    ServerProcess,
    base_env,
    free_port,
    requires_mlflow_venv,
)

pytestmark = [pytest.mark.integration, requires_mlflow_venv]

ADMIN = ("admin", "budget-Admin-pass-0042")
SECRET_KEY = "budget-flask-secret-key-0123456789abcdef"
MAX_CONNECTIONS = 30
CLIENTS = 16
WORKERS = 1
ENGINES = 3  # what roles/ecs/tasks/validate.yml counts with login on

SAMPLER = r"""
import json, os, sys, time

import psycopg2

port, user, password, stop_file = sys.argv[1:5]
conn = psycopg2.connect(host="127.0.0.1", port=int(port), user=user, password=password,
                        dbname="postgres", application_name="sampler")
conn.autocommit = True
cur = conn.cursor()
peak, samples, histogram = 0, 0, {}
query = ("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
         "AND pid <> pg_backend_pid()")
while True:
    cur.execute(query)
    count = cur.fetchone()[0]
    peak = max(peak, count)
    samples += 1
    histogram[count] = histogram.get(count, 0) + 1
    if os.path.exists(stop_file):
        break
    time.sleep(0.02)
print(json.dumps({"peak": peak, "samples": samples, "last": count, "histogram": histogram}))
"""

LOAD = r"""
import json, os, sys, threading, traceback, uuid

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

mlflow.set_tracking_uri(os.environ["TRACKING_URI"])
clients, rounds = int(sys.argv[1]), int(sys.argv[2])
experiment_id = MlflowClient().create_experiment("budget-" + uuid.uuid4().hex[:8])
errors, done = [], []
start = threading.Barrier(clients)


def work(index):
    client = MlflowClient()
    start.wait()
    for round_ in range(rounds):
        try:
            run = client.create_run(experiment_id)
            run_id = run.info.run_id
            client.log_batch(
                run_id,
                metrics=[Metric(f"m{i}", i * 0.5, 0, step) for i in range(10) for step in range(3)],
                params=[Param(f"p{i}", str(i)) for i in range(5)],
            )
            client.search_runs([experiment_id], max_results=20)
            name = f"model-{index}-{round_}-{uuid.uuid4().hex[:6]}"
            client.create_registered_model(name)
            client.search_registered_models(max_results=20)
            client.set_terminated(run_id)
            done.append(1)
        except Exception:
            errors.append(traceback.format_exc(limit=3))


threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({"rounds_done": len(done), "errors": errors}))
"""


class Sampler:
    """pg_stat_activity, every 20 ms, in a process of its own (one connection, excluded)."""

    def __init__(self, postgres, workdir: Path) -> None:
        script = workdir / "sampler.py"
        script.write_text(SAMPLER)
        self.stop_file = workdir / "sampler.stop"
        self.proc = subprocess.Popen(
            [str(MLFLOW_PYTHON), str(script), str(postgres.port), postgres.user,
             postgres.password, str(self.stop_file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip

    def result(self) -> dict:
        self.stop_file.touch()
        out, err = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0, err
        return json.loads(out)


def serve_and_load(
    postgres,
    workdir: Path,
    database: str,
    pool: int,
    overflow: int,
    *,
    rounds: int,
    extra_env: dict | None = None,
):
    """Start one worker with the pool, run the load; return (load result, samples, server)."""
    postgres.create_database(database)
    port = free_port()
    env = base_env(
        workdir,
        port,
        MLFLOW_WORKERS=str(WORKERS),
        MLFLOW_ALLOWED_HOSTS=f"127.0.0.1:{port}",
        MLFLOW_AUTH_ENABLED="true",
        MLFLOW_AUTH_ADMIN_PASSWORD=ADMIN[1],
        MLFLOW_FLASK_SERVER_SECRET_KEY=SECRET_KEY,
        MLFLOW_SQLALCHEMYSTORE_POOL_SIZE=str(pool),
        MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW=str(overflow),
        MLFLOW_DISABLE_TELEMETRY="true",
        **postgres.environment(database),
    )
    env.update(extra_env or {})
    server = ServerProcess(env, workdir)
    try:
        server.wait_healthy()
        script = workdir / "load.py"
        script.write_text(LOAD)
        sampler = Sampler(postgres, workdir)
        started = time.monotonic()
        load = subprocess.run(
            [str(MLFLOW_PYTHON), str(script), str(CLIENTS), str(rounds)],
            env={
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(workdir),
                "TRACKING_URI": server.base_url,
                "MLFLOW_TRACKING_USERNAME": ADMIN[0],
                "MLFLOW_TRACKING_PASSWORD": ADMIN[1],
                "MLFLOW_DISABLE_TELEMETRY": "true",
                "DO_NOT_TRACK": "true",
                "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
            },
            capture_output=True,
            text=True,
            timeout=900,
        )
        elapsed = time.monotonic() - started
        sampled = sampler.result()
    finally:
        server.stop(timeout=10)
    assert load.returncode == 0, f"{load.stdout[-2000:]}\n{load.stderr[-4000:]}"
    result = json.loads(load.stdout.strip().splitlines()[-1])
    print(
        f"pool {pool}+{overflow}: {result['rounds_done']} rounds by {CLIENTS} clients in "
        f"{elapsed:.0f} s, {len(result['errors'])} errors; server connections peak "
        f"{sampled['peak']}, at the end {sampled['last']}, over {sampled['samples']} samples "
        f"{sampled['histogram']}"
    )
    return result, sampled, server


ENGINE_CREATED = "Create SQLAlchemy engine with pool options"
EXEC_LINE = "[mlflow-entrypoint] starting:"


@pytest.fixture(scope="module")
def measured(postgres_factory, tmp_path_factory):
    """One worker, the ecs role's pool (2 + 3), 16 clients: measured once for the module."""
    postgres = postgres_factory(settings={"max_connections": MAX_CONNECTIONS})
    pool, overflow = 2, 3
    result, sampled, server = serve_and_load(
        postgres, tmp_path_factory.mktemp("budget"), "budget", pool, overflow, rounds=4
    )
    log = server.log
    assert EXEC_LINE in log, log[-3000:]
    # MLflow logs each engine it creates; the ones after the exec are the server's own (the
    # entrypoint's migration and admin bootstrap ran before, in the same process image).
    engines = log.split(EXEC_LINE, 1)[1].count(ENGINE_CREATED)
    print(f"engines opened by the worker: {engines}")
    return {"pool": pool + overflow, "result": result, "sampled": sampled, "engines": engines,
            "log": log}  # fmt: skip


def test_a_worker_opens_three_engines_with_login_on(measured):
    assert measured["engines"] == ENGINES, measured["log"][-3000:]


def test_server_connections_stay_within_workers_x_engines_x_pool(measured):
    sampled = measured["sampled"]
    assert sampled["samples"] > 50, sampled  # the sampler watched the whole load
    assert sampled["peak"] > measured["pool"], sampled  # more than one engine's pool in use
    assert sampled["peak"] <= WORKERS * ENGINES * measured["pool"], sampled
    assert "remaining connection slots" not in measured["log"]


def test_sixteen_clients_get_no_error(measured):
    result = measured["result"]
    assert result["errors"] == [], f"{len(result['errors'])} errors, first: {result['errors'][0]}"
    assert result["rounds_done"] == CLIENTS * 4
