"""mlops.mlflow_ecs.efs_file_system, efs_file_system_info and efs_access_point against the
emulator (no mocks): check mode and assert, real run and assert, again to prove idempotence,
then deletion the same way. Resources are read back with boto3.
"""

from __future__ import annotations

import pytest
from ansible_module import run_module

pytestmark = pytest.mark.integration

NAME = "modules-mlflow-data"
TAGS = {"Environment": "modules"}


def call(emulator, tmp_path, module, check=False, **args):
    result = run_module(emulator, tmp_path, module, args, check=check)
    assert not result.get("failed"), result
    return result


@pytest.fixture(scope="module")
def network(emulator):
    """Two subnets of the main stack and a security group for the mount targets."""
    ec2 = emulator.client("ec2")
    stack = emulator.main_stack
    group = ec2.create_security_group(
        GroupName="modules-efs-sg", Description="test", VpcId=stack["VPCId"]
    )["GroupId"]
    return {"subnets": [stack["PublicSubnet1Id"], stack["PublicSubnet2Id"]], "group": group}


def file_system_args(network, **extra):
    return {
        "name": NAME,
        "mount_targets": [
            {"subnet_id": subnet, "security_groups": [network["group"]]}
            for subnet in network["subnets"]
        ],
        "tags": TAGS,
        **extra,
    }


def live_file_systems(emulator):
    return [
        fs
        for fs in emulator.client("efs").describe_file_systems()["FileSystems"]
        if fs["CreationToken"] == NAME
    ]


def test_file_system_and_access_point_lifecycle(emulator, network, tmp_path):
    efs = emulator.client("efs")

    # ------------------------------------------------------------ file system
    result = call(emulator, tmp_path, "efs_file_system", check=True, **file_system_args(network))
    assert result["changed"] is True and result["file_system"] == {}
    assert live_file_systems(emulator) == []
    assert call(emulator, tmp_path, "efs_file_system_info", name=NAME)["file_system"] == {}

    result = call(emulator, tmp_path, "efs_file_system", **file_system_args(network))
    assert result["changed"] is True
    (fs,) = live_file_systems(emulator)
    assert fs["Encrypted"] is True and fs["PerformanceMode"] == "generalPurpose"
    assert {t["Key"]: t["Value"] for t in fs["Tags"]} == {**TAGS, "Name": NAME}
    targets = efs.describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"]
    assert sorted(t["SubnetId"] for t in targets) == sorted(network["subnets"])
    for target in targets:
        groups = efs.describe_mount_target_security_groups(MountTargetId=target["MountTargetId"])
        assert groups["SecurityGroups"] == [network["group"]]
    returned = result["file_system"]
    assert returned["file_system_id"] == fs["FileSystemId"]
    assert sorted(t["subnet_id"] for t in returned["mount_targets"]) == sorted(network["subnets"])

    again = call(emulator, tmp_path, "efs_file_system", **file_system_args(network))
    assert again["changed"] is False
    assert again["file_system"]["file_system_id"] == fs["FileSystemId"]
    again = call(emulator, tmp_path, "efs_file_system", check=True, **file_system_args(network))
    assert again["changed"] is False
    info = call(emulator, tmp_path, "efs_file_system_info", name=NAME)
    assert info["changed"] is False
    assert info["file_system"]["file_system_id"] == fs["FileSystemId"]

    # A setting AWS fixes at creation is refused, not silently ignored.
    refused = run_module(
        emulator, tmp_path, "efs_file_system", file_system_args(network, encrypted=False)
    )
    assert refused.get("failed") and "cannot change" in refused["msg"]

    # ------------------------------------------------------------ access point
    ap_args = {
        "file_system_id": fs["FileSystemId"],
        "name": NAME,
        "posix_user": {"uid": 10001, "gid": 10001},
        "root_directory": {
            "path": "/mlflow",
            "creation_info": {"owner_uid": 10001, "owner_gid": 10001, "permissions": "0750"},
        },
        "tags": TAGS,
    }
    result = call(emulator, tmp_path, "efs_access_point", check=True, **ap_args)
    assert result["changed"] is True
    assert efs.describe_access_points(FileSystemId=fs["FileSystemId"])["AccessPoints"] == []

    result = call(emulator, tmp_path, "efs_access_point", **ap_args)
    assert result["changed"] is True
    (ap,) = efs.describe_access_points(FileSystemId=fs["FileSystemId"])["AccessPoints"]
    assert ap["PosixUser"] == {"Uid": 10001, "Gid": 10001}
    assert ap["RootDirectory"]["Path"] == "/mlflow"
    assert result["access_point"]["access_point_id"] == ap["AccessPointId"]

    assert call(emulator, tmp_path, "efs_access_point", **ap_args)["changed"] is False
    assert call(emulator, tmp_path, "efs_access_point", check=True, **ap_args)["changed"] is False
    assert len(efs.describe_access_points(FileSystemId=fs["FileSystemId"])["AccessPoints"]) == 1

    # ------------------------------------------------------------ deletion
    gone = {"file_system_id": fs["FileSystemId"], "name": NAME, "state": "absent"}
    assert call(emulator, tmp_path, "efs_access_point", check=True, **gone)["changed"] is True
    assert call(emulator, tmp_path, "efs_access_point", **gone)["changed"] is True
    assert efs.describe_access_points(FileSystemId=fs["FileSystemId"])["AccessPoints"] == []
    assert call(emulator, tmp_path, "efs_access_point", **gone)["changed"] is False

    result = call(emulator, tmp_path, "efs_file_system", check=True, name=NAME, state="absent")
    assert result["changed"] is True and len(live_file_systems(emulator)) == 1
    assert call(emulator, tmp_path, "efs_file_system", name=NAME, state="absent")["changed"]
    assert live_file_systems(emulator) == []
    assert not call(emulator, tmp_path, "efs_file_system", name=NAME, state="absent")["changed"]
