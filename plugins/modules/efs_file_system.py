#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the mlops.mlflow_ecs collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: efs_file_system
version_added: 0.1.0
short_description: Ensure an Amazon EFS file system with its mount targets, or delete it
description:
  - Creates an Amazon EFS file system identified by a creation token (O(name)), with its tags
    and one mount target per subnet, each with its security groups; brings an existing one to
    the same state; or deletes it, mount targets first.
  - Encryption, the KMS key and the performance mode are fixed when AWS creates the file system.
    When an existing file system differs, the module fails and says so rather than leave it as
    it is silently.
  - Unlike M(community.aws.efs), it supports check mode and uses the current tagging API
    (C(TagResource), not the deprecated C(CreateTags)/C(DescribeTags)).
options:
  name:
    description:
      - Creation token of the file system; also its C(Name) tag.
    type: str
    required: true
  state:
    description:
      - Whether the file system should exist. V(absent) deletes its mount targets, then the file
        system and everything stored on it.
    type: str
    choices: [present, absent]
    default: present
  encrypted:
    description:
      - Encrypt the data at rest. Set at creation only.
    type: bool
    default: true
  kms_key_id:
    description:
      - KMS key (id, ARN or alias) that encrypts the file system; without it, the AWS managed key
        C(aws/elasticfilesystem). Set at creation only.
    type: str
  performance_mode:
    description:
      - Performance mode. Set at creation only.
    type: str
    choices: [general_purpose, max_io]
    default: general_purpose
  throughput_mode:
    description:
      - Throughput mode. Without it, an existing file system keeps its mode and a new one gets
        the AWS default (V(bursting)).
    type: str
    choices: [bursting, elastic, provisioned]
  provisioned_throughput_in_mibps:
    description:
      - Throughput in MiB/s when O(throughput_mode=provisioned).
    type: float
  mount_targets:
    description:
      - One mount target per subnet. Mount targets in other subnets are deleted.
      - Without it, the mount targets are left as they are.
    type: list
    elements: dict
    suboptions:
      subnet_id:
        description: Subnet of the mount target (one per Availability Zone).
        type: str
        required: true
      security_groups:
        description: Security groups of the mount target's network interface (up to 5).
        type: list
        elements: str
        required: true
  wait:
    description:
      - Wait until the file system and its mount targets are available (or deleted).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for each of those steps.
    type: int
    default: 600
notes:
  - Supports check mode; it reports the change it would make and makes none.
  - Needs C(elasticfilesystem:CreateFileSystem), C(DescribeFileSystems), C(UpdateFileSystem),
    C(DeleteFileSystem), C(CreateMountTarget), C(DescribeMountTargets), C(DeleteMountTarget),
    C(DescribeMountTargetSecurityGroups), C(ModifyMountTargetSecurityGroups), C(TagResource),
    C(UntagResource) (all C(elasticfilesystem:)) and C(ec2:CreateNetworkInterface) and friends
    for the mount targets.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
author:
  - MLOps platform team (!UNKNOWN)
"""

EXAMPLES = r"""
# Note: These examples do not set authentication details, see the AWS Guide for details.

- name: Ensure the encrypted MLflow data file system with a mount target in each subnet
  mlops.mlflow_ecs.efs_file_system:
    name: production-mlflow-data
    encrypted: true
    throughput_mode: bursting
    mount_targets:
      - subnet_id: subnet-0123456789abcdef0
        security_groups: [sg-0123456789abcdef0]
      - subnet_id: subnet-0fedcba9876543210
        security_groups: [sg-0123456789abcdef0]
    tags:
      Environment: production
  register: data_fs

- name: Delete it with everything stored on it
  mlops.mlflow_ecs.efs_file_system:
    name: production-mlflow-data
    state: absent
"""

RETURN = r"""
file_system:
  description:
    - The file system with its mount targets.
    - Empty when it does not exist, after O(state=absent), or in check mode when it would be
      created.
  returned: always
  type: dict
  contains:
    file_system_id:
      description: Id of the file system.
      type: str
      returned: when the file system exists
      sample: fs-0123456789abcdef0
    file_system_arn:
      description: ARN of the file system.
      type: str
      returned: when the file system exists
      sample: arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123456789abcdef0
    creation_token:
      description: Its creation token (O(name)).
      type: str
      returned: when the file system exists
      sample: production-mlflow-data
    name:
      description: Its C(Name) tag.
      type: str
      returned: when the file system exists
      sample: production-mlflow-data
    encrypted:
      description: Whether the data is encrypted at rest.
      type: bool
      returned: when the file system exists
      sample: true
    kms_key_id:
      description: ARN of the KMS key that encrypts it.
      type: str
      returned: when the file system exists
      sample: arn:aws:kms:us-east-1:123456789012:key/0000
    performance_mode:
      description: Its performance mode.
      type: str
      returned: when the file system exists
      sample: general_purpose
    throughput_mode:
      description: Its throughput mode.
      type: str
      returned: when the file system exists
      sample: bursting
    provisioned_throughput_in_mibps:
      description: Its provisioned throughput, when provisioned.
      type: float
      returned: when the file system exists
      sample: null
    life_cycle_state:
      description: Its state, V(available) when it can be used.
      type: str
      returned: when the file system exists
      sample: available
    tags:
      description: Its tags.
      type: dict
      returned: when the file system exists
      sample: {"Name": "production-mlflow-data", "Environment": "production"}
    mount_targets:
      description: Its mount targets.
      type: list
      elements: dict
      returned: when the file system exists
      contains:
        mount_target_id:
          description: Id of the mount target.
          type: str
          sample: fsmt-0123456789abcdef0
        subnet_id:
          description: Its subnet.
          type: str
          sample: subnet-0123456789abcdef0
        availability_zone_name:
          description: Its Availability Zone.
          type: str
          sample: us-east-1a
        ip_address:
          description: Its IP address.
          type: str
          sample: 10.0.1.25
        network_interface_id:
          description: Its network interface.
          type: str
          sample: eni-0123456789abcdef0
        security_groups:
          description: Security groups of its network interface, sorted.
          type: list
          elements: str
          sample: [sg-0123456789abcdef0]
        life_cycle_state:
          description: Its state.
          type: str
          sample: available
"""

import time

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)
from ansible_collections.mlops.mlflow_ecs.plugins.module_utils.efs import (
    PERFORMANCE_MODES,
    describe_mount_targets,
    file_system_to_result,
    find_file_system,
    list_file_systems,
    list_mount_targets,
)
from ansible_collections.mlops.mlflow_ecs.plugins.module_utils.modules import (
    MlflowEcsAWSModule,
    run_state_module,
)


class FileSystemError(Exception):
    """The file system cannot be brought to the requested state; the message says why."""


def validate_params(params):
    """Check the options before any AWS call."""
    if not (params.get("name") or "").strip() or len(params["name"]) > 64:
        raise FileSystemError("name (the creation token) must be 1 to 64 characters")
    targets = params.get("mount_targets") or []
    subnets = [t["subnet_id"] for t in targets]
    if len(set(subnets)) != len(subnets):
        raise FileSystemError(f"mount_targets names a subnet twice: {subnets}")
    for target in targets:
        if not 1 <= len(target["security_groups"]) <= 5:
            raise FileSystemError(
                f"the mount target in {target['subnet_id']} needs 1 to 5 security groups"
            )
    provisioned = params.get("throughput_mode") == "provisioned"
    if provisioned != bool(params.get("provisioned_throughput_in_mibps")):
        raise FileSystemError(
            "provisioned_throughput_in_mibps is required with throughput_mode=provisioned, "
            "and only then"
        )


# ---------------------------------------------------------------- AWS calls


@AWSRetry.jittered_backoff()
def create_file_system(client, params, tags):
    request = {
        "CreationToken": params["name"],
        "PerformanceMode": PERFORMANCE_MODES[params["performance_mode"]],
        "Encrypted": params["encrypted"],
        "Tags": ansible_dict_to_boto3_tag_list(tags),
    }
    if params.get("kms_key_id"):
        request["KmsKeyId"] = params["kms_key_id"]
    if params.get("throughput_mode"):
        request["ThroughputMode"] = params["throughput_mode"]
    if params.get("provisioned_throughput_in_mibps"):
        request["ProvisionedThroughputInMibps"] = params["provisioned_throughput_in_mibps"]
    return client.create_file_system(**request)


@AWSRetry.jittered_backoff()
def update_throughput(client, file_system_id, mode, mibps):
    request = {"FileSystemId": file_system_id, "ThroughputMode": mode}
    if mibps:
        request["ProvisionedThroughputInMibps"] = mibps
    return client.update_file_system(**request)


@AWSRetry.jittered_backoff()
def tag_resource(client, resource_id, tags):
    client.tag_resource(ResourceId=resource_id, Tags=ansible_dict_to_boto3_tag_list(tags))


@AWSRetry.jittered_backoff()
def untag_resource(client, resource_id, keys):
    client.untag_resource(ResourceId=resource_id, TagKeys=list(keys))


@AWSRetry.jittered_backoff()
def create_mount_target(client, file_system_id, subnet_id, security_groups):
    return client.create_mount_target(
        FileSystemId=file_system_id, SubnetId=subnet_id, SecurityGroups=list(security_groups)
    )


@AWSRetry.jittered_backoff()
def modify_mount_target_security_groups(client, mount_target_id, security_groups):
    client.modify_mount_target_security_groups(
        MountTargetId=mount_target_id, SecurityGroups=list(security_groups)
    )


@AWSRetry.jittered_backoff()
def delete_mount_target(client, mount_target_id):
    try:
        client.delete_mount_target(MountTargetId=mount_target_id)
    except is_boto3_error_code("MountTargetNotFound"):
        pass


@AWSRetry.jittered_backoff(catch_extra_error_codes=["FileSystemInUse"])
def delete_file_system(client, file_system_id):
    try:
        client.delete_file_system(FileSystemId=file_system_id)
    except is_boto3_error_code("FileSystemNotFound"):
        pass


def wait_for(check, what, timeout, delay=5, sleep=time.sleep):
    """Call check() until it returns True; raise FileSystemError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise FileSystemError(f"timed out after {timeout}s waiting for {what}")
        sleep(delay)


# ---------------------------------------------------------------- comparison


def immutable_differences(file_system, params):
    """What differs from the options among the settings AWS fixes at creation."""
    differences = []
    if bool(file_system.get("Encrypted")) != params["encrypted"]:
        differences.append(f"encrypted (is {bool(file_system.get('Encrypted'))})")
    wanted_mode = PERFORMANCE_MODES[params["performance_mode"]]
    if file_system.get("PerformanceMode") != wanted_mode:
        differences.append(f"performance_mode (is {file_system.get('PerformanceMode')})")
    key = params.get("kms_key_id")
    current_key = file_system.get("KmsKeyId") or ""
    if key and key != current_key and not current_key.endswith(key.split("/")[-1]):
        differences.append(f"kms_key_id (is {current_key or 'none'})")
    return differences


def throughput_change(file_system, params):
    """The (mode, MiB/s) to set, or None when the throughput is as asked."""
    mode = params.get("throughput_mode")
    if not mode:
        return None
    mibps = params.get("provisioned_throughput_in_mibps")
    if file_system.get("ThroughputMode") != mode:
        return mode, mibps
    if mode == "provisioned" and float(
        file_system.get("ProvisionedThroughputInMibps") or 0
    ) != float(mibps):
        return mode, mibps
    return None


def plan_mount_targets(current, desired):
    """Which mount targets to create, delete, or give other security groups.

    current: mount targets as described (with SecurityGroups); desired: the option's items.
    Returns (to_create, to_delete, to_modify): desired items, current targets, and
    (current target, security groups) pairs.
    """
    by_subnet = {t["SubnetId"]: t for t in current}
    wanted = {t["subnet_id"]: t for t in desired}
    to_create = [t for s, t in wanted.items() if s not in by_subnet]
    to_delete = [t for s, t in by_subnet.items() if s not in wanted]
    to_modify = [
        (by_subnet[s], sorted(t["security_groups"]))
        for s, t in wanted.items()
        if s in by_subnet
        and sorted(by_subnet[s].get("SecurityGroups") or []) != sorted(t["security_groups"])
    ]
    return to_create, to_delete, to_modify


# ---------------------------------------------------------------- states


def _file_system_state(client, file_system_id):
    found = list_file_systems(client, file_system_id=file_system_id)
    return found[0]["LifeCycleState"] if found else "deleted"


def _mount_targets_settled(client, file_system_id):
    states = [t.get("LifeCycleState") for t in list_mount_targets(client, file_system_id)]
    return all(state in ("available", "deleted") for state in states)


def ensure_present(client, params, check_mode, sleep=time.sleep):
    name = params["name"]
    tags = dict(params.get("tags") or {}, Name=name)
    timeout = params["wait_timeout"]
    changed = False
    file_system = find_file_system(client, name)

    if file_system is None:
        if check_mode:
            return {"changed": True, "file_system": {}}
        file_system = create_file_system(client, params, tags)
        changed = True
        fs_id = file_system["FileSystemId"]
        if params["wait"] or params.get("mount_targets"):
            # Mount targets can only be added to an available file system.
            wait_for(
                lambda: _file_system_state(client, fs_id) == "available",
                f"file system {fs_id} to be available",
                timeout,
                sleep=sleep,
            )
        file_system = find_file_system(client, name)
    else:
        differences = immutable_differences(file_system, params)
        if differences:
            raise FileSystemError(
                f"file system {file_system['FileSystemId']} ({name}) was created with other "
                f"settings that AWS cannot change: {'; '.join(differences)}. Keep its settings, "
                "or move the data to a new file system"
            )
        fs_id = file_system["FileSystemId"]
        throughput = throughput_change(file_system, params)
        if throughput:
            changed = True
            if not check_mode:
                update_throughput(client, fs_id, *throughput)
        if params.get("tags") is not None:
            current = boto3_tag_list_to_ansible_dict(file_system.get("Tags") or [])
            to_set, to_remove = compare_aws_tags(current, tags, params.get("purge_tags", True))
            if to_set or to_remove:
                changed = True
                if not check_mode:
                    if to_remove:
                        untag_resource(client, fs_id, to_remove)
                    if to_set:
                        tag_resource(client, fs_id, to_set)
        if changed and not check_mode:
            file_system = find_file_system(client, name)

    current_targets = describe_mount_targets(client, fs_id)
    if params.get("mount_targets") is not None:
        to_create, to_delete, to_modify = plan_mount_targets(
            current_targets, params["mount_targets"]
        )
        if to_create or to_delete or to_modify:
            changed = True
            if not check_mode:
                for target in to_delete:
                    delete_mount_target(client, target["MountTargetId"])
                for target, groups in to_modify:
                    modify_mount_target_security_groups(client, target["MountTargetId"], groups)
                if to_delete:
                    # A subnet freed by a deleted target can only take a new one once it is gone.
                    wait_for(
                        lambda: (
                            not {t["MountTargetId"] for t in to_delete}
                            & {t["MountTargetId"] for t in list_mount_targets(client, fs_id)}
                        ),
                        f"the old mount targets of {fs_id} to be deleted",
                        timeout,
                        sleep=sleep,
                    )
                for target in to_create:
                    create_mount_target(
                        client, fs_id, target["subnet_id"], target["security_groups"]
                    )
                if params["wait"]:
                    wait_for(
                        lambda: _mount_targets_settled(client, fs_id),
                        f"the mount targets of {fs_id} to be available",
                        timeout,
                        sleep=sleep,
                    )
                current_targets = describe_mount_targets(client, fs_id)
    return {"changed": changed, "file_system": file_system_to_result(file_system, current_targets)}


def ensure_absent(client, params, check_mode, sleep=time.sleep):
    file_system = find_file_system(client, params["name"])
    if file_system is None:
        return {"changed": False, "file_system": {}}
    if check_mode:
        return {"changed": True, "file_system": {}}
    fs_id = file_system["FileSystemId"]
    timeout = params["wait_timeout"]
    targets = list_mount_targets(client, fs_id)
    for target in targets:
        if target.get("LifeCycleState") not in ("deleting", "deleted"):
            delete_mount_target(client, target["MountTargetId"])
    if targets:
        # AWS refuses to delete a file system that still has mount targets.
        wait_for(
            lambda: not list_mount_targets(client, fs_id),
            f"the mount targets of {fs_id} to be deleted",
            timeout,
            sleep=sleep,
        )
    delete_file_system(client, fs_id)
    if params["wait"]:
        wait_for(
            lambda: _file_system_state(client, fs_id) == "deleted",
            f"file system {fs_id} to be deleted",
            timeout,
            sleep=sleep,
        )
    return {"changed": True, "file_system": {}}


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        encrypted=dict(type="bool", default=True),
        kms_key_id=dict(type="str"),
        performance_mode=dict(
            type="str", choices=["general_purpose", "max_io"], default="general_purpose"
        ),
        throughput_mode=dict(type="str", choices=["bursting", "elastic", "provisioned"]),
        provisioned_throughput_in_mibps=dict(type="float"),
        mount_targets=dict(
            type="list",
            elements="dict",
            options=dict(
                subnet_id=dict(type="str", required=True),
                security_groups=dict(type="list", elements="str", required=True),
            ),
        ),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
    )
    module = MlflowEcsAWSModule(argument_spec=argument_spec, supports_check_mode=True)

    run_state_module(
        module,
        "efs",
        validate_params,
        ensure_present,
        ensure_absent,
        FileSystemError,
        failure=f"Failed to make file system {module.params['name']} {module.params['state']}",
    )


if __name__ == "__main__":
    main()
