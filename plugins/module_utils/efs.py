# -*- coding: utf-8 -*-

# Copyright: Contributors to the mlops.mlflow_ecs collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Amazon EFS file systems and mount targets, shared by efs_file_system and efs_file_system_info.

Uses the current EFS API only (tags through DescribeFileSystems, TagResource and UntagResource,
not the deprecated DescribeTags/CreateTags that community.aws.efs still calls).
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    boto3_tag_list_to_ansible_dict,
)

GONE_STATES = ("deleting", "deleted")


@AWSRetry.jittered_backoff()
def list_file_systems(client, creation_token=None, file_system_id=None):
    """File systems with this creation token (or id); an empty list when there is none."""
    params = {}
    if creation_token:
        params["CreationToken"] = creation_token
    if file_system_id:
        params["FileSystemId"] = file_system_id
    paginator = client.get_paginator("describe_file_systems")
    try:
        return paginator.paginate(**params).build_full_result()["FileSystems"]
    except is_boto3_error_code("FileSystemNotFound"):
        return []


def find_file_system(client, creation_token):
    """The live file system with this creation token, or None."""
    found = [
        fs
        for fs in list_file_systems(client, creation_token=creation_token)
        if fs.get("LifeCycleState") not in GONE_STATES
    ]
    return found[0] if found else None


@AWSRetry.jittered_backoff()
def list_mount_targets(client, file_system_id):
    paginator = client.get_paginator("describe_mount_targets")
    try:
        return paginator.paginate(FileSystemId=file_system_id).build_full_result()["MountTargets"]
    except is_boto3_error_code("FileSystemNotFound"):
        return []


@AWSRetry.jittered_backoff()
def mount_target_security_groups(client, mount_target_id):
    return client.describe_mount_target_security_groups(MountTargetId=mount_target_id)[
        "SecurityGroups"
    ]


def describe_mount_targets(client, file_system_id):
    """Mount targets of the file system, each with its SecurityGroups."""
    targets = []
    for target in list_mount_targets(client, file_system_id):
        if target.get("LifeCycleState") in GONE_STATES:
            continue
        target = dict(target)
        target["SecurityGroups"] = mount_target_security_groups(client, target["MountTargetId"])
        targets.append(target)
    return targets


def mount_target_to_result(target):
    return {
        "mount_target_id": target["MountTargetId"],
        "subnet_id": target.get("SubnetId", ""),
        "availability_zone_name": target.get("AvailabilityZoneName", ""),
        "ip_address": target.get("IpAddress", ""),
        "network_interface_id": target.get("NetworkInterfaceId", ""),
        "security_groups": sorted(target.get("SecurityGroups") or []),
        "life_cycle_state": target.get("LifeCycleState", ""),
    }


PERFORMANCE_MODES = {"general_purpose": "generalPurpose", "max_io": "maxIO"}


def file_system_to_result(file_system, mount_targets=None):
    if not file_system:
        return {}
    modes = {v: k for k, v in PERFORMANCE_MODES.items()}
    tags = boto3_tag_list_to_ansible_dict(file_system.get("Tags") or [])
    return {
        "file_system_id": file_system["FileSystemId"],
        "file_system_arn": file_system.get("FileSystemArn", ""),
        "creation_token": file_system.get("CreationToken", ""),
        "name": file_system.get("Name") or tags.get("Name", ""),
        "encrypted": bool(file_system.get("Encrypted")),
        "kms_key_id": file_system.get("KmsKeyId", ""),
        "performance_mode": modes.get(
            file_system.get("PerformanceMode"), file_system.get("PerformanceMode", "")
        ),
        "throughput_mode": file_system.get("ThroughputMode", ""),
        "provisioned_throughput_in_mibps": file_system.get("ProvisionedThroughputInMibps"),
        "life_cycle_state": file_system.get("LifeCycleState", ""),
        "tags": tags,
        "mount_targets": [mount_target_to_result(t) for t in mount_targets or []],
    }
