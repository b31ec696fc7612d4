"""The Makefile's emulator targets honour EMULATOR_PORT end to end, and `make admin-password`
prints the admin password whatever the task's backend.

An emulator is started with `make emulator EMULATOR_PORT=<free port>` (not 4566, the port
inventories/local names), then `make deploy`, `make admin-password` and `make destroy` run with
the same EMULATOR_PORT, as a user runs them: no AWS credentials in the environment. The
resources must land in (and leave) that emulator. The make targets' `.venv/.installed`
prerequisite is taken as up to date (`-o`): the tests run from that virtualenv already.

`make admin-password` used to fail when the task definition uses PostgreSQL ("pass
--local-db"), though printing a secret needs no database: the local deployment is redeployed
with storage_backend=postgres (the emulator runs RDS) and it must print the password kept in
the emulator's Secrets Manager, and nothing else.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import Emulator, free_port  # noqa: E402

pytestmark = pytest.mark.integration

ENV = "local"
FAMILY = f"{ENV}-mlflow-tracking"
CLUSTER = f"{ENV}-mlflow-cluster"
ADMIN_SECRET = f"{ENV}/mlflow/admin"


def make(*args: str, port: int, timeout: float = 900) -> subprocess.CompletedProcess:
    """make <args> EMULATOR_PORT=<port>, without AWS credentials or endpoint in the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFLOW_ECS_"))}
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", *args,
         f"EMULATOR_PORT={port}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )  # fmt: skip


def tail(proc: subprocess.CompletedProcess, n: int = 4000) -> str:
    return f"rc={proc.returncode}\n{proc.stdout[-n:]}\n--- stderr ---\n{proc.stderr[-n:]}"


@pytest.fixture(scope="module")
def emu() -> Emulator:
    port = free_port()
    assert port != 4566
    started = make("emulator", port=port, timeout=120)
    try:
        assert started.returncode == 0, tail(started)
        assert f'"endpoint_url": "http://127.0.0.1:{port}"' in started.stdout
        yield Emulator(port, ENV)
    finally:
        stopped = make("stop", port=port, timeout=60)
        assert stopped.returncode == 0, tail(stopped)


def active_clusters(emu: Emulator) -> list[str]:
    clusters = emu.client("ecs").describe_clusters(clusters=[CLUSTER])["clusters"]
    return [c["clusterName"] for c in clusters if c["status"] == "ACTIVE"]


def admin_password(emu: Emulator) -> str:
    secret = emu.client("secretsmanager").get_secret_value(SecretId=ADMIN_SECRET)
    return json.loads(secret["SecretString"])["password"]


def task_environment(emu: Emulator) -> dict[str, str]:
    taskdef = emu.client("ecs").describe_task_definition(taskDefinition=FAMILY)
    [container] = taskdef["taskDefinition"]["containerDefinitions"]
    return {item["name"]: item["value"] for item in container["environment"]}


def test_dry_run_every_emulator_target_names_the_port():
    port = 4999
    proc = make("-n", "deploy", "destroy", "run-local", "admin-password", "-o", "setup", port=port)
    assert proc.returncode == 0, tail(proc)
    lines = [
        line for line in proc.stdout.splitlines() if "inventories/" in line or "run_local" in line
    ]
    assert len(lines) == 4, proc.stdout
    for line in lines:
        assert f"http://127.0.0.1:{port}" in line, line
        assert "4566" not in line, line
    # Another environment talks to AWS: no endpoint is added.
    proc = make("-n", "deploy", "ENV=production", port=port)
    assert proc.returncode == 0, tail(proc)
    assert "aws_endpoint_url" not in proc.stdout
    assert "inventories/production" in proc.stdout
    # Ansible's own strategy by default; MITOGEN=1 selects mitogen's, from the plugins directory
    # tools/mitogen_strategy.py names (the one the tests and bench-deploy use).
    assert "ANSIBLE_STRATEGY" not in proc.stdout
    proc = make("-n", "deploy", "destroy", "MITOGEN=1", port=port)
    assert proc.returncode == 0, tail(proc)
    found = re.findall(
        r"^ANSIBLE_STRATEGY=mitogen_linear ANSIBLE_STRATEGY_PLUGINS=\$\((.+)\)"
        r" \S+/ansible-playbook ",
        proc.stdout,
        re.M,
    )
    assert len(found) == 2, proc.stdout
    plugins = subprocess.run(
        found[0], shell=True, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert (Path(plugins) / "mitogen_linear.py").is_file(), plugins


def test_make_deploy_lands_in_the_emulator_on_emulator_port(emu):
    assert active_clusters(emu) == []
    proc = make("deploy", port=emu.port)
    assert proc.returncode == 0, tail(proc)
    assert active_clusters(emu) == [CLUSTER]
    environment = task_environment(emu)
    assert environment["MLFLOW_ARTIFACTS_TRANSFER"] == "proxy"
    services = emu.client("ecs").describe_services(cluster=CLUSTER, services=[FAMILY])["services"]
    assert [s["status"] for s in services] == ["ACTIVE"]
    albs = emu.client("elbv2").describe_load_balancers()["LoadBalancers"]
    assert [lb["LoadBalancerName"] for lb in albs] == [f"{ENV}-mlflow-alb"]


def test_make_admin_password_prints_the_secret_only(emu):
    proc = make("-s", "admin-password", port=emu.port, timeout=120)
    assert proc.returncode == 0, tail(proc)
    assert proc.stdout == admin_password(emu) + "\n"
    assert proc.stderr == ""


def test_make_admin_password_with_a_postgres_task(emu, playbook):
    """The same deployment with RDS PostgreSQL: still only the password (no --local-db)."""
    result = playbook(
        "deploy", inventory=ENV, emulator=emu, extra_vars={"storage_backend": "postgres"}
    )
    assert result.rc == 0, result.tail()
    assert "MLFLOW_DB_HOST" in task_environment(emu)  # the task now uses PostgreSQL
    proc = make("-s", "admin-password", port=emu.port, timeout=120)
    assert proc.returncode == 0, tail(proc)
    assert proc.stdout == admin_password(emu) + "\n"
    assert proc.stderr == ""
    # Running the task locally still needs --local-db (the emulator runs no PostgreSQL).
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "run_local.py"), "--endpoint-url", emu.endpoint_url,
         "--family", FAMILY, "--print-env"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert run.returncode == 1
    assert "--local-db" in run.stderr


def test_make_destroy_removes_from_the_emulator_on_emulator_port(emu):
    proc = make("destroy", port=emu.port)
    assert proc.returncode == 0, tail(proc)
    assert active_clusters(emu) == []
    assert emu.client("elbv2").describe_load_balancers()["LoadBalancers"] == []
    # The data is kept (destroy's contract): the bucket is still there.
    buckets = [b["Name"] for b in emu.client("s3").list_buckets()["Buckets"]]
    assert any(name.startswith(f"{ENV}-mlflow-artifacts-") for name in buckets), buckets
