"""Shapes of the EFS answers the module reads (as boto3 returns them)."""

from __future__ import annotations

FS_ID = "fs-0123456789abcdef0"
NAME = "production-mlflow-data"
SUBNETS = ["subnet-0000000000000000a", "subnet-0000000000000000b"]
SG = "sg-0123456789abcdef0"


def file_system(**extra):
    result = {
        "OwnerId": "123456789012",
        "CreationToken": NAME,
        "FileSystemId": FS_ID,
        "FileSystemArn": f"arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/{FS_ID}",
        "CreationTime": "2026-01-01T00:00:00Z",
        "LifeCycleState": "available",
        "Name": NAME,
        "NumberOfMountTargets": 0,
        "SizeInBytes": {"Value": 6144},
        "PerformanceMode": "generalPurpose",
        "Encrypted": True,
        "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/0000",
        "ThroughputMode": "bursting",
        "Tags": [{"Key": "Name", "Value": NAME}],
    }
    result.update(extra)
    return result


def mount_target(subnet, index=0, state="available"):
    return {
        "MountTargetId": f"fsmt-00000000{index}",
        "FileSystemId": FS_ID,
        "SubnetId": subnet,
        "LifeCycleState": state,
        "IpAddress": f"10.0.{index}.10",
        "NetworkInterfaceId": f"eni-00000000{index}",
        "AvailabilityZoneName": f"us-east-1{'ab'[index]}",
    }


def params(**overrides):
    result = {
        "name": NAME,
        "state": "present",
        "encrypted": True,
        "kms_key_id": None,
        "performance_mode": "general_purpose",
        "throughput_mode": "bursting",
        "provisioned_throughput_in_mibps": None,
        "mount_targets": [{"subnet_id": s, "security_groups": [SG]} for s in SUBNETS],
        "tags": None,
        "purge_tags": True,
        "wait": True,
        "wait_timeout": 60,
    }
    result.update(overrides)
    return result


def queue_file_systems(stubber, file_systems, **request):
    stubber.add_response(
        "describe_file_systems", {"FileSystems": file_systems}, request or {"CreationToken": NAME}
    )


def queue_mount_targets(stubber, targets, security_groups=(SG,)):
    stubber.add_response(
        "describe_mount_targets", {"MountTargets": targets}, {"FileSystemId": FS_ID}
    )
    for target in targets:
        stubber.add_response(
            "describe_mount_target_security_groups",
            {"SecurityGroups": list(security_groups)},
            {"MountTargetId": target["MountTargetId"]},
        )
