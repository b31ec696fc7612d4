"""Persistent storage and scale-out (roles/storage) against the emulator, with the real playbooks.

Production (backend postgres): every property of the bucket, the database, its secret and the
permissions read back with boto3; several tasks allowed; SQLite refused; destroy keeps the data
and lists it; a second deploy reuses it; a data removal with a wrong confirmation refuses and
removes nothing, with the right one removes it (after a final snapshot).
Dev (backend efs): the file system, its mount targets and access point, the task's EFS volume;
two tasks refused before anything is created; destroy keeps the file system, deploy reuses it.

The emulator (tools/moto_server.py) answers as AWS does for gp3 databases (baseline throughput
and IOPS) and load balancer attributes, so the production settings are deployed unchanged.

Tests in each part run in order and share one emulator. A second deploy and a check run of the
production inventory report no change in tests/integration/test_deploy.py.
"""

from __future__ import annotations

import json

import pytest
import yaml
from botocore.exceptions import ClientError
from conftest import ROOT, run_playbook

pytestmark = pytest.mark.integration

PROD = "production"
DEV = "dev"
ACCOUNT = "123456789012"
MANAGED_BY = "mlops.mlflow_ecs"
# See the module docstring: the only settings the tests add to the inventories. No Docker
# engine builds the image here (the emulator's ECR has no registry either).
EMULATOR_VARS = {
    "image_build": False,
    "ecs_wait_timeout": 120,
}


OUTPUTS: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def outputs_dir(tmp_path_factory):
    """deploy.yml writes its outputs here, not to the checkout's outputs/ (shared by runs)."""
    OUTPUTS["dir"] = str(tmp_path_factory.mktemp("outputs"))


def run(playbook: str, env: str, emu, **extra):
    extra_vars = {
        **EMULATOR_VARS,
        "mlflow_outputs_file": f"{OUTPUTS['dir']}/{env}.json",
        **extra.pop("extra_vars", {}),
    }
    return run_playbook(playbook, inventory=env, emulator=emu, extra_vars=extra_vars, **extra)


def tagged_resources(emu, env: str) -> list[str]:
    api = emu.client("resourcegroupstaggingapi")
    arns = []
    for page in api.get_paginator("get_resources").paginate(
        TagFilters=[
            {"Key": "Environment", "Values": [env]},
            {"Key": "ManagedBy", "Values": [MANAGED_BY]},
        ]
    ):
        arns += [r["ResourceARN"] for r in page["ResourceTagMappingList"]]
    return arns


def security_groups(emu, env: str) -> dict[str, dict]:
    groups = emu.client("ec2").describe_security_groups(
        Filters=[{"Name": "tag:Environment", "Values": [env]}]
    )["SecurityGroups"]
    return {g["GroupName"]: g for g in groups}


def buckets(emu) -> list[str]:
    return [b["Name"] for b in emu.client("s3").list_buckets()["Buckets"]]


def db_instances(emu) -> list[dict]:
    return emu.client("rds").describe_db_instances()["DBInstances"]


def secrets(emu, env: str, include_deleted: bool = False) -> list[dict]:
    return [
        s
        for s in emu.client("secretsmanager").list_secrets(IncludePlannedDeletion=include_deleted)[
            "SecretList"
        ]
        if s["Name"].startswith(f"{env}-mlflow")
    ]


def file_systems(emu) -> list[dict]:
    return emu.client("efs").describe_file_systems()["FileSystems"]


def task_definition(emu, env: str) -> dict:
    return emu.client("ecs").describe_task_definition(taskDefinition=f"{env}-mlflow-tracking")[
        "taskDefinition"
    ]


def container(emu, env: str) -> dict:
    (spec,) = task_definition(emu, env)["containerDefinitions"]
    return spec


def inline_policy(emu, role: str, policy: str) -> dict:
    return emu.client("iam").get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def ingress_sources(group: dict) -> list[tuple]:
    """(protocol, from, to, source group ids, CIDRs) of every ingress rule."""
    return [
        (
            p["IpProtocol"],
            p.get("FromPort"),
            p.get("ToPort"),
            sorted(g["GroupId"] for g in p.get("UserIdGroupPairs", [])),
            sorted(r["CidrIp"] for r in p.get("IpRanges", []))
            + sorted(r["CidrIpv6"] for r in p.get("Ipv6Ranges", [])),
        )
        for p in group["IpPermissions"]
    ]


# ======================================================================== production: postgres


# With postgres the service runs two tasks (scale-out). moto reports MOTO_ECS_SERVICE_RUNNING
# tasks running for a new service, so that emulator says two.
PROD_VARS = {"ecs_desired_count": 2}


@pytest.fixture(scope="module")
def prod(emulator_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")
        return emulator_factory(PROD)


@pytest.fixture(scope="module")
def state():
    """What earlier tests of the module found, for the later ones."""
    return {}


BUCKET = f"{PROD}-mlflow-artifacts-{ACCOUNT}"


def test_sqlite_is_refused_in_production_before_anything_is_created(prod):
    result = run("deploy", PROD, prod, extra_vars={"storage_backend": "sqlite"})
    assert result.rc != 0
    assert "storage_backend=sqlite" in result.stdout
    assert "Nothing was created" in result.stdout
    assert tagged_resources(prod, PROD) == []
    assert buckets(prod) == []


def test_deploy_with_postgres_and_two_tasks(prod, state):
    result = run("deploy", PROD, prod, extra_vars=PROD_VARS, verbose=1)
    assert result.rc == 0, result.tail()
    state["deploy_output"] = result.stdout + result.stderr
    svc = prod.client("ecs").describe_services(
        cluster=f"{PROD}-mlflow-cluster", services=[f"{PROD}-mlflow-tracking"]
    )["services"][0]
    assert svc["desiredCount"] == 2


def test_bucket_is_encrypted_versioned_private_and_tls_only(prod):
    s3 = prod.client("s3")
    rules = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] in ("*", {"AWS": "*"})
    assert as_list(statement["Action"]) == ["s3:*"]
    assert sorted(as_list(statement["Resource"])) == [
        f"arn:aws:s3:::{BUCKET}",
        f"arn:aws:s3:::{BUCKET}/*",
    ]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"]}
    assert tags["Environment"] == PROD and tags["ManagedBy"] == MANAGED_BY


def test_bucket_refuses_requests_without_tls(prod):
    # moto enforces the policy, and its endpoint is plain HTTP: a write is refused.
    with pytest.raises(ClientError) as refused:
        prod.client("s3").put_object(Bucket=BUCKET, Key="artifacts/probe.txt", Body=b"x")
    assert refused.value.response["Error"]["Code"] in ("AccessDenied", "403")


def test_bucket_lifecycle_expires_noncurrent_versions(prod):
    (rule,) = prod.client("s3").get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7


def test_database_is_encrypted_private_backed_up_postgres_16(prod, state):
    (db,) = db_instances(prod)
    assert db["DBInstanceIdentifier"] == f"{PROD}-mlflow-db"
    assert db["Engine"] == "postgres"
    assert db["EngineVersion"].split(".")[0] == "16"
    assert db["DBInstanceClass"] == "db.t4g.micro"
    assert db["StorageEncrypted"] is True
    assert db["PubliclyAccessible"] is False
    assert db["BackupRetentionPeriod"] == 7
    assert db["MultiAZ"] is False
    assert db["DeletionProtection"] is True
    assert db["DBName"] == "mlflow"
    assert db["MasterUsername"] == "mlflow"
    subnets = sorted(s["SubnetIdentifier"] for s in db["DBSubnetGroup"]["Subnets"])
    stack = prod.main_stack
    assert subnets == sorted([stack["PublicSubnet1Id"], stack["PublicSubnet2Id"]])
    state["db"] = db


def test_database_security_group_admits_only_the_task_security_group(prod, state):
    groups = security_groups(prod, PROD)
    db_sg, task_sg = groups[f"{PROD}-mlflow-db-sg"], groups[f"{PROD}-mlflow-ecs-task-sg"]
    assert [g["VpcSecurityGroupId"] for g in state["db"]["VpcSecurityGroups"]] == [db_sg["GroupId"]]
    assert ingress_sources(db_sg) == [("tcp", 5432, 5432, [task_sg["GroupId"]], [])]
    assert db_sg["VpcId"] == prod.main_stack["VPCId"]


def test_database_password_lives_in_secrets_manager_only(prod, state):
    (secret,) = secrets(prod, PROD)
    assert secret["Name"] == f"{PROD}-mlflow-db-credentials"
    value = json.loads(
        prod.client("secretsmanager").get_secret_value(SecretId=secret["ARN"])["SecretString"]
    )
    assert value["username"] == "mlflow"
    assert len(value["password"]) >= 32
    state["secret_arn"], state["password"] = secret["ARN"], value["password"]

    spec = container(prod, PROD)
    # The security role adds the authentication secrets (tests/integration/test_security.py).
    assert [s for s in spec["secrets"] if s["name"] == "MLFLOW_DB_PASSWORD"] == [
        {"name": "MLFLOW_DB_PASSWORD", "valueFrom": f"{secret['ARN']}:password::"}
    ]
    env = {e["name"]: e["value"] for e in spec["environment"]}
    assert "MLFLOW_DB_PASSWORD" not in env
    assert env["MLFLOW_DB_HOST"] == state["db"]["Endpoint"]["Address"]
    assert (env["MLFLOW_DB_PORT"], env["MLFLOW_DB_NAME"], env["MLFLOW_DB_USERNAME"]) == (
        "5432",
        "mlflow",
        "mlflow",
    )
    assert env["MLFLOW_DB_SSLMODE"] == "require"
    assert env["MLFLOW_ARTIFACTS_DESTINATION"] == f"s3://{BUCKET}/artifacts"
    assert "MLFLOW_BACKEND_STORE_URI" not in env
    # Neither the task definition nor the deploy's output (run with -v) holds the password.
    assert value["password"] not in json.dumps(task_definition(prod, PROD), default=str)
    assert value["password"] not in state["deploy_output"]


def test_task_role_may_use_only_the_bucket_prefix(prod):
    doc = inline_policy(prod, f"{PROD}-mlflow-ecs-task-role", f"{PROD}-mlflow-storage-access")
    resources = sorted({r for s in doc["Statement"] for r in as_list(s["Resource"])})
    assert resources == [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/artifacts/*"]
    by_resource = {tuple(as_list(s["Resource"])): s for s in doc["Statement"]}
    listing = by_resource[(f"arn:aws:s3:::{BUCKET}",)]
    assert as_list(listing["Action"]) == ["s3:ListBucket"]
    assert sorted(listing["Condition"]["StringLike"]["s3:prefix"]) == ["artifacts", "artifacts/*"]
    objects = by_resource[(f"arn:aws:s3:::{BUCKET}/artifacts/*",)]
    assert sorted(as_list(objects["Action"])) == [
        "s3:AbortMultipartUpload",
        "s3:DeleteObject",
        "s3:GetObject",
        "s3:PutObject",
    ]
    assert all(s["Effect"] == "Allow" for s in doc["Statement"])


def test_execution_role_may_read_only_the_database_secret(prod, state):
    doc = inline_policy(prod, f"{PROD}-mlflow-ecs-execution-role", f"{PROD}-mlflow-storage-secrets")
    (statement,) = doc["Statement"]
    assert as_list(statement["Action"]) == ["secretsmanager:GetSecretValue"]
    assert as_list(statement["Resource"]) == [state["secret_arn"]]


def test_large_artifact_settings(prod):
    elbv2 = prod.client("elbv2")
    lb = elbv2.describe_load_balancers(Names=[f"{PROD}-mlflow-alb"])["LoadBalancers"][0]
    attributes = {
        a["Key"]: a["Value"]
        for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])[
            "Attributes"
        ]
    }
    assert attributes["idle_timeout.timeout_seconds"] == "600"
    inventory_file = ROOT / "inventories/production/group_vars/all/main.yml"
    inventory = yaml.safe_load(inventory_file.read_text())
    assert inventory["load_balancer_idle_timeout"] == 600
    env = {e["name"]: e["value"] for e in container(prod, PROD)["environment"]}
    assert int(env["MLFLOW_KEEP_ALIVE_TIMEOUT"]) > 600
    assert task_definition(prod, PROD)["ephemeralStorage"]["sizeInGiB"] >= 30


def test_destroy_keeps_the_data_and_lists_it(prod, state):
    result = run("destroy", PROD, prod)
    assert result.rc == 0, result.tail()
    for kept in (
        f"S3 bucket {BUCKET}",
        f"RDS instance {PROD}-mlflow-db",
        f"Secrets Manager secret {PROD}-mlflow-db-credentials",
        f"{PROD}-mlflow-db-sg",
    ):
        assert kept in result.stdout, result.tail()
    assert BUCKET in buckets(prod)
    assert [db["DBInstanceIdentifier"] for db in db_instances(prod)] == [f"{PROD}-mlflow-db"]
    assert [s["ARN"] for s in secrets(prod, PROD)] == [state["secret_arn"]]
    groups = security_groups(prod, PROD)
    # The service's groups are gone; the kept database group lost its rule to the task group.
    assert sorted(groups) == [f"{PROD}-mlflow-db-sg"]
    assert groups[f"{PROD}-mlflow-db-sg"]["IpPermissions"] == []
    iam_roles = [r["RoleName"] for r in prod.client("iam").list_roles()["Roles"]]
    assert not [r for r in iam_roles if r.startswith(f"{PROD}-mlflow")]


def test_deploy_after_destroy_reuses_the_kept_data(prod, state):
    result = run("deploy", PROD, prod, extra_vars=PROD_VARS)
    assert result.rc == 0, result.tail()
    (db,) = db_instances(prod)
    assert db["DbiResourceId"] == state["db"]["DbiResourceId"]
    assert db["InstanceCreateTime"] == state["db"]["InstanceCreateTime"]
    assert [s["ARN"] for s in secrets(prod, PROD)] == [state["secret_arn"]]
    value = json.loads(
        prod.client("secretsmanager").get_secret_value(SecretId=state["secret_arn"])["SecretString"]
    )
    assert value["password"] == state["password"], "the kept database's password changed"
    assert buckets(prod).count(BUCKET) == 1
    assert container(prod, PROD)["secrets"][0]["valueFrom"].startswith(state["secret_arn"])
    groups = security_groups(prod, PROD)
    assert ingress_sources(groups[f"{PROD}-mlflow-db-sg"]) == [
        ("tcp", 5432, 5432, [groups[f"{PROD}-mlflow-ecs-task-sg"]["GroupId"]], [])
    ]


def test_data_removal_with_a_wrong_confirmation_removes_nothing(prod):
    before = sorted(tagged_resources(prod, PROD))
    result = run(
        "destroy",
        PROD,
        prod,
        extra_vars={"storage_remove_data": True, "storage_remove_data_confirm": "prod"},
    )
    assert result.rc != 0
    assert "storage_remove_data_confirm=production" in result.stdout
    assert "Nothing was removed" in result.stdout
    assert sorted(tagged_resources(prod, PROD)) == before
    assert (
        prod.client("ecs").describe_services(
            cluster=f"{PROD}-mlflow-cluster", services=[f"{PROD}-mlflow-tracking"]
        )["services"][0]["status"]
        == "ACTIVE"
    )


def test_data_removal_with_the_right_confirmation_removes_it_after_a_final_snapshot(prod):
    result = run(
        "destroy",
        PROD,
        prod,
        extra_vars={"storage_remove_data": True, "storage_remove_data_confirm": PROD},
    )
    assert result.rc == 0, result.tail()
    assert BUCKET not in buckets(prod)
    assert db_instances(prod) == []
    snapshots = prod.client("rds").describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    assert [s["DBInstanceIdentifier"] for s in snapshots] == [f"{PROD}-mlflow-db"]
    (snapshot,) = snapshots
    assert snapshot["DBSnapshotIdentifier"].startswith(f"{PROD}-mlflow-db-final-")
    assert f"Final database snapshot: {snapshot['DBSnapshotIdentifier']}" in result.stdout
    assert secrets(prod, PROD) == []  # scheduled for deletion (recovery window)
    assert [s.get("DeletedDate") is not None for s in secrets(prod, PROD, True)] == [True]
    assert security_groups(prod, PROD) == {}
    assert prod.client("rds").describe_db_subnet_groups()["DBSubnetGroups"] == []
    storage_kinds = (":s3:::", ":rds:", ":elasticfilesystem:", ":security-group/")
    left = [arn for arn in tagged_resources(prod, PROD) if any(k in arn for k in storage_kinds)]
    # Only the final snapshot is kept, on purpose.
    assert [arn for arn in left if ":snapshot:" not in arn] == [], left


# ======================================================================== dev: efs


@pytest.fixture(scope="module")
def dev(emulator_factory):
    return emulator_factory(DEV)


def test_efs_refuses_two_tasks_before_anything_is_created(dev):
    result = run("deploy", DEV, dev, extra_vars={"ecs_desired_count": 2})
    assert result.rc != 0
    assert "storage_backend=efs" in result.stdout and "Nothing was created" in result.stdout
    assert tagged_resources(dev, DEV) == []
    assert buckets(dev) == [] and file_systems(dev) == []


def test_deploy_with_efs(dev, state):
    result = run("deploy", DEV, dev)
    assert result.rc == 0, result.tail()
    (fs,) = file_systems(dev)
    state["fs"] = fs
    assert fs["CreationToken"] == f"{DEV}-mlflow-data"
    assert fs["Encrypted"] is True
    tags = {t["Key"]: t["Value"] for t in fs["Tags"]}
    assert tags["Environment"] == DEV and tags["Name"] == f"{DEV}-mlflow-data"


def test_efs_mount_targets_in_both_subnets_behind_their_group(dev, state):
    efs = dev.client("efs")
    targets = efs.describe_mount_targets(FileSystemId=state["fs"]["FileSystemId"])["MountTargets"]
    assert sorted(t["SubnetId"] for t in targets) == sorted(
        [dev.main_stack["PublicSubnet1Id"], dev.main_stack["PublicSubnet2Id"]]
    )
    groups = security_groups(dev, DEV)
    efs_sg, task_sg = groups[f"{DEV}-mlflow-efs-sg"], groups[f"{DEV}-mlflow-ecs-task-sg"]
    for target in targets:
        assert efs.describe_mount_target_security_groups(MountTargetId=target["MountTargetId"])[
            "SecurityGroups"
        ] == [efs_sg["GroupId"]]
    assert ingress_sources(efs_sg) == [("tcp", 2049, 2049, [task_sg["GroupId"]], [])]


def test_efs_access_point_is_the_image_user_in_its_directory(dev, state):
    (ap,) = dev.client("efs").describe_access_points(FileSystemId=state["fs"]["FileSystemId"])[
        "AccessPoints"
    ]
    state["ap"] = ap
    assert ap["PosixUser"]["Uid"] == 10001 and ap["PosixUser"]["Gid"] == 10001
    assert ap["RootDirectory"]["Path"] == "/mlflow"
    assert ap["RootDirectory"]["CreationInfo"] == {
        "OwnerUid": 10001,
        "OwnerGid": 10001,
        "Permissions": "0750",
    }


def test_task_definition_mounts_the_file_system(dev, state):
    td = task_definition(dev, DEV)
    # The EFS volume, beside the task-storage volume for /tmp (read-only root file system).
    (volume,) = [v for v in td["volumes"] if "efsVolumeConfiguration" in v]
    assert [v["name"] for v in td["volumes"] if v is not volume] == ["mlflow-tmp"]
    config = volume["efsVolumeConfiguration"]
    assert config["fileSystemId"] == state["fs"]["FileSystemId"]
    assert config["transitEncryption"] == "ENABLED"
    assert config["authorizationConfig"]["accessPointId"] == state["ap"]["AccessPointId"]
    (spec,) = td["containerDefinitions"]
    mounts = {m["containerPath"]: m["sourceVolume"] for m in spec["mountPoints"]}
    assert mounts == {"/mlflow/data": volume["name"], "/tmp": "mlflow-tmp"}
    env = {e["name"]: e["value"] for e in spec["environment"]}
    assert env["MLFLOW_BACKEND_STORE_URI"] == "sqlite:////mlflow/data/mlflow.db"
    assert env["MLFLOW_ARTIFACTS_DESTINATION"] == f"s3://{DEV}-mlflow-artifacts-{ACCOUNT}/artifacts"
    assert "MLFLOW_DB_PASSWORD" not in [s["name"] for s in spec.get("secrets", [])]
    doc = inline_policy(dev, f"{DEV}-mlflow-ecs-task-role", f"{DEV}-mlflow-storage-access")
    (efs_statement,) = [s for s in doc["Statement"] if "elasticfilesystem" in str(s["Action"])]
    assert as_list(efs_statement["Resource"]) == [state["fs"]["FileSystemArn"]]
    assert efs_statement["Condition"] == {
        "StringEquals": {"elasticfilesystem:AccessPointArn": state["ap"]["AccessPointArn"]}
    }


def test_second_efs_deploy_reports_no_change(dev):
    result = run("deploy", DEV, dev)
    assert result.rc == 0, result.tail()
    assert result.changed == 0, result.tail(8000)


def test_destroy_keeps_the_file_system_and_deploy_reuses_it(dev, state):
    result = run("destroy", DEV, dev)
    assert result.rc == 0, result.tail()
    assert f"EFS file system {state['fs']['FileSystemId']}" in result.stdout
    assert [fs["FileSystemId"] for fs in file_systems(dev)] == [state["fs"]["FileSystemId"]]
    assert security_groups(dev, DEV)[f"{DEV}-mlflow-efs-sg"]["IpPermissions"] == []

    result = run("deploy", DEV, dev)
    assert result.rc == 0, result.tail()
    assert [fs["FileSystemId"] for fs in file_systems(dev)] == [state["fs"]["FileSystemId"]]
    (ap,) = dev.client("efs").describe_access_points(FileSystemId=state["fs"]["FileSystemId"])[
        "AccessPoints"
    ]
    assert ap["AccessPointId"] == state["ap"]["AccessPointId"]
    assert (
        len(
            dev.client("efs").describe_mount_targets(FileSystemId=state["fs"]["FileSystemId"])[
                "MountTargets"
            ]
        )
        == 2
    )
