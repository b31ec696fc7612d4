"""Fail safe (issue 11): a deploy or destroy killed half-way, then run again, converges to the
same stack with no duplicate; a data removal killed half-way is reported truthfully by the next
destroy and repaired by the next deploy.

Each interruption is a SIGKILL of ansible-playbook's whole process group the moment it prints
the header of a chosen task (the tasks before it are done, that one never ran). The listing of
the account after the rerun is compared, name by name and with counts, with the listing of a
clean deploy. The production inventory (PostgreSQL in RDS, so a database with deletion
protection) is deployed into one emulator for the whole module, in order.

A killed run leaves its deploy lock held until the lease ends (an hour): each rerun breaks it
the way a user does, with `-e mlflow_deploy_lock_break=<lock id>` (the id the killed run printed
when it took the lock), and must say whose lock it took over.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT, ansible_env, run_playbook

pytestmark = pytest.mark.integration

ENV = "production"
# No Docker engine here: the deploy names the image tools/emulator.py put in ECR.
EXTRA = {"image_build": False}
DATA_REMOVAL = {"storage_remove_data": True, "storage_remove_data_confirm": ENV}

# Where the runs are killed: (playbook, the task whose header stops the run, what is done by then).
KILL_POINTS = {
    "destroy, after the service and the load balancer": (
        "destroy",
        "Ensure the target group is deleted",
    ),
    "deploy, after the security groups and the secrets": (
        "deploy",
        "Ensure the task execution role exists",
    ),
    "deploy, after the target group": (
        "deploy",
        "Ensure the load balancer, its subnets, security groups, tags and listeners",
    ),
    "deploy, after the task definition registration": ("deploy", "Ensure the ECS service runs"),
    "data removal, after the bucket and the deletion protection": (
        "destroy",
        "Ensure the database is deleted after a final snapshot",
    ),
}


def lock_id(output: str) -> str:
    """The deploy lock id a run printed when it took the lock."""
    found = re.search(r"taken by this run \(lock id ([0-9a-f]{16})\)", output)
    assert found, f"the run printed no lock id:\n{output[-3000:]}"
    return found.group(1)


def breaking(killed_output: str) -> dict:
    """Extra vars that take over the lock a killed run left."""
    return {"mlflow_deploy_lock_break": lock_id(killed_output)}


def assert_took_over(result, killed_output: str) -> None:
    text = " ".join(result.stdout.split())
    assert f"lock id {lock_id(killed_output)}" in text and "took over" in text, result.tail()


def run_and_kill(emu, playbook: str, task: str, extra_vars: dict | None = None) -> str:
    """Run playbooks/<playbook>.yml and SIGKILL its process group when it starts `task`.
    Returns what it printed; fails if the run ended before reaching the task."""
    all_vars = {"aws_endpoint_url": emu.endpoint_url, **EXTRA, **(extra_vars or {})}
    cmd = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        str(ROOT / "playbooks" / f"{playbook}.yml"),
        "-i",
        str(ROOT / "inventories" / ENV),
        "-e",
        json.dumps(all_vars),
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=ansible_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the workers die with it
    )
    lines = []
    killed = False
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("TASK [") and task in line:
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
            break
    proc.stdout.close()
    proc.wait(timeout=60)
    output = "".join(lines)
    started = "".join(line for line in lines if line.startswith("TASK ["))
    assert killed, f"{playbook} never reached the task {task!r}; tasks started:\n{started}"
    return output


def listing(emu) -> dict[str, Counter]:
    """Every resource a deploy may create, by name, with how many carry that name."""
    c = emu.client
    ecs, elbv2 = c("ecs"), c("elbv2")
    clusters = [
        cl["clusterName"]
        for cl in (
            ecs.describe_clusters(clusters=ecs.list_clusters()["clusterArns"])["clusters"]
            if ecs.list_clusters()["clusterArns"]
            else []
        )
        if cl["status"] == "ACTIVE"
    ]
    services = [
        s["serviceName"]
        for cluster in clusters
        for arns in [ecs.list_services(cluster=cluster)["serviceArns"]]
        if arns
        for s in ecs.describe_services(cluster=cluster, services=arns)["services"]
        if s["status"] == "ACTIVE"
    ]
    # Every ACTIVE revision counts under its family: a clean deploy leaves one, so a second
    # (the same content registered again by a rerun) is a duplicate.
    definitions = [
        arn.split("/")[-1].rsplit(":", 1)[0]
        for arn in ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"]
    ]
    return {
        "security_groups": Counter(
            f"{g['VpcId']}/{g['GroupName']}"
            for g in c("ec2").describe_security_groups()["SecurityGroups"]
        ),
        "load_balancers": Counter(
            lb["LoadBalancerName"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]
        ),
        "target_groups": Counter(
            tg["TargetGroupName"] for tg in elbv2.describe_target_groups()["TargetGroups"]
        ),
        "log_groups": Counter(
            g["logGroupName"] for g in c("logs").describe_log_groups()["logGroups"]
        ),
        "secrets": Counter(s["Name"] for s in c("secretsmanager").list_secrets()["SecretList"]),
        "roles": Counter(r["RoleName"] for r in c("iam").list_roles()["Roles"]),
        "buckets": Counter(b["Name"] for b in c("s3").list_buckets()["Buckets"]),
        "db_instances": Counter(
            d["DBInstanceIdentifier"] for d in c("rds").describe_db_instances()["DBInstances"]
        ),
        "ecr_repositories": Counter(
            r["repositoryName"] for r in c("ecr").describe_repositories()["repositories"]
        ),
        "clusters": Counter(clusters),
        "services": Counter(services),
        "task_definitions": Counter(definitions),
    }


def duplicates(after: dict[str, Counter], reference: dict[str, Counter]) -> dict[str, Counter]:
    """What `after` holds beyond `reference`, category by category (names and counts)."""
    return {k: after[k] - reference[k] for k in after if after[k] - reference[k]}


# The categories a destroy empties of this environment's resources (the data is kept).
REMOVED_BY_DESTROY = ("load_balancers", "target_groups", "log_groups", "clusters", "services")


@pytest.fixture(scope="module")
def emu(emulator_factory):
    return emulator_factory(ENV)


@pytest.fixture(scope="module")
def clean(emu):
    """A clean deploy into the fresh account: the listing every interrupted run must reach."""
    result = run_playbook("deploy", inventory=ENV, emulator=emu, extra_vars=EXTRA)
    assert result.rc == 0, result.tail()
    return listing(emu)


def test_clean_deploy_has_one_of_each(clean):
    assert clean["load_balancers"] == Counter({f"{ENV}-mlflow-alb": 1})
    assert clean["target_groups"] == Counter({f"{ENV}-mlflow-tg": 1})
    assert clean["task_definitions"] == Counter({f"{ENV}-mlflow-tracking": 1})
    assert clean["services"] == Counter({f"{ENV}-mlflow-tracking": 1})
    assert all(n == 1 for counts in clean.values() for n in counts.values()), clean


def test_destroy_killed_midway_then_run_again_leaves_only_the_data(emu, clean, record_property):
    _, task = KILL_POINTS["destroy, after the service and the load balancer"]
    killed = run_and_kill(emu, "destroy", task)
    assert "PLAY RECAP" not in killed
    assert listing(emu)["target_groups"] == Counter({f"{ENV}-mlflow-tg": 1})  # cut short there

    again = run_playbook(
        "destroy", inventory=ENV, emulator=emu, extra_vars={**EXTRA, **breaking(killed)}
    )
    assert again.rc == 0, again.tail()
    assert_took_over(again, killed)
    after = listing(emu)
    left = {k: after[k] for k in REMOVED_BY_DESTROY if after[k]}
    mlflow_roles = [n for n in after["roles"] if n.startswith(f"{ENV}-mlflow-")]
    if mlflow_roles:
        left["roles"] = Counter(mlflow_roles)
    extra = duplicates(after, clean)
    record_property("figure: interruption points", 1)
    record_property(
        "figure: duplicates found",
        sum(sum(c.values()) for c in extra.values()) + sum(sum(c.values()) for c in left.values()),
    )
    assert extra == {}
    assert left == {}
    assert after["db_instances"] == Counter({f"{ENV}-mlflow-db": 1})
    assert "Kept (a later deploy of production reuses them)" in again.stdout


def test_deploy_killed_at_three_points_then_run_again_has_no_duplicate(emu, clean, record_property):
    """Killed after the security groups and secrets, rerun and killed after the target group,
    rerun and killed after the task definition registration: each rerun passes the point the
    run before it was killed at, and the last, complete, run reaches the clean listing."""
    points = [p for p in KILL_POINTS if p.startswith("deploy")]
    killed = ""
    for point in points:
        _, task = KILL_POINTS[point]
        killed = run_and_kill(emu, "deploy", task, breaking(killed) if killed else None)
        assert "PLAY RECAP" not in killed, point
    # The last kill came after the registration: the revision is there, the service not yet.
    assert listing(emu)["task_definitions"] == Counter({f"{ENV}-mlflow-tracking": 1})

    final = run_playbook(
        "deploy", inventory=ENV, emulator=emu, extra_vars={**EXTRA, **breaking(killed)}
    )
    assert final.rc == 0, final.tail()
    assert_took_over(final, killed)
    after = listing(emu)
    extra = duplicates(after, clean)
    missing = duplicates(clean, after)
    record_property("figure: interruption points", len(points))
    record_property("figure: duplicates found", sum(sum(c.values()) for c in extra.values()))
    assert extra == {}, extra
    assert missing == {}, missing


def test_data_removal_killed_midway_is_reported_truthfully_and_repaired(
    emu, clean, record_property
):
    rds = emu.client("rds")
    db = f"{ENV}-mlflow-db"
    _, task = KILL_POINTS["data removal, after the bucket and the deletion protection"]
    killed = run_and_kill(emu, "destroy", task, DATA_REMOVAL)
    assert "PLAY RECAP" not in killed
    instance = rds.describe_db_instances(DBInstanceIdentifier=db)["DBInstances"][0]
    assert instance["DeletionProtection"] is False  # the half-way state under test

    plain = run_playbook(
        "destroy", inventory=ENV, emulator=emu, extra_vars={**EXTRA, **breaking(killed)}
    )
    assert plain.rc == 0, plain.tail()
    assert_took_over(plain, killed)
    text = " ".join(plain.stdout.split())
    kept = text.split("Kept (a later deploy of production reuses them):", 1)[-1]
    assert f"RDS instance {db}" not in kept, plain.tail()
    assert (
        f"WARNING: left in place but NOT protected against deletion: RDS instance {db} "
        "(PostgreSQL): deletion protection OFF" in text
    ), plain.tail()
    assert "The next deploy of production turns it back" in text

    repaired = run_playbook("deploy", inventory=ENV, emulator=emu, extra_vars=EXTRA)
    assert repaired.rc == 0, repaired.tail()
    instance = rds.describe_db_instances(DBInstanceIdentifier=db)["DBInstances"][0]
    assert instance["DeletionProtection"] is True
    # The bucket the removal deleted is back (empty), and nothing is there twice.
    after = listing(emu)
    extra = duplicates(after, clean)
    record_property("figure: interruption points", 1)
    record_property("figure: duplicates found", sum(sum(c.values()) for c in extra.values()))
    assert extra == {}, extra
    assert duplicates(clean, after) == {}
