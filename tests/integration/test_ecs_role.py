"""The ecs role against the emulator: check mode, create, idempotence, redeploy, scale, destroy.

The prerequisites the role takes as inputs (log group, execution role, task security group,
load balancer, target group, listener) are created here with boto3, so the role is tested on
its own; tests/integration/playbooks/ecs_role.yml applies it. The tests run in file order and
share one emulator.

Emulator notes: moto reports a new service's runningCount from MOTO_ECS_SERVICE_RUNNING (0 when
unset, so the service would never look stable); it is set to 1 here. moto accepts but never
returns a service's deploymentConfiguration after CreateService, so the requests are read
through tests/integration/recording_proxy.py instead.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, PlaybookResult, ansible_env
from recording_proxy import RecordingProxy

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
PLAYBOOK = HERE / "playbooks" / "ecs_role.yml"
INVENTORY = HERE / "inventory" / "hosts.yml"

ENV = "production"
CLUSTER = f"{ENV}-mlflow-cluster"
SERVICE = f"{ENV}-mlflow-tracking"
FAMILY = f"{ENV}-mlflow-tracking"
LOG_GROUP = f"/ecs/{ENV}-mlflow-tracking"
TAGS = {"Environment": ENV, "Application": "mlflow", "ManagedBy": "mlops.mlflow_ecs"}
SECRET_SUFFIXES = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY")


@pytest.fixture(scope="module")
def emu(emulator_factory):
    with pytest.MonkeyPatch.context() as mp:
        # A created service reports one running task, so the role's wait for stability ends.
        mp.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
        return emulator_factory(ENV)


@pytest.fixture(scope="module")
def inputs(emu) -> dict:
    """Create what the role expects from the other roles; return the role's inputs."""
    stack = emu.main_stack
    subnets = [stack["PublicSubnet1Id"], stack["PublicSubnet2Id"]]
    emu.client("logs").create_log_group(logGroupName=LOG_GROUP)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    execution_role = emu.client("iam").create_role(
        RoleName=f"{ENV}-mlflow-execution", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    task_sg = emu.client("ec2").create_security_group(
        GroupName=f"{ENV}-mlflow-ecs-task-sg", Description="tasks", VpcId=stack["VPCId"]
    )["GroupId"]
    elbv2 = emu.client("elbv2")
    alb = elbv2.create_load_balancer(
        Name=f"{ENV}-mlflow-alb", Subnets=subnets, Type="application", Scheme="internet-facing"
    )["LoadBalancers"][0]
    target_group = elbv2.create_target_group(
        Name=f"{ENV}-mlflow-tg",
        Protocol="HTTP",
        Port=5000,
        VpcId=stack["VPCId"],
        TargetType="ip",
        HealthCheckPath="/health",
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}],
    )
    return {
        "ecs_env": ENV,
        "ecs_tags": TAGS,
        "ecs_execution_role_arn": execution_role,
        "ecs_subnet_ids": subnets,
        "ecs_security_group_ids": [task_sg],
        "ecs_target_group_arn": target_group,
        "ecs_load_balancer_arn": alb["LoadBalancerArn"],
        "ecs_load_balancer_dns_name": alb["DNSName"],
        "ecs_log_group_name": LOG_GROUP,
    }


def run_role(
    endpoint: str, inputs: dict, *, check: bool = False, diff: bool = False, **overrides
) -> PlaybookResult:
    extra = {**inputs, **overrides, "aws_endpoint_url": endpoint}
    cmd = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        str(PLAYBOOK),
        "-i",
        str(INVENTORY),
        "-e",
        json.dumps(extra),
    ]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    proc = subprocess.run(
        cmd, cwd=ROOT, env=ansible_env(), capture_output=True, text=True, timeout=900
    )
    return PlaybookResult(proc.returncode, proc.stdout, proc.stderr)


def published_fact(result: PlaybookResult, name: str) -> str:
    # The debug output is JSON or YAML, depending on the callback's result format.
    match = re.search(rf"^\s*\"?{name}\"?:\s*\"?([^\",\s]*)", result.stdout, re.M)
    assert match, f"fact {name} not shown:\n{result.tail()}"
    return match.group(1)


def service(emu) -> dict | None:
    found = emu.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])["services"]
    return found[0] if found and found[0]["status"] == "ACTIVE" else None


def active_revisions(emu, family: str = FAMILY) -> list[str]:
    return emu.client("ecs").list_task_definitions(familyPrefix=family, status="ACTIVE")[
        "taskDefinitionArns"
    ]


def latest_definition(emu) -> dict:
    return emu.client("ecs").describe_task_definition(
        taskDefinition=max(active_revisions(emu), key=lambda a: int(a.rsplit(":", 1)[1]))
    )["taskDefinition"]


def test_check_mode_on_an_empty_account_reports_changes_and_creates_nothing(emu, inputs):
    result = run_role(emu.endpoint_url, inputs, check=True, diff=True)
    assert result.rc == 0, result.tail()
    assert result.changed >= 3  # cluster, task definition, service (and service-linked role)
    ecs = emu.client("ecs")
    assert ecs.list_clusters()["clusterArns"] == []
    assert ecs.list_task_definitions()["taskDefinitionArns"] == []
    scaling = emu.client("application-autoscaling")
    assert scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []


def test_deploy_creates_the_cluster_task_definition_and_service(emu, inputs):
    with RecordingProxy(emu.endpoint_url) as proxy:
        result = run_role(proxy.url, inputs)
    assert result.rc == 0, result.tail()
    assert result.changed >= 3
    ecs = emu.client("ecs")

    # Service-linked role (moto names it AWSServiceRoleForecs: match by path).
    roles = emu.client("iam").list_roles(PathPrefix="/aws-service-role/ecs.amazonaws.com/")
    assert len(roles["Roles"]) == 1

    # Cluster: name, capacity providers, default strategy, Container Insights, tags.
    cluster = ecs.describe_clusters(clusters=[CLUSTER], include=["SETTINGS", "TAGS"])["clusters"][0]
    assert cluster["status"] == "ACTIVE"
    assert sorted(cluster["capacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]
    strategy = cluster["defaultCapacityProviderStrategy"]
    assert [(s["capacityProvider"], s["weight"], s.get("base", 0)) for s in strategy] == [
        ("FARGATE", 1, 0)
    ]
    assert {"name": "containerInsights", "value": "disabled"} in cluster["settings"]
    assert {t["key"]: t["value"] for t in cluster["tags"]} == {**TAGS, "Name": CLUSTER}

    # Task definition, property by property.
    revisions = active_revisions(emu)
    assert len(revisions) == 1
    td = ecs.describe_task_definition(taskDefinition=revisions[0], include=["TAGS"])
    definition = td["taskDefinition"]
    assert definition["family"] == FAMILY
    assert definition["networkMode"] == "awsvpc"
    assert definition["requiresCompatibilities"] == ["FARGATE"]
    assert (definition["cpu"], definition["memory"]) == ("256", "1024")
    assert definition["runtimePlatform"] == {
        "cpuArchitecture": "X86_64",
        "operatingSystemFamily": "LINUX",
    }
    assert "ephemeralStorage" not in definition  # 21 GiB: Fargate's default, nothing set
    assert definition["executionRoleArn"] == inputs["ecs_execution_role_arn"]
    assert {t["key"]: t["value"] for t in td["tags"]} == {**TAGS, "Name": FAMILY}
    [container] = definition["containerDefinitions"]
    assert container["name"] == "mlflow"
    assert container["image"] == "mlflow-tracking:latest"
    assert container["essential"] is True
    assert [(p["containerPort"], p.get("protocol", "tcp")) for p in container["portMappings"]] == [
        (5000, "tcp")
    ]
    assert container["logConfiguration"] == {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": LOG_GROUP,
            "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": "ecs",
        },
    }
    assert container["healthCheck"] == {
        "command": ["CMD", "python", "/app/entrypoint.py", "healthcheck"],
        "interval": 30,
        "timeout": 5,
        "retries": 3,
        "startPeriod": 60,
    }
    assert container["stopTimeout"] == 30
    # A read-only root filesystem, task storage on the two paths the server writes.
    assert container["readonlyRootFilesystem"] is True
    assert sorted((m["sourceVolume"], m["containerPath"]) for m in container["mountPoints"]) == [
        ("mlflow-scratch-data", "/mlflow/data"),
        ("mlflow-tmp", "/tmp"),
    ]
    assert sorted(v["name"] for v in definition["volumes"]) == ["mlflow-scratch-data", "mlflow-tmp"]
    environment = {e["name"]: e["value"] for e in container["environment"]}
    assert environment == {
        "MLFLOW_PORT": "5000",
        "MLFLOW_ALLOWED_HOSTS": inputs["ecs_load_balancer_dns_name"],
        "MLFLOW_WORKERS": "1",
        # The role alone: the load balancer's default idle timeout (60 s) + 5.
        "MLFLOW_KEEP_ALIVE_TIMEOUT": "65",
        "MLFLOW_SQLALCHEMYSTORE_POOL_SIZE": "2",
        "MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW": "3",
    }
    assert not [n for n in environment if n.upper().endswith(SECRET_SUFFIXES)]

    # Service: name, count, network, load balancer, launch type, tags.
    svc = ecs.describe_services(cluster=CLUSTER, services=[SERVICE], include=["TAGS"])["services"][
        0
    ]
    assert svc["status"] == "ACTIVE"
    assert svc["desiredCount"] == 1
    assert svc["taskDefinition"].endswith(f"task-definition/{FAMILY}:1")
    assert svc["launchType"] == "FARGATE"
    assert svc["platformVersion"] == "LATEST"
    awsvpc = svc["networkConfiguration"]["awsvpcConfiguration"]
    assert sorted(awsvpc["subnets"]) == sorted(inputs["ecs_subnet_ids"])
    assert awsvpc["securityGroups"] == inputs["ecs_security_group_ids"]
    assert awsvpc["assignPublicIp"] == "ENABLED"
    assert svc["loadBalancers"] == [
        {
            "targetGroupArn": inputs["ecs_target_group_arn"],
            "containerName": "mlflow",
            "containerPort": 5000,
        }
    ]
    assert svc["propagateTags"] == "SERVICE"
    assert {t["key"]: t["value"] for t in svc["tags"]} == {**TAGS, "Name": SERVICE}

    # What moto does not report back: read the CreateService request itself.
    [create] = proxy.calls("ecs", "CreateService")
    assert create["deploymentConfiguration"] == {
        "minimumHealthyPercent": 100,
        "maximumPercent": 200,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    }
    assert create["healthCheckGracePeriodSeconds"] == 60
    assert create["enableECSManagedTags"] is True
    # FARGATE by launch type (idempotent everywhere); the cluster's default strategy serves
    # tasks started without one.
    assert create["launchType"] == "FARGATE"
    assert "capacityProviderStrategy" not in create
    [create_cluster] = proxy.calls("ecs", "CreateCluster")
    assert create_cluster["defaultCapacityProviderStrategy"] == [
        {"capacityProvider": "FARGATE", "weight": 1, "base": 0}
    ]
    assert proxy.calls("ecs", "UpdateService") == []

    # Facts for the playbook.
    assert published_fact(result, "ecs_cluster_name") == CLUSTER
    assert published_fact(result, "ecs_cluster_arn") == cluster["clusterArn"]
    assert published_fact(result, "ecs_service_name") == SERVICE
    assert published_fact(result, "ecs_task_definition_arn") == revisions[0]


def test_second_run_changes_nothing(emu, inputs):
    with RecordingProxy(emu.endpoint_url) as proxy:
        result = run_role(proxy.url, inputs)
    assert result.rc == 0, result.tail()
    assert result.changed == 0, result.tail()
    writes = [op for op in proxy.operations("ecs") if not op.startswith(("Describe", "List"))]
    assert writes == []
    assert len(active_revisions(emu)) == 1


def test_check_diff_on_the_deployed_account_reports_no_change(emu, inputs):
    result = run_role(emu.endpoint_url, inputs, check=True, diff=True)
    assert result.rc == 0, result.tail()
    assert result.changed == 0, result.tail()


@pytest.mark.parametrize(
    ("data_dir", "mounted"), [("/mlflow/db", "/mlflow/db"), ("/tmp/mlflow", None)]
)
def test_the_task_storage_is_mounted_on_the_sqlite_data_directory(emu, inputs, data_dir, mounted):
    """storage_sqlite_data_dir (in the backend store URI the storage role publishes) is where the
    server must write under a read-only root file system: the task storage goes there, not to the
    image's /mlflow/data, where the server could not create the file. Under /tmp, the /tmp volume
    serves it. Check mode: the diff of the task definition, nothing registered."""
    uri = f"sqlite:///{data_dir}/mlflow.db"
    result = run_role(
        emu.endpoint_url,
        inputs,
        check=True,
        diff=True,
        ecs_managed_container_environment={"MLFLOW_BACKEND_STORE_URI": uri},
    )
    assert (result.rc, result.changed) == (0, 2), result.tail()
    text = " ".join(result.stdout.split())
    assert f'+ "value": "{uri}"' in text, result.tail()
    assert '- "containerPath": "/mlflow/data",' in text
    if mounted:
        assert f'+ "containerPath": "{mounted}",' in text
    else:
        assert '- "sourceVolume": "mlflow-scratch-data"' in text
        assert '"containerPath": "/tmp"' in text
    assert len(active_revisions(emu)) == 1


def test_memory_change_registers_a_revision_and_redeploys_the_service(emu, inputs):
    check = run_role(emu.endpoint_url, inputs, check=True, diff=True, ecs_task_memory=2048)
    assert check.rc == 0, check.tail()
    assert check.changed == 2  # task definition and service, nothing created
    assert len(active_revisions(emu)) == 1
    assert '+    "memory": "2048"' in check.stdout

    with RecordingProxy(emu.endpoint_url) as proxy:
        result = run_role(proxy.url, inputs, ecs_task_memory=2048)
    assert result.rc == 0, result.tail()
    assert result.changed == 2
    definition = latest_definition(emu)
    assert definition["revision"] == 2
    assert definition["memory"] == "2048"
    assert service(emu)["taskDefinition"].endswith(f"{FAMILY}:2")
    [update] = proxy.calls("ecs", "UpdateService")
    assert update["taskDefinition"] == f"{FAMILY}:2"
    assert "forceNewDeployment" not in update  # the new revision alone starts the deployment
    assert published_fact(result, "ecs_task_definition_arn") == definition["taskDefinitionArn"]

    again = run_role(emu.endpoint_url, inputs, ecs_task_memory=2048)
    assert (again.rc, again.changed) == (0, 0), again.tail()


def test_autoscaling_on_cpu_then_requests_then_off(emu, inputs):
    scaling = emu.client("application-autoscaling")
    resource_id = f"service/{CLUSTER}/{SERVICE}"
    cpu = {
        "enabled": True,
        "min_capacity": 1,
        "max_capacity": 3,
        "metric": "cpu",
        "target_value": 60,
    }
    check = run_role(
        emu.endpoint_url, inputs, check=True, ecs_task_memory=2048, ecs_autoscaling=cpu
    )
    assert (check.rc, check.changed) == (0, 1), check.tail()
    assert scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []

    result = run_role(emu.endpoint_url, inputs, ecs_task_memory=2048, ecs_autoscaling=cpu)
    assert (result.rc, result.changed) == (0, 1), result.tail()
    [target] = scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert target["ResourceId"] == resource_id
    assert target["ScalableDimension"] == "ecs:service:DesiredCount"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 3)
    [policy] = scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 60.0
    assert config["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
    }
    assert (config["ScaleInCooldown"], config["ScaleOutCooldown"]) == (300, 60)
    again = run_role(emu.endpoint_url, inputs, ecs_task_memory=2048, ecs_autoscaling=cpu)
    assert (again.rc, again.changed) == (0, 0), again.tail()

    requests = {**cpu, "metric": "requests", "target_value": 500}
    result = run_role(emu.endpoint_url, inputs, ecs_task_memory=2048, ecs_autoscaling=requests)
    assert (result.rc, result.changed) == (0, 1), result.tail()
    [policy] = scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    alb_part = inputs["ecs_load_balancer_arn"].split(":loadbalancer/")[1]
    tg_part = "targetgroup/" + inputs["ecs_target_group_arn"].split(":targetgroup/")[1]
    assert policy["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "ALBRequestCountPerTarget",
        "ResourceLabel": f"{alb_part}/{tg_part}",
    }

    off = run_role(emu.endpoint_url, inputs, ecs_task_memory=2048)
    assert (off.rc, off.changed) == (0, 1), off.tail()
    assert scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []
    assert scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"] == []


def test_two_tasks_are_refused_when_the_backend_allows_one_writer(emu, inputs):
    result = run_role(
        emu.endpoint_url,
        inputs,
        ecs_task_memory=2048,
        ecs_desired_count=2,
        ecs_single_task_only=True,
    )
    assert result.rc != 0
    assert "ecs_single_task_only is true" in result.stdout
    assert "SQLite allows one writer" in result.stdout
    assert service(emu)["desiredCount"] == 1
    assert len(active_revisions(emu)) == 2


def test_secret_looking_environment_is_refused_before_anything_changes(emu, inputs):
    result = run_role(
        emu.endpoint_url,
        inputs,
        ecs_task_memory=2048,
        ecs_container_environment={"WAREHOUSE_PASSWORD": "not-here", "MLFLOW_X": "1"},
    )
    assert result.rc != 0
    assert "WAREHOUSE_PASSWORD" in result.stdout and "ecs_container_secrets" in result.stdout
    assert len(active_revisions(emu)) == 2


def test_scale_out_to_two_tasks(emu, inputs):
    result = run_role(emu.endpoint_url, inputs, ecs_task_memory=2048, ecs_desired_count=2)
    assert (result.rc, result.changed) == (0, 1), result.tail()
    assert service(emu)["desiredCount"] == 2
    assert len(active_revisions(emu)) == 2  # scaling registers no revision


def test_arm64_storage_efs_secrets_and_extra_settings(emu, inputs):
    secret_arn = emu.client("secretsmanager").create_secret(
        Name=f"{ENV}/mlflow/db", SecretString="x" * 24
    )["ARN"]
    settings = dict(
        ecs_task_memory=2048,
        ecs_desired_count=2,
        ecs_cpu_architecture="ARM64",
        ecs_ephemeral_storage_gib=30,
        ecs_domain_name="mlflow.example.com",
        # What the storage role publishes for the task (the user's own variables may not set
        # these names).
        ecs_managed_container_environment={"MLFLOW_ARTIFACTS_DESTINATION": "s3://bucket/mlflow"},
        ecs_managed_container_secrets=[{"name": "MLFLOW_DB_PASSWORD", "valueFrom": secret_arn}],
        ecs_efs_volume={
            "file_system_id": "fs-0123456789abcdef0",
            "access_point_id": "fsap-0123456789abcdef0",
            "container_path": "/mlflow",
        },
    )
    result = run_role(emu.endpoint_url, inputs, **settings)
    assert (result.rc, result.changed) == (0, 2), result.tail()
    definition = latest_definition(emu)
    assert definition["revision"] == 3
    assert definition["runtimePlatform"]["cpuArchitecture"] == "ARM64"
    assert definition["ephemeralStorage"] == {"sizeInGiB": 30}
    [volume] = [v for v in definition["volumes"] if "efsVolumeConfiguration" in v]
    assert sorted(v["name"] for v in definition["volumes"]) == [volume["name"], "mlflow-tmp"]
    efs = dict(volume["efsVolumeConfiguration"])
    assert efs.pop("rootDirectory", "/") == "/"  # AWS (and moto) report the default root
    assert efs == {
        "fileSystemId": "fs-0123456789abcdef0",
        "transitEncryption": "ENABLED",
        "authorizationConfig": {"accessPointId": "fsap-0123456789abcdef0", "iam": "ENABLED"},
    }
    [container] = definition["containerDefinitions"]
    # EFS holds the data; /tmp stays task storage (the root filesystem is read-only).
    assert sorted(container["mountPoints"], key=lambda m: m["containerPath"]) == [
        {"sourceVolume": volume["name"], "containerPath": "/mlflow", "readOnly": False},
        {"sourceVolume": "mlflow-tmp", "containerPath": "/tmp", "readOnly": False},
    ]
    assert container["secrets"] == [{"name": "MLFLOW_DB_PASSWORD", "valueFrom": secret_arn}]
    environment = {e["name"]: e["value"] for e in container["environment"]}
    assert environment["MLFLOW_ALLOWED_HOSTS"] == (
        f"{inputs['ecs_load_balancer_dns_name']},mlflow.example.com"
    )
    assert environment["MLFLOW_ARTIFACTS_DESTINATION"] == "s3://bucket/mlflow"
    assert "MLFLOW_DB_PASSWORD" not in environment
    again = run_role(emu.endpoint_url, inputs, **settings)
    assert (again.rc, again.changed) == (0, 0), again.tail()


def test_a_service_that_never_stabilises_fails_naming_it_and_the_timeout(emu, inputs):
    # The emulator reports one running task for a new service: two never become stable.
    result = run_role(
        emu.endpoint_url,
        inputs,
        ecs_env="staging",
        ecs_log_group_name=LOG_GROUP,
        ecs_desired_count=2,
        ecs_wait_timeout=2,
    )
    assert result.rc != 0
    text = " ".join(result.stdout.split())
    assert "Gave up waiting for ECS service staging-mlflow-tracking to be stable after 2 s" in text
    assert "1 of 2 tasks running" in text
    assert "--cluster staging-mlflow-cluster --services staging-mlflow-tracking" in text
    cleanup = run_role(emu.endpoint_url, inputs, ecs_env="staging", ecs_state="absent")
    assert cleanup.rc == 0, cleanup.tail()


def test_absent_removes_everything_and_a_second_absent_changes_nothing(emu, inputs):
    check = run_role(emu.endpoint_url, inputs, check=True, ecs_state="absent")
    assert check.rc == 0, check.tail()
    assert check.changed == 3
    assert service(emu) is not None

    result = run_role(emu.endpoint_url, inputs, ecs_state="absent")
    assert result.rc == 0, result.tail()
    assert result.changed == 3  # service, task definitions, cluster (no autoscaling left)
    ecs = emu.client("ecs")
    assert service(emu) is None
    assert active_revisions(emu) == []
    clusters = ecs.describe_clusters(clusters=[CLUSTER])["clusters"]
    assert all(c["status"] == "INACTIVE" for c in clusters)
    # The service-linked role is account-wide and stays.
    roles = emu.client("iam").list_roles(PathPrefix="/aws-service-role/ecs.amazonaws.com/")
    assert len(roles["Roles"]) == 1

    again = run_role(emu.endpoint_url, inputs, ecs_state="absent")
    assert (again.rc, again.changed) == (0, 0), again.tail()


def test_absent_on_a_never_deployed_environment_changes_nothing(emu, inputs):
    result = run_role(emu.endpoint_url, inputs, ecs_env="dev", ecs_state="absent")
    assert (result.rc, result.changed) == (0, 0), result.tail()
