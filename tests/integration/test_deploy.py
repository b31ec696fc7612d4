"""End to end: deploy the production inventory into the emulator, compare every resource with
the old stack's facts (../shared/spec/old-stack.md), redeploy, check mode, destroy.

The only changes from the production inventory are `aws_endpoint_url`, as a user would do, and
`image_build=false` (no Docker engine runs here to build the image; tools/moto_server.py makes
the emulator answer as AWS does where the production settings need it).
Tests in this module run in order and share one emulator. The playbooks run with mitogen's
strategy, as most modules' do (tests/conftest.py names those that run Ansible's default).
"""

from __future__ import annotations

import json

import pytest
from conftest import run_playbook

pytestmark = pytest.mark.integration

ENV = "production"
TAGS = {"Environment": ENV, "Application": "mlflow", "ManagedBy": "mlops.mlflow_ecs"}


def tagged_resources(emu) -> list[str]:
    """ARNs of every resource carrying this deployment's tags (Resource Groups Tagging API)."""
    api = emu.client("resourcegroupstaggingapi")
    arns = []
    for page in api.get_paginator("get_resources").paginate(
        TagFilters=[
            {"Key": "Environment", "Values": [ENV]},
            {"Key": "ManagedBy", "Values": [TAGS["ManagedBy"]]},
        ]
    ):
        arns += [r["ResourceARN"] for r in page["ResourceTagMappingList"]]
    return arns


def inventory_of_stack(emu) -> dict[str, list]:
    """Everything the MLflow stack may create, listed service by service."""
    ec2, elbv2, ecs, logs, iam = (emu.client(s) for s in ("ec2", "elbv2", "ecs", "logs", "iam"))
    sgs = ec2.describe_security_groups(Filters=[{"Name": "tag:Environment", "Values": [ENV]}])[
        "SecurityGroups"
    ]
    return {
        "security_groups": [g["GroupName"] for g in sgs],
        "load_balancers": [
            lb["LoadBalancerName"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]
        ],
        "target_groups": [
            tg["TargetGroupName"] for tg in elbv2.describe_target_groups()["TargetGroups"]
        ],
        "clusters": [
            c["clusterName"]
            for c in ecs.describe_clusters(clusters=ecs.list_clusters()["clusterArns"])["clusters"]
            if c["status"] == "ACTIVE"
        ]
        if ecs.list_clusters()["clusterArns"]
        else [],
        "task_definitions": ecs.list_task_definitions(
            familyPrefix=f"{ENV}-mlflow", status="ACTIVE"
        )["taskDefinitionArns"],
        "log_groups": [
            g["logGroupName"]
            for g in logs.describe_log_groups(logGroupNamePrefix=f"/ecs/{ENV}-")["logGroups"]
        ],
        "roles": [
            r["RoleName"]
            for r in iam.list_roles()["Roles"]
            if r["RoleName"].startswith(f"{ENV}-mlflow")
        ],
    }


def assert_nothing_deployed(emu):
    assert tagged_resources(emu) == []
    assert all(v == [] for v in inventory_of_stack(emu).values()), inventory_of_stack(emu)


# Destroy keeps the data (roles/storage): the artifacts bucket, the database with its secret,
# subnet group and security group (without rules), and lists them at the end of the run.
KEPT_DATA = {
    f"S3 bucket {ENV}-mlflow-artifacts-": ":s3:::",
    f"RDS instance {ENV}-mlflow-db ": ":db:",
    f"Secrets Manager secret {ENV}-mlflow-db-credentials ": f":secret:{ENV}-mlflow-db-credentials",
    f"RDS subnet group {ENV}-mlflow-db-subnets": ":subgrp:",
    f"Security group {ENV}-mlflow-db-sg ": ":security-group/",
    f"Secrets Manager secret {ENV}/mlflow/admin ": f":secret:{ENV}/mlflow/admin-",
    f"Secrets Manager secret {ENV}/mlflow/flask-secret-key ": (
        f":secret:{ENV}/mlflow/flask-secret-key-"
    ),
}


def active(emu, arn: str) -> bool:
    """False for an ECS resource that is deleted: moto, unlike AWS, still lists an INACTIVE
    cluster, service or task definition in the Resource Groups Tagging API."""
    ecs = emu.client("ecs")
    if ":cluster/" in arn:
        return ecs.describe_clusters(clusters=[arn])["clusters"][0]["status"] == "ACTIVE"
    if ":service/" in arn:
        cluster = arn.split("/")[-2]
        services = ecs.describe_services(cluster=cluster, services=[arn])["services"]
        return bool(services) and services[0]["status"] == "ACTIVE"
    if ":task-definition/" in arn:
        return (
            ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["status"] == "ACTIVE"
        )
    return True


def assert_nothing_deployed_but_the_kept_data(emu, destroy_output: str):
    """Nothing is left but the data resources that destroy.yml listed as kept."""
    for listed in KEPT_DATA:
        assert listed in destroy_output, (listed, destroy_output[-3000:])
    # The kept database's automated backups (snapshots named rds:<instance>-<time>) stay too.
    kept = [*KEPT_DATA.values(), f":snapshot:rds:{ENV}-mlflow-db-"]
    left = [a for a in tagged_resources(emu) if not any(k in a for k in kept) and active(emu, a)]
    assert left == [], "\n".join(left)
    stack = inventory_of_stack(emu)
    assert stack.pop("security_groups") == [f"{ENV}-mlflow-db-sg"]
    assert all(v == [] for v in stack.values()), stack


@pytest.fixture(scope="module")
def emu(emulator_factory):
    return emulator_factory(ENV)


@pytest.fixture(scope="module")
def deploy(emu, tmp_path_factory):
    outputs = tmp_path_factory.mktemp("outputs") / "production.json"
    state = {"outputs_file": outputs}

    def run(**kwargs):
        extra = {
            "mlflow_outputs_file": str(outputs),
            # No Docker engine runs here: deploy creates the ECR repository and pins the image of
            # this commit without building it (image.yml builds where an engine exists).
            "image_build": False,
            **kwargs.pop("extra_vars", {}),
        }
        return run_playbook("deploy", inventory=ENV, emulator=emu, extra_vars=extra, **kwargs)

    state["run"] = run
    return state


def test_bad_input_fails_before_anything_is_created(emu, deploy):
    result = deploy["run"](extra_vars={"ecs_task_cpu": "lots"})
    assert result.rc != 0
    assert "ecs_task_cpu" in result.stdout
    assert_nothing_deployed(emu)


def test_check_mode_on_a_fresh_account_creates_nothing(emu, deploy):
    result = deploy["run"](check=True, diff=True)
    assert result.rc == 0, result.tail()
    assert result.changed > 0
    assert_nothing_deployed(emu)
    assert not deploy["outputs_file"].exists()


def test_deploy_succeeds(emu, deploy):
    result = deploy["run"]()
    assert result.rc == 0, result.tail()
    assert "MLflow URL:  http://production-mlflow-alb" in result.stdout
    deploy["first"] = result


def test_outputs_file(emu, deploy):
    outputs = json.loads(deploy["outputs_file"].read_text())
    dns = emu.client("elbv2").describe_load_balancers(Names=[f"{ENV}-mlflow-alb"])["LoadBalancers"][
        0
    ]["DNSName"]
    assert outputs["mlflow_url"] == f"http://{dns}"
    assert outputs["cluster_name"] == f"{ENV}-mlflow-cluster"
    assert outputs["service_name"] == f"{ENV}-mlflow-tracking"
    assert outputs["log_group_name"] == f"/ecs/{ENV}-mlflow-tracking"


def security_group(emu, name):
    groups = emu.client("ec2").describe_security_groups(
        Filters=[
            {"Name": "tag:Name", "Values": [name]},
            {"Name": "vpc-id", "Values": [emu.main_stack["VPCId"]]},
        ]
    )["SecurityGroups"]
    assert len(groups) == 1, groups
    return groups[0]


def test_alb_security_group_opens_only_http_to_the_internet(emu, deploy):
    group = security_group(emu, f"{ENV}-mlflow-alb-sg")
    rules = [
        (
            p["IpProtocol"],
            p.get("FromPort"),
            p.get("ToPort"),
            sorted(r["CidrIp"] for r in p.get("IpRanges", [])),
        )
        for p in group["IpPermissions"]
    ]
    assert rules == [("tcp", 80, 80, ["0.0.0.0/0"])]
    assert {t["Key"]: t["Value"] for t in group["Tags"]}.items() >= TAGS.items()


def test_task_security_group_admits_only_the_alb_on_the_container_port(emu, deploy):
    alb = security_group(emu, f"{ENV}-mlflow-alb-sg")
    task = security_group(emu, f"{ENV}-mlflow-ecs-task-sg")
    assert len(task["IpPermissions"]) == 1
    rule = task["IpPermissions"][0]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 5000, 5000)
    assert rule.get("IpRanges", []) == [] and rule.get("Ipv6Ranges", []) == []
    assert [p["GroupId"] for p in rule["UserIdGroupPairs"]] == [alb["GroupId"]]


def ecs_role(emu, suffix):
    iam = emu.client("iam")
    role = iam.get_role(RoleName=f"{ENV}-mlflow-ecs-{suffix}")["Role"]
    principals = [
        s["Principal"].get("Service") for s in role["AssumeRolePolicyDocument"]["Statement"]
    ]
    assert principals == ["ecs-tasks.amazonaws.com"]
    return role


def test_execution_role_trusts_ecs_tasks_with_a_least_privilege_inline_policy(emu, deploy):
    # No AWS managed policy (AmazonECSTaskExecutionRolePolicy allows Resource "*"): an inline
    # policy limited to our repository, log group and secrets (tests/integration/test_security.py
    # checks every statement).
    role = ecs_role(emu, "execution-role")
    iam = emu.client("iam")
    assert iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"] == []
    assert (
        f"{ENV}-mlflow-ecs-execution-policy"
        in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
    )


def test_task_role_trusts_ecs_tasks(emu, deploy):
    role = ecs_role(emu, "task-role")
    iam = emu.client("iam")
    assert iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"] == []


def test_log_group(emu, deploy):
    groups = emu.client("logs").describe_log_groups(
        logGroupNamePrefix=f"/ecs/{ENV}-mlflow-tracking"
    )["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in groups] == [
        (f"/ecs/{ENV}-mlflow-tracking", 7)
    ]


def test_ecs_cluster_uses_fargate(emu, deploy):
    cluster = emu.client("ecs").describe_clusters(clusters=[f"{ENV}-mlflow-cluster"])["clusters"][0]
    assert cluster["status"] == "ACTIVE"
    assert "FARGATE" in cluster["capacityProviders"]
    assert cluster["defaultCapacityProviderStrategy"] == [
        {"capacityProvider": "FARGATE", "weight": 1, "base": 0}
    ] or cluster["defaultCapacityProviderStrategy"] == [
        {"capacityProvider": "FARGATE", "weight": 1}
    ]


def task_definition(emu):
    return emu.client("ecs").describe_task_definition(taskDefinition=f"{ENV}-mlflow-tracking")[
        "taskDefinition"
    ]


def test_task_definition_matches_the_old_stack(emu, deploy):
    td = task_definition(emu)
    assert td["networkMode"] == "awsvpc"
    assert td["requiresCompatibilities"] == ["FARGATE"]
    # The old stack's 0.25 vCPU; 1024 MiB instead of its 512 (the server peaks at ~390 MiB under
    # 16 clients, 76 % of 512: roles/ecs/defaults/main.yml).
    assert (td["cpu"], td["memory"]) == ("256", "1024")
    assert td["executionRoleArn"] == ecs_role(emu, "execution-role")["Arn"]
    assert td["taskRoleArn"] == ecs_role(emu, "task-role")["Arn"]
    (container,) = td["containerDefinitions"]
    assert container["name"] == "mlflow"
    assert [(p["containerPort"], p["protocol"]) for p in container["portMappings"]] == [
        (5000, "tcp")
    ]
    log = container["logConfiguration"]
    assert log["logDriver"] == "awslogs"
    assert log["options"]["awslogs-group"] == f"/ecs/{ENV}-mlflow-tracking"
    assert log["options"]["awslogs-stream-prefix"] == "ecs"
    assert log["options"]["awslogs-region"] == "us-east-1"
    health = container["healthCheck"]
    assert (health["interval"], health["timeout"], health["retries"]) == (30, 5, 3)
    assert health["startPeriod"] >= 10
    # The check runs the image's own Python probe of /health: no wget/curl needed in the image.
    assert "healthcheck" in health["command"] and not {"wget", "curl"} & set(
        " ".join(health["command"]).split()
    )


def test_task_definition_lets_the_load_balancer_name_through(emu, deploy):
    dns = emu.client("elbv2").describe_load_balancers(Names=[f"{ENV}-mlflow-alb"])["LoadBalancers"][
        0
    ]["DNSName"]
    env = {
        e["name"]: e["value"]
        for e in task_definition(emu)["containerDefinitions"][0]["environment"]
    }
    assert dns in env["MLFLOW_ALLOWED_HOSTS"].split(",")


def test_load_balancer(emu, deploy):
    elbv2 = emu.client("elbv2")
    lb = elbv2.describe_load_balancers(Names=[f"{ENV}-mlflow-alb"])["LoadBalancers"][0]
    assert (lb["Scheme"], lb["Type"]) == ("internet-facing", "application")
    subnets = sorted(az["SubnetId"] for az in lb["AvailabilityZones"])
    assert subnets == sorted([emu.main_stack["PublicSubnet1Id"], emu.main_stack["PublicSubnet2Id"]])
    assert lb["SecurityGroups"] == [security_group(emu, f"{ENV}-mlflow-alb-sg")["GroupId"]]


def test_target_group_health_check(emu, deploy):
    tg = emu.client("elbv2").describe_target_groups(Names=[f"{ENV}-mlflow-tg"])["TargetGroups"][0]
    assert (tg["Protocol"], tg["Port"], tg["TargetType"]) == ("HTTP", 5000, "ip")
    assert tg["VpcId"] == emu.main_stack["VPCId"]
    assert tg["HealthCheckPath"] == "/health"
    assert (tg["HealthCheckIntervalSeconds"], tg["HealthCheckTimeoutSeconds"]) == (30, 5)
    assert (tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"]) == (2, 3)
    assert tg["Matcher"]["HttpCode"] == "200"


def test_http_listener_forwards_to_the_target_group(emu, deploy):
    elbv2 = emu.client("elbv2")
    lb = elbv2.describe_load_balancers(Names=[f"{ENV}-mlflow-alb"])["LoadBalancers"][0]
    tg = elbv2.describe_target_groups(Names=[f"{ENV}-mlflow-tg"])["TargetGroups"][0]
    listeners = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert [(lst["Protocol"], lst["Port"]) for lst in listeners] == [("HTTP", 80)]
    (action,) = listeners[0]["DefaultActions"]
    assert action["Type"] == "forward" and action["TargetGroupArn"] == tg["TargetGroupArn"]


def test_service(emu, deploy):
    ecs = emu.client("ecs")
    svc = ecs.describe_services(
        cluster=f"{ENV}-mlflow-cluster", services=[f"{ENV}-mlflow-tracking"]
    )["services"][0]
    assert svc["status"] == "ACTIVE"
    assert svc["desiredCount"] == 1
    assert svc["taskDefinition"] == task_definition(emu)["taskDefinitionArn"]
    net = svc["networkConfiguration"]["awsvpcConfiguration"]
    assert net["assignPublicIp"] == "ENABLED"
    assert sorted(net["subnets"]) == sorted(
        [emu.main_stack["PublicSubnet1Id"], emu.main_stack["PublicSubnet2Id"]]
    )
    assert net["securityGroups"] == [security_group(emu, f"{ENV}-mlflow-ecs-task-sg")["GroupId"]]
    tg = emu.client("elbv2").describe_target_groups(Names=[f"{ENV}-mlflow-tg"])["TargetGroups"][0]
    assert [
        (lb["containerName"], lb["containerPort"], lb["targetGroupArn"])
        for lb in svc["loadBalancers"]
    ] == [("mlflow", 5000, tg["TargetGroupArn"])]


def test_every_resource_carries_the_deployment_tags(emu, deploy):
    arns = tagged_resources(emu)
    for kind in (
        ":security-group/",
        ":loadbalancer/app/",
        ":targetgroup/",
        ":cluster/",
        ":service/",
    ):
        assert any(kind in arn for arn in arns), (kind, arns)


def test_second_deploy_reports_no_change(emu, deploy):
    result = deploy["run"]()
    assert result.rc == 0, result.tail()
    assert result.changed == 0, result.tail(8000)


def test_check_mode_on_the_deployed_account_reports_no_change(emu, deploy):
    result = deploy["run"](check=True, diff=True)
    assert result.rc == 0, result.tail()
    assert result.changed == 0, result.tail(8000)


def test_destroy_removes_everything_but_the_data_and_keeps_the_main_stack(emu):
    result = run_playbook("destroy", inventory=ENV, emulator=emu)
    assert result.rc == 0, result.tail()
    assert result.changed > 0
    assert_nothing_deployed_but_the_kept_data(emu, result.stdout)
    stack = emu.client("cloudformation").describe_stacks(StackName="absenteeism-infrastructure")[
        "Stacks"
    ][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"


def test_second_destroy_reports_no_change(emu):
    result = run_playbook("destroy", inventory=ENV, emulator=emu)
    assert result.rc == 0, result.tail()
    assert result.changed == 0, result.tail(8000)


def test_destroy_of_an_environment_never_deployed_succeeds_without_change(emu):
    result = run_playbook("destroy", inventory="staging", emulator=emu)
    assert result.rc == 0, result.tail()
    assert result.changed == 0, result.tail(8000)
