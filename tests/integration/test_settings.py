"""One source for every setting (issue 8): what an inventory sets takes effect or is refused by
name before anything changes, settings that must agree are derived from one another, and long
waits report progress.

Every deploy here runs playbooks/deploy.yml with a throw-away inventory: a copy of
inventories/local plus a group_vars file with the settings under test, as a user would write
them (inventory variables, not -e, which would outrank everything anyway).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import emulator as emulator_tool
import pytest
import yaml
from conftest import ROOT, ansible_env, run_playbook, start_emulator

pytestmark = pytest.mark.integration

ROLES = sorted(p.parent.parent.name for p in ROOT.glob("roles/*/meta/argument_specs.yml"))


def argument_spec_options() -> dict[str, str]:
    """Every documented variable of every role (meta/argument_specs.yml), with its role."""
    options = {}
    for role in ROLES:
        spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
        for name in spec["argument_specs"]["main"]["options"]:
            options[name] = role
    return options


def make_inventory(tmp_path: Path, name: str, settings: dict, base: str = "local") -> Path:
    """inventories/<base> copied, plus group_vars/all/zz_test.yml holding `settings`."""
    inventory = tmp_path / name
    shutil.copytree(ROOT / "inventories" / base, inventory)
    (inventory / "group_vars" / "all" / "zz_test.yml").write_text(yaml.safe_dump(settings))
    return inventory


def account_listing(emu) -> dict[str, list]:
    """Everything a deploy may create, service by service (compared before and after a refusal)."""
    c = emu.client
    ecs = c("ecs")
    clusters = ecs.list_clusters()["clusterArns"]
    return {
        "tagged": sorted(
            r["ResourceARN"]
            for page in c("resourcegroupstaggingapi").get_paginator("get_resources").paginate()
            for r in page["ResourceTagMappingList"]
        ),
        "ecr": sorted(
            r["repositoryName"] for r in c("ecr").describe_repositories()["repositories"]
        ),
        "log_groups": sorted(
            g["logGroupName"] for g in c("logs").describe_log_groups()["logGroups"]
        ),
        "security_groups": sorted(
            g["GroupId"] for g in c("ec2").describe_security_groups()["SecurityGroups"]
        ),
        "roles": sorted(r["RoleName"] for r in c("iam").list_roles()["Roles"]),
        "secrets": sorted(s["Name"] for s in c("secretsmanager").list_secrets()["SecretList"]),
        "buckets": sorted(b["Name"] for b in c("s3").list_buckets()["Buckets"]),
        "load_balancers": sorted(
            lb["LoadBalancerName"] for lb in c("elbv2").describe_load_balancers()["LoadBalancers"]
        ),
        "target_groups": sorted(
            tg["TargetGroupName"] for tg in c("elbv2").describe_target_groups()["TargetGroups"]
        ),
        "clusters": sorted(
            cl["clusterName"]
            for cl in (ecs.describe_clusters(clusters=clusters)["clusters"] if clusters else [])
            if cl["status"] == "ACTIVE"
        ),
        "task_definitions": sorted(
            ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"]
        ),
        "db_instances": sorted(
            d["DBInstanceIdentifier"] for d in c("rds").describe_db_instances()["DBInstances"]
        ),
    }


def task_definition(emu, family: str = "local-mlflow-tracking") -> dict:
    return emu.client("ecs").describe_task_definition(taskDefinition=family)["taskDefinition"]


def container_environment(emu, family: str = "local-mlflow-tracking") -> dict[str, str]:
    container = task_definition(emu, family)["containerDefinitions"][0]
    return {e["name"]: e["value"] for e in container["environment"]}


# ---------------------------------------------------------------- nothing overrides the inventory


def _tasks(node):
    """Every task of a tasks file or play section, blocks included."""
    for task in node or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))


def test_no_playbook_or_task_overrides_a_documented_setting():
    """A documented variable is set only in its role's defaults/main.yml (lowest precedence):
    no play vars, vars_files, role params, task vars, register or role vars/main.yml name one,
    and a published fact (set_fact) with a documented name only repeats the variable's value."""
    options = argument_spec_options()
    found = []
    for playbook in sorted((ROOT / "playbooks").glob("*.yml")):
        for play in yaml.safe_load(playbook.read_text()):
            assert "vars_files" not in play, playbook
            for name in play.get("vars", {}):
                if name != "mlflow_state":  # refused when an inventory sets it (test below)
                    found.append(f"{playbook.name}: play vars set {name}")
            for role in play.get("roles", []):
                assert isinstance(role, str) or set(role) == {"role"}, (playbook, role)
            for section in ("pre_tasks", "tasks", "post_tasks"):
                for task in _tasks(play.get(section)):
                    found += [
                        f"{playbook.name}: task vars set {n}"
                        for n in task.get("vars", {})
                        if n in options
                    ]
                    if task.get("register") in options:
                        found.append(f"{playbook.name}: register {task['register']}")
    for role in ROLES:
        role_vars = ROOT / "roles" / role / "vars" / "main.yml"
        if role_vars.exists():
            for name in yaml.safe_load(role_vars.read_text()) or {}:
                if name in options:
                    found.append(f"roles/{role}/vars/main.yml sets {name}")
        for tasks_file in sorted((ROOT / "roles" / role / "tasks").glob("*.yml")):
            where = f"roles/{role}/tasks/{tasks_file.name}"
            for task in _tasks(yaml.safe_load(tasks_file.read_text())):
                found += [
                    f"{where}: task vars set {n}" for n in task.get("vars", {}) if n in options
                ]
                if task.get("register") in options:
                    found.append(f"{where}: register {task['register']}")
                facts = task.get("ansible.builtin.set_fact") or {}
                for name, value in facts.items():
                    if name in options and not re.fullmatch(
                        r"\{\{\s*" + name + r"\s*\}\}", str(value)
                    ):
                        found.append(f"{where}: set_fact {name} to something else")
    assert found == []
    # Every documented variable has its default in its role's defaults (mlflow_env and
    # aws_region, required, and the optional connection settings come from the inventory).
    defaults = {}
    for role in ROLES:
        defaults.update(
            yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
        )
    from_inventory = {
        "mlflow_env",
        "aws_region",
        "aws_endpoint_url",
        "aws_access_key_id",
        "aws_secret_access_key",
    }
    assert sorted(set(options) - set(defaults) - from_inventory) == []


@pytest.fixture(scope="module")
def emu(emulator_factory):
    return emulator_factory("local")


# Settings an inventory sets, each with a value other than its default, and where each lands.
INVENTORY_SETTINGS = {
    "ecs_container_environment": {"FOO": "bar"},
    "ecs_task_cpu": 512,
    "ecs_task_memory": 1024,
    "ecs_mlflow_workers": 2,
    "ecs_container_port": 8080,
    "ecs_stop_timeout": 45,
    "ecs_extra_allowed_hosts": ["mlflow.internal.example.com"],
    "ecs_sqlalchemy_pool_size": 4,
    "ecs_sqlalchemy_max_overflow": 6,
    "load_balancer_idle_timeout": 300,
    "load_balancer_health_check_interval": 15,
    "load_balancer_deregistration_delay": 10,
    "mlflow_static_prefix": "/mlflow",
    "mlflow_extra_tags": {"Team": "ml-platform"},
    "logging_retention_days": 14,
    "logging_log_group_name": "/custom/local-mlflow",
    "security_alb_ingress_cidrs": ["10.20.0.0/16"],
    "security_auth_admin_username": "boss",
    "storage_artifacts_transfer": "direct",
    "storage_artifacts_prefix": "runs-artifacts",
}


@pytest.fixture(scope="module")
def deployed(emu, tmp_path_factory):
    """The local inventory plus INVENTORY_SETTINGS, deployed into a fresh emulator account."""
    emu.reset()
    inventory = make_inventory(tmp_path_factory.mktemp("inv"), "settings", INVENTORY_SETTINGS)
    checkout_before = checkout_files()
    result = run_playbook("deploy", inventory=str(inventory), emulator=emu)
    assert result.rc == 0, result.tail()
    return {"inventory": inventory, "result": result, "checkout_before": checkout_before}


def checkout_files() -> dict[str, float]:
    """The collection's own files (not the dev caches and virtualenvs) with their mtimes."""
    skip = (
        ".git",
        ".venv",
        ".venv-mlflow",
        ".emulator",
        ".pytest_cache",
        ".ruff_cache",
        ".ansible",
    )
    return {
        str(p.relative_to(ROOT)): p.stat().st_mtime
        for p in ROOT.rglob("*")
        if p.is_file() and p.relative_to(ROOT).parts[0] not in skip and "__pycache__" not in p.parts
    }


def written_in_checkout(before: dict[str, float]) -> list[str]:
    """Outputs (JSON files) the deploy wrote in the checkout. Other test modules run at the same
    time (pytest-xdist) and deploy inventories/local itself, whose outputs land next to it."""
    after = checkout_files()
    return sorted(
        name
        for name, mtime in after.items()
        if before.get(name) != mtime
        and name.endswith(".json")
        and not re.match(r"inventories/[^/]+/\.outputs/", name)
    )


def test_inventory_settings_reach_the_task_definition(emu, deployed):
    definition = task_definition(emu)
    container = definition["containerDefinitions"][0]
    env = container_environment(emu)
    assert env["FOO"] == "bar"
    assert (definition["cpu"], definition["memory"]) == ("512", "1024")
    assert env["MLFLOW_WORKERS"] == "2"
    assert env["MLFLOW_PORT"] == "8080"
    assert container["portMappings"][0]["containerPort"] == 8080
    assert container["stopTimeout"] == 45
    assert "mlflow.internal.example.com" in env["MLFLOW_ALLOWED_HOSTS"].split(",")
    assert env["MLFLOW_SQLALCHEMYSTORE_POOL_SIZE"] == "4"
    assert env["MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW"] == "6"
    assert env["MLFLOW_STATIC_PREFIX"] == "/mlflow"
    assert env["MLFLOW_AUTH_ADMIN_USERNAME"] == "boss"
    assert env["MLFLOW_ARTIFACTS_TRANSFER"] == "direct"
    assert env["MLFLOW_ARTIFACTS_DESTINATION"].endswith("/runs-artifacts")
    assert container["logConfiguration"]["options"]["awslogs-group"] == "/custom/local-mlflow"


def test_keep_alive_follows_the_load_balancer_idle_timeout(emu, deployed):
    """The server keeps idle connections longer than the ALB (else intermittent 502s)."""
    elbv2 = emu.client("elbv2")
    lb = elbv2.describe_load_balancers(Names=["local-mlflow-alb"])["LoadBalancers"][0]
    attributes = {
        a["Key"]: a["Value"]
        for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])[
            "Attributes"
        ]
    }
    assert attributes["idle_timeout.timeout_seconds"] == "300"
    assert container_environment(emu)["MLFLOW_KEEP_ALIVE_TIMEOUT"] == "305"


def test_static_prefix_moves_every_health_check_and_the_url(emu, deployed):
    elbv2 = emu.client("elbv2")
    tg = elbv2.describe_target_groups(Names=["local-mlflow-tg"])["TargetGroups"][0]
    assert tg["HealthCheckPath"] == "/mlflow/health"
    assert tg["HealthCheckIntervalSeconds"] == 15
    assert tg["Port"] == 8080
    attributes = {
        a["Key"]: a["Value"]
        for a in elbv2.describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])[
            "Attributes"
        ]
    }
    assert attributes["deregistration_delay.timeout_seconds"] == "10"
    outputs = json.loads((deployed["inventory"] / ".outputs" / "local.json").read_text())
    assert outputs["mlflow_url"].endswith("/mlflow")
    assert f"MLflow URL:  {outputs['mlflow_url']}" in deployed["result"].stdout
    # The container's own check asks the entrypoint, which reads MLFLOW_STATIC_PREFIX (see
    # tests/integration/test_entrypoint.py for the entrypoint answering under the prefix).
    container = task_definition(emu)["containerDefinitions"][0]
    assert container["healthCheck"]["command"][-1] == "healthcheck"


def test_security_groups_follow_the_container_port_and_cidrs(emu, deployed):
    ec2 = emu.client("ec2")

    def group(name):
        return ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])[
            "SecurityGroups"
        ][0]

    alb = group("local-mlflow-alb-sg")
    assert [r["CidrIp"] for p in alb["IpPermissions"] for r in p["IpRanges"]] == ["10.20.0.0/16"]
    task = group("local-mlflow-ecs-task-sg")
    assert [(p["FromPort"], p["ToPort"]) for p in task["IpPermissions"]] == [(8080, 8080)]


def test_log_group_and_tags_follow_the_inventory(emu, deployed):
    logs = emu.client("logs")
    group = logs.describe_log_groups(logGroupNamePrefix="/custom/local-mlflow")["logGroups"][0]
    assert group["retentionInDays"] == 14
    tags = logs.list_tags_for_resource(resourceArn=group["arn"].removesuffix(":*"))["tags"]
    assert tags["Team"] == "ml-platform"
    assert tags["Environment"] == "local"
    # The execution role may write to that log group (its policy follows the name).
    iam = emu.client("iam")
    policy = iam.get_role_policy(
        RoleName="local-mlflow-ecs-execution-role", PolicyName="local-mlflow-ecs-execution-policy"
    )["PolicyDocument"]
    assert "log-group:/custom/local-mlflow:*" in json.dumps(policy)


def test_service_follows_the_inventory(emu, deployed):
    service = emu.client("ecs").describe_services(
        cluster="local-mlflow-cluster", services=["local-mlflow-tracking"]
    )["services"][0]
    assert service["loadBalancers"][0]["containerPort"] == 8080


def test_second_deploy_with_the_same_inventory_changes_nothing(emu, deployed):
    result = run_playbook("deploy", inventory=str(deployed["inventory"]), emulator=emu)
    assert result.rc == 0, result.tail()
    assert result.changed == 0, result.tail()
    # The first deploy's outputs file, under the inventory directory, is not read as inventory.
    assert "not a valid group definition" not in result.stderr, result.stderr[-2000:]


# ---------------------------------------------------------------- refused before any change

REFUSED = {
    "playbook state": ({"mlflow_state": "absent"}, "mlflow_state is set by the playbook"),
    "role state": ({"logging_state": "absent"}, "logging_state is set"),
    "renamed": (
        {"mlflow_container_environment": {"FOO": "bar"}},
        "mlflow_container_environment is no longer read: set ecs_container_environment",
    ),
    "keep-alive shorter than the idle timeout": (
        {"load_balancer_idle_timeout": 300, "ecs_keep_alive_timeout": 100},
        "ecs_keep_alive_timeout=100 s is not longer than load_balancer_idle_timeout=300 s",
    ),
    "prefix in the plain environment": (
        {"ecs_container_environment": {"MLFLOW_STATIC_PREFIX": "/mlflow"}},
        "MLFLOW_STATIC_PREFIX follows mlflow_static_prefix",
    ),
    "backend store in the plain environment": (
        {"ecs_container_environment": {"MLFLOW_BACKEND_STORE_URI": "sqlite:////tmp/x.db"}},
        "MLFLOW_BACKEND_STORE_URI follows storage_backend",
    ),
    "prefix of the role only": (
        {"ecs_static_prefix": "/mlflow"},
        "ecs_static_prefix='/mlflow' differs from mlflow_static_prefix=''",
    ),
    "bad prefix": (
        {"mlflow_static_prefix": "mlflow/"},
        "mlflow_static_prefix must be empty or a path",
    ),
    "health check outside the prefix": (
        {"mlflow_static_prefix": "/mlflow", "load_balancer_health_check_path": "/health"},
        "load_balancer_health_check_path='/health' must be an absolute path under",
    ),
    "target port": (
        {"load_balancer_target_port": 8081},
        "load_balancer_target_port=8081 differs from ecs_container_port=5000",
    ),
    "listener ports": (
        {"security_alb_listener_ports": [80, 8443]},
        "security_alb_listener_ports=[80, 8443] differs from the ports the load balancer",
    ),
    "unknown instance class": (
        {"storage_backend": "postgres", "storage_db_instance_class": "db.x9.huge"},
        "storage_db_instance_class=db.x9.huge is not an RDS PostgreSQL instance class",
    ),
    "EFS provisioned throughput without its MiB/s": (
        {"storage_backend": "efs", "storage_efs_throughput_mode": "provisioned"},
        "storage_efs_throughput_mode, storage_efs_provisioned_throughput_mibps is provisioned, 0"
        " MiB/s; allowed: provisioned with 1 to 3414 MiB/s (EFS), or bursting with 0",
    ),
    "misspelt setting": (
        {"ecs_task_cpuu": 512, "storage_bakend": "efs"},
        "storage_bakend (storage role); ecs_task_cpuu (ecs role): not a setting of that role",
    ),
    "CIDR with address bits past its prefix": (
        {"security_alb_ingress_cidrs": ["10.0.0.1/8"]},
        "security_alb_ingress_cidrs is ['10.0.0.1/8']; allowed: at least one IPv4 CIDR block",
    ),
    "bucket name with a prefix S3 reserves": (
        {"storage_bucket_name": "sthree-mlflow-artifacts"},
        "storage_bucket_name is 'sthree-mlflow-artifacts'; allowed: 3 to 63 lower-case letters",
    ),
    "dictionary setting given true": (
        {"ecs_scheduled_scaling": True},
        "ecs_scheduled_scaling (ecs role) must be a dictionary; got true/false",
    ),
    "login over plain HTTP outside local and dev": (
        {"mlflow_env": "qa", "storage_backend": "efs"},  # sqlite: local and dev only
        "MLflow's login is on (security_auth_enabled) but qa has no HTTPS listener",
    ),
}

# Refused by its own test below (test_database_connection_budget_names_the_instance_limit).
CONNECTION_BUDGET = (
    {
        "storage_backend": "postgres",
        "ecs_mlflow_workers": 4,
        "ecs_desired_count": 2,
        "ecs_autoscaling": {"enabled": True, "max_capacity": 4},
    },
    "At the rolling deploy's peak 8 tasks (4 (ecs_autoscaling.max_capacity) x "
    "ecs_deployment_maximum_percent 200%) x 4 workers (ecs_mlflow_workers) x 3 database "
    "engines per worker (tracking, model registry, auth) x 5 connections",
)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_by_name_before_any_change(emu, tmp_path, case, record_property):
    settings, message = REFUSED[case]
    emu.reset()
    before = account_listing(emu)
    inventory = make_inventory(tmp_path, "refused", settings)
    result = run_playbook("deploy", inventory=str(inventory), emulator=emu)
    refused = (
        result.rc != 0
        and message in " ".join(result.stdout.split())
        and "Nothing was" in result.stdout
        and account_listing(emu) == before
    )
    record_property("figure: bad inputs tried", 1)
    record_property("figure: bad inputs refused before any change", int(refused))
    assert result.rc != 0, result.tail()
    assert message in " ".join(result.stdout.split()), result.tail()
    assert "Nothing was" in result.stdout, result.tail()
    assert account_listing(emu) == before


# AWS's limits, one rule per setting (each role's vars/main.yml, `_<role>_setting_rules`).
# The rules of one role are checked in one loop that reports every failing rule, so one run per
# role covers all of its cases; each case is still its own test.
VALID_CERTIFICATE = (
    "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-0123456789ab"
)
OTHER_REGION_CERTIFICATE = VALID_CERTIFICATE.replace("us-east-1", "eu-west-1")
RULE_GROUPS = {
    "ecs": {
        "ecs_task_cpu": 1024,
        "ecs_task_memory": 512,
        "ecs_ephemeral_storage_gib": 300,
        "ecs_mlflow_workers": 0,
        "ecs_desired_count": 0,
        "ecs_stop_timeout": 200,
        "ecs_sqlalchemy_pool_size": 1,
        "ecs_sqlalchemy_max_overflow": 0,
        "mlflow_image": "Registry.example.com/My Image:latest",
        "ecs_log_group_name": "/ecs/other",
        "ecs_deployment_minimum_healthy_percent": 100,
        "ecs_deployment_maximum_percent": 100,
    },
    "load_balancer": {
        "load_balancer_idle_timeout": 5000,
        "load_balancer_domain_name": "MLflow.Example.com",
        "load_balancer_certificate_arn": OTHER_REGION_CERTIFICATE,
        "load_balancer_https_port": 80,
        "load_balancer_health_check_interval": 3,
        "load_balancer_health_check_matcher": "ok",
        "load_balancer_name": "x" * 40,
    },
    "security": {
        "security_alb_ingress_cidrs": ["10.0.0.0/33", "::/0"],
        "security_auth_password_length": 8,
        "security_auth_admin_username": "the admin",
        "security_execution_role_managed_policy_arns": ["not-an-arn"],
        "security_auth_secrets_recovery_window_days": 3,
    },
    "storage": {
        "storage_backend": "postgres",
        "storage_db_allocated_storage": 10,
        "storage_db_backup_retention_days": 40,
        "storage_db_username": "admin",
        "storage_db_port": 80,
        "storage_bucket_name": "Upper_Case_Bucket",
        "storage_db_secret_recovery_window_days": 31,
        "storage_sqlite_data_dir": "data",
    },
    "tags": {"mlflow_extra_tags": {"aws:owner": "me", "Team": "x" * 300}},
    "container port": {"ecs_container_port": 80},
    "role environment": {"ecs_env": "other"},
    "health check path": {"load_balancer_health_check_path": "health"},
    "secret in the environment": {"ecs_container_environment": {"API_TOKEN": "abc"}},
    "deployment percent": {"ecs_deployment_minimum_healthy_percent": -50},
    "schedule": {
        "ecs_scheduled_scaling": {
            "enabled": True,
            "days": ["MON", "MON"],
            "start_hour": 19,
            "stop_hour": 7,
        }
    },
    "retries": {"mlflow_aws_max_attempts": 0},
    "wait interval": {"mlflow_wait_interval": 0},
}
RULES = [
    (
        "ecs",
        "ecs_task_cpu, ecs_task_memory is 1024 CPU units, 512 MiB; allowed: a Fargate task size",
    ),
    ("ecs", "ecs_ephemeral_storage_gib is 300; allowed: 21 to 200 GiB (Fargate)"),
    ("ecs", "ecs_mlflow_workers is 0; allowed: 1 to 64 server workers"),
    ("ecs", "ecs_desired_count is 0; allowed: 1 to 100 tasks"),
    ("ecs", "ecs_stop_timeout is 200; allowed: 2 to 120 seconds (Fargate)"),
    ("ecs", "ecs_sqlalchemy_pool_size, ecs_sqlalchemy_max_overflow is 1, 0; allowed: a pool of"),
    ("ecs", "mlflow_image is Registry.example.com/My Image:latest; allowed: a container image"),
    ("load_balancer", "load_balancer_idle_timeout is 5000; allowed: 1 to 4000 seconds"),
    (
        "load_balancer",
        "load_balancer_domain_name is 'MLflow.Example.com'; allowed: a host name in lower case",
    ),
    (
        "load_balancer",
        f"load_balancer_certificate_arn is '{OTHER_REGION_CERTIFICATE}'; allowed: the ARN"
        " of an ACM certificate in the deployment's region us-east-1",
    ),
    (
        "load_balancer",
        "load_balancer_http_port, load_balancer_https_port is 80, 80; allowed: two different ports",
    ),
    (
        "load_balancer",
        "load_balancer_health_check_interval, load_balancer_health_check_timeout is 3 s, 5 s",
    ),
    ("load_balancer", "load_balancer_health_check_matcher is ok; allowed: HTTP codes 200-499"),
    (
        "security",
        "security_alb_ingress_cidrs is ['10.0.0.0/33', '::/0']; allowed: at least one IPv4 CIDR",
    ),
    ("security", "security_auth_password_length is 8; allowed: 16 to 4096 characters"),
    ("security", "security_auth_admin_username is 'the admin'; allowed: 1 to 64 letters"),
    ("storage", "storage_db_allocated_storage, storage_db_max_allocated_storage is 10, 100 GiB"),
    ("storage", "storage_db_backup_retention_days is 40; allowed: 0 to 35 days"),
    ("storage", "storage_db_username is 'admin'; allowed: 1 to 63 letters"),
    ("storage", "storage_db_port is 80; allowed: 1150 to 65535 (RDS)"),
    ("storage", "storage_sqlite_data_dir is 'data'; allowed: an absolute directory path"),
    ("ecs", "ecs_log_group_name is /ecs/other; allowed: the logging role's log group"),
    (
        "ecs",
        "ecs_deployment_minimum_healthy_percent, ecs_deployment_maximum_percent is 100, 100 with 1"
        " task(s); allowed: a maximum percent that leaves room for one more task",
    ),
    ("load_balancer", "load_balancer_name, load_balancer_target_group_name is 'xxxxxxxxxx"),
    (
        "security",
        "security_execution_role_managed_policy_arns is ['not-an-arn']; allowed: IAM managed",
    ),
    ("storage", "storage_bucket_name is 'Upper_Case_Bucket'; allowed: 3 to 63 lower-case letters"),
    (
        "security",
        "security_auth_secrets_recovery_window_days is 3; allowed: 7 to 30 days, or 0 to delete",
    ),
    (
        "storage",
        "storage_db_secret_recovery_window_days is 31; allowed: 7 to 30 days, or 0 to delete",
    ),
    ("role environment", "ecs_env=other differs from mlflow_env=local"),
    ("tags", "key 'aws:owner' uses the reserved prefix aws:"),
    ("tags", "the value of 'Team' is longer than 256 characters"),
    ("container port", "security_alb_listener_ports, security_container_port is [80], 80"),
    ("health check path", "load_balancer_health_check_path='health' must be an absolute path"),
    (
        "deployment percent",
        "ecs_deployment_minimum_healthy_percent is -50; allowed: 0 to 100 percent",
    ),
    (
        "schedule",
        "ecs_scheduled_scaling.days is ['MON', 'MON']; allowed: days among MON, TUE, WED, THU, FRI,"
        " SAT, SUN, each once",
    ),
    ("schedule", "ecs_scheduled_scaling.start_hour, ecs_scheduled_scaling.stop_hour is 19, 7;"),
    ("retries", "mlflow_aws_max_attempts is 0; allowed: 1 to 20 attempts per AWS call"),
    ("wait interval", "mlflow_wait_interval is 0; allowed: 1 to 3600 seconds"),
    (
        "secret in the environment",
        "ecs_container_environment sets API_TOKEN, a name that looks like a secret",
    ),
]


@pytest.fixture(scope="module")
def rule_runs(emu, tmp_path_factory):
    """One refused deploy per group of RULE_GROUPS (run when a test first asks for it), and
    whether the account was left exactly as it was."""
    runs = {}

    def run(group):
        if group not in runs:
            emu.reset()
            before = account_listing(emu)
            inventory = make_inventory(
                tmp_path_factory.mktemp("rules"), group.replace(" ", "_"), RULE_GROUPS[group]
            )
            result = run_playbook("deploy", inventory=str(inventory), emulator=emu)
            runs[group] = (result, account_listing(emu) == before)
        return runs[group]

    return run


@pytest.mark.parametrize(("group", "message"), RULES, ids=[m[:60] for _, m in RULES])
def test_aws_limits_refused_before_any_change(rule_runs, group, message, record_property):
    result, unchanged = rule_runs(group)
    refused = result.rc != 0 and message in " ".join(result.stdout.split()) and unchanged
    record_property("figure: bad inputs tried", 1)
    record_property("figure: bad inputs refused before any change", int(refused))
    assert result.rc != 0, result.tail()
    assert message in " ".join(result.stdout.split()), result.tail()
    assert unchanged, "the refused deploy changed the account"


def test_database_connection_budget_names_the_instance_limit(emu, tmp_path):
    """db.t4g.micro: max_connections LEAST(1 GiB / 9531392, 5000) = 112, 3 reserved."""
    settings, message = CONNECTION_BUDGET
    inventory = make_inventory(tmp_path, "budget", settings)
    before = account_listing(emu)
    result = run_playbook("deploy", inventory=str(inventory), emulator=emu)
    assert result.rc != 0
    text = " ".join(result.stdout.split())
    assert message in text, result.tail()
    assert "= 480 connections, but db.t4g.micro takes 109" in text, result.tail()
    assert "(storage_db_connection_limit: max_connections 112 less 3 reserved)" in text
    assert account_listing(emu) == before
    # The same load on a larger class fits: nothing else refuses it. playbooks/cost.yml runs the
    # deploy's checks without AWS (it refuses the first inventory as the deploy does).
    fits = make_inventory(
        tmp_path, "fits", {**settings, "storage_db_instance_class": "db.m7g.large"}
    )
    refused, passed = (run_playbook("cost", inventory=str(i)) for i in (inventory, fits))
    assert refused.rc != 0 and message in " ".join(refused.stdout.split()), refused.tail()
    assert passed.rc == 0, passed.tail()
    assert "At the rolling deploy's peak" not in passed.stdout, passed.tail()


def test_login_over_plain_http_opted_in_deploys_with_a_warning(emulator_factory):
    """The shipped staging inventory has no domain yet: it deploys only through its visible
    opt-in (load_balancer_allow_auth_over_http), and every deploy says so."""
    staging = emulator_factory("staging")
    result = run_playbook(
        "deploy", inventory="staging", emulator=staging, extra_vars={"image_build": False},
        check=True,
    )  # fmt: skip
    assert result.rc == 0, result.tail()
    text = " ".join(result.stdout.split())
    assert "WARNING: load_balancer_allow_auth_over_http=true in staging" in text, result.tail()
    assert "so every request carries a user's" in text


def test_checks_of_one_play_do_not_spare_a_later_play_its_own():
    """The roles skip what deploy.yml's mlflow role checked only within that play."""
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            str(ROOT / "tests" / "integration" / "playbooks" / "checks_per_play.yml"),
            "-i",
            "localhost,",
        ],
        cwd=ROOT,
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "It is allowed only in local, dev" in proc.stdout, proc.stdout[-3000:]
    assert "Ensure the artifacts bucket" not in proc.stdout, proc.stdout[-3000:]


@pytest.mark.parametrize("playbook", ["deploy", "destroy"])
def test_a_run_without_an_environments_inventory_stops_first_naming_what_it_lacks(playbook):
    """-i localhost, (or no inventory): stopped by its first task, before any AWS call (no
    emulator here) and before the lock, with the variables to set and how (cost.yml too)."""
    result = run_playbook(playbook, inventory="localhost,", extra_vars={"mlflow_env": "dev"})
    assert result.rc != 0
    text = " ".join(result.stdout.split())
    assert "aws_region not set: this run has no environment's inventory" in text, result.tail()
    assert "Run the playbook with one, e.g. -i inventories/production" in text
    # Its only task: not the arg spec, not the lock release of the block's `always:`.
    assert result.recap == {"ok": 0, "changed": 0, "unreachable": 0, "failed": 1, "skipped": 0}, (
        result.tail()
    )


def test_io1_database_storage_is_refused_by_the_argument_spec(emu, tmp_path):
    """RDS requires provisioned IOPS with io1, which the storage role does not set: the choice
    is not offered (it was, and would have failed at CreateDBInstance on AWS; moto accepts it)."""
    emu.reset()
    before = account_listing(emu)
    settings = {"storage_backend": "postgres", "storage_db_storage_type": "io1"}
    result = run_playbook(
        "deploy", inventory=str(make_inventory(tmp_path, "io1", settings)), emulator=emu
    )
    assert result.rc != 0
    text = " ".join(result.stdout.split())
    assert "storage_db_storage_type must be one of: gp2, gp3, standard, got: io1" in text, (
        result.tail()
    )
    assert account_listing(emu) == before


def test_destroy_refuses_a_role_state_too(emu, tmp_path):
    inventory = make_inventory(tmp_path, "destroy", {"ecs_state": "present"})
    result = run_playbook("destroy", inventory=str(inventory), emulator=emu)
    assert result.rc != 0
    assert "ecs_state is set, but the playbook sets every role's state" in " ".join(
        result.stdout.split()
    )


# ---------------------------------------------------------------- long waits report progress


@pytest.fixture
def stuck_emulator(monkeypatch):
    """An emulator whose new ECS services never run a task (runningCount stays 0)."""
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "0")
    emu = start_emulator("local")
    monkeypatch.delenv("MOTO_ECS_SERVICE_RUNNING")
    yield emu
    emulator_tool.stop_server(emu.port)


def test_a_service_that_never_gets_stable_reports_progress_then_stops(stuck_emulator, tmp_path):
    inventory = make_inventory(
        tmp_path, "stuck", {"ecs_wait_timeout": 25, "mlflow_wait_interval": 10}
    )
    result = run_playbook("deploy", inventory=str(inventory), emulator=stuck_emulator)
    assert result.rc != 0
    text = " ".join(result.stdout.split())
    progress = re.findall(
        r"Waiting for ECS service local-mlflow-tracking to be stable \((\d+) s, timeout 25 s\): "
        r"0 of 1 tasks running",
        text,
    )
    # A line at the start and one per 10 s round: the wait reports while it waits.
    assert len(progress) >= 3, result.tail()
    assert [int(s) for s in progress] == sorted(int(s) for s in progress)
    assert "Gave up waiting for ECS service local-mlflow-tracking to be stable after 25 s" in text
    assert "Look at the service's events and stopped tasks" in text
    assert "Raise ecs_wait_timeout to wait longer" in text


def test_waits_pass_at_once_when_ready(emu, deployed):
    """On a healthy account each wait reports once, done, and the deploy goes on."""
    text = " ".join(deployed["result"].stdout.split())
    assert re.search(
        r"Done for ECS service local-mlflow-tracking to be stable \(\d+ s, timeout 600 s\): "
        r"1 of 1 tasks running",
        text,
    ), deployed["result"].tail()


def test_outputs_land_next_to_the_inventory_and_nowhere_in_the_collection(emu, deployed):
    assert (
        json.loads((deployed["inventory"] / ".outputs" / "local.json").read_text())["environment"]
        == "local"
    )
    assert written_in_checkout(deployed["checkout_before"]) == []


def test_outputs_file_defaults_to_the_inventory_dir_else_the_current_dir(tmp_path):
    """mlflow_outputs_file as deploy.yml's own tasks read it, after the mlflow role: in the
    inventory's .outputs/, or ./outputs/ with a host list (no inventory directory: "None" in
    ansible-core 2.19). And a deploy warns about an earlier version's outputs/ next to the
    inventory (its first AWS call then fails: a closed port). No deploy: about 6 s."""
    inventory = make_inventory(tmp_path, "inv", {})
    (inventory / "outputs").mkdir()
    workdir = tmp_path / "work"
    workdir.mkdir()

    def show(*args: str) -> str:
        proc = subprocess.run(
            [
                str(Path(sys.executable).parent / "ansible-playbook"),
                str(ROOT / "tests" / "integration" / "playbooks" / "outputs_file.yml"),
                *args,
            ],
            cwd=workdir,
            env=ansible_env({"PWD": str(workdir)}),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return re.search(r"outputs file: (\S+)\"", proc.stdout).group(1)

    assert show("-i", str(inventory)) == f"{inventory}/.outputs/local.json"
    assert show("-i", "localhost,", "-e", "mlflow_env=dev aws_region=us-east-1") == (
        f"{workdir}/outputs/dev.json"
    )
    result = run_playbook(
        "deploy",
        inventory=str(inventory),
        extra_vars={"aws_endpoint_url": "http://127.0.0.1:9", "mlflow_aws_max_attempts": 1},
    )
    assert result.rc != 0
    text = " ".join(result.stdout.split())
    assert f"{inventory}/outputs/ holds outputs of an earlier version of this collection" in text, (
        result.tail()
    )
    assert f"Outputs now go to {inventory}/.outputs/local.json; move or delete" in text
