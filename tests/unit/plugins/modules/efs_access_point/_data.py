"""Shapes of the EFS answers the module reads (as boto3 returns them)."""

from __future__ import annotations

FS_ID = "fs-0123456789abcdef0"
NAME = "production-mlflow-data"


def access_point(ap_id="fsap-0123456789abcdef0", name=NAME, uid=10001, path="/mlflow", **extra):
    result = {
        "AccessPointId": ap_id,
        "AccessPointArn": f"arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/{ap_id}",
        "FileSystemId": FS_ID,
        "ClientToken": f"{FS_ID}-{name}",
        "Name": name,
        "Tags": [{"Key": "Name", "Value": name}],
        "PosixUser": {"Uid": uid, "Gid": 10001},
        "RootDirectory": {
            "Path": path,
            "CreationInfo": {"OwnerUid": 10001, "OwnerGid": 10001, "Permissions": "0750"},
        },
        "LifeCycleState": "available",
    }
    result.update(extra)
    return result


def params(**overrides):
    result = {
        "file_system_id": FS_ID,
        "name": NAME,
        "posix_user": {"uid": 10001, "gid": 10001, "secondary_gids": None},
        "root_directory": {
            "path": "/mlflow",
            "creation_info": {"owner_uid": 10001, "owner_gid": 10001, "permissions": "0750"},
        },
        "state": "present",
        "tags": None,
        "purge_tags": True,
        "wait_timeout": 120,
    }
    result.update(overrides)
    return result


def queue_list(stubber, access_points):
    stubber.add_response(
        "describe_access_points", {"AccessPoints": access_points}, {"FileSystemId": FS_ID}
    )
