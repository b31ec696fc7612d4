#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the mlops.mlflow_ecs collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: efs_access_point
version_added: 0.1.0
short_description: Ensure an Amazon EFS access point exists on a file system, or delete it
description:
  - Creates, tags or deletes an access point of an Amazon EFS file system. An access point makes
    every client that mounts through it act as one POSIX user and see one directory of the file
    system as its root, which AWS creates with the owner and permissions given when missing.
  - The access point is found by its C(Name) tag among the access points of O(file_system_id), so
    running the module again never creates a second one.
  - AWS cannot change the POSIX user or the root directory of an existing access point. When they
    differ from the options the module fails and says so, rather than replace the access point
    under the clients that use it.
options:
  file_system_id:
    description:
      - Id of the file system, for example V(fs-0123456789abcdef0).
    type: str
    required: true
  name:
    description:
      - Value of the C(Name) tag that identifies the access point on the file system.
    type: str
    required: true
  posix_user:
    description:
      - The POSIX identity of every request made through the access point.
      - Required to create the access point.
    type: dict
    suboptions:
      uid:
        description: User id.
        type: int
        required: true
      gid:
        description: Group id.
        type: int
        required: true
      secondary_gids:
        description: Secondary group ids.
        type: list
        elements: int
  root_directory:
    description:
      - The directory clients see as the root of the file system.
      - Without it clients see the root of the file system.
    type: dict
    suboptions:
      path:
        description: Absolute path of the directory on the file system.
        type: str
        required: true
      creation_info:
        description:
          - Owner and permissions AWS gives the directory when it does not exist yet.
        type: dict
        suboptions:
          owner_uid:
            description: Owner user id.
            type: int
            required: true
          owner_gid:
            description: Owner group id.
            type: int
            required: true
          permissions:
            description: Octal permissions, for example V("0750").
            type: str
            required: true
  state:
    description:
      - Whether the access point should exist.
    type: str
    choices: [present, absent]
    default: present
  wait_timeout:
    description:
      - Seconds to wait for a new access point to become available.
    type: int
    default: 120
notes:
  - Supports check mode; it reports the change it would make and makes none.
  - Needs C(elasticfilesystem:DescribeAccessPoints), C(elasticfilesystem:CreateAccessPoint),
    C(elasticfilesystem:DeleteAccessPoint), C(elasticfilesystem:TagResource) and
    C(elasticfilesystem:UntagResource).
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

- name: Ensure the access point of the MLflow containers (uid/gid 10001, directory /mlflow)
  mlops.mlflow_ecs.efs_access_point:
    file_system_id: "{{ efs.efs.file_system_id }}"
    name: production-mlflow-data
    posix_user:
      uid: 10001
      gid: 10001
    root_directory:
      path: /mlflow
      creation_info:
        owner_uid: 10001
        owner_gid: 10001
        permissions: "0750"
    tags:
      Environment: production
  register: access_point

- name: Delete the access point
  mlops.mlflow_ecs.efs_access_point:
    file_system_id: fs-0123456789abcdef0
    name: production-mlflow-data
    state: absent
"""

RETURN = r"""
access_point:
  description:
    - The access point.
    - Empty when it does not exist, after O(state=absent), or in check mode when it would be
      created.
  returned: always
  type: dict
  contains:
    access_point_id:
      description: Id of the access point.
      type: str
      returned: when the access point exists
      sample: fsap-0123456789abcdef0
    access_point_arn:
      description: ARN of the access point.
      type: str
      returned: when the access point exists
      sample: arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0
    file_system_id:
      description: Id of the file system.
      type: str
      returned: when the access point exists
      sample: fs-0123456789abcdef0
    name:
      description: Value of its C(Name) tag.
      type: str
      returned: when the access point exists
      sample: production-mlflow-data
    posix_user:
      description: The POSIX identity of its clients (C(uid), C(gid), C(secondary_gids)).
      type: dict
      returned: when the access point exists
      sample: {"uid": 10001, "gid": 10001, "secondary_gids": []}
    root_directory:
      description: Its root directory (C(path), C(creation_info)).
      type: dict
      returned: when the access point exists
      sample:
        path: /mlflow
        creation_info: {"owner_uid": 10001, "owner_gid": 10001, "permissions": "0750"}
    life_cycle_state:
      description: Its state, V(available) when it can be used.
      type: str
      returned: when the access point exists
      sample: available
    tags:
      description: Its tags.
      type: dict
      returned: when the access point exists
      sample: {"Name": "production-mlflow-data", "Environment": "production"}
"""

import time

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)
from ansible_collections.mlops.mlflow_ecs.plugins.module_utils.modules import (
    MlflowEcsAWSModule,
    run_state_module,
)


class AccessPointError(Exception):
    """The access point cannot be brought to the requested state; the message says why."""


def validate_params(params):
    """Check the options before any AWS call."""
    if not (params.get("file_system_id") or "").startswith("fs-"):
        raise AccessPointError(
            "file_system_id must be a file system id (fs-...), "
            f"got {params.get('file_system_id')!r}"
        )
    if not (params.get("name") or "").strip():
        raise AccessPointError("name must not be empty")
    root = params.get("root_directory") or {}
    if root and not root["path"].startswith("/"):
        raise AccessPointError(f"root_directory.path must be absolute, got {root['path']!r}")
    info = root.get("creation_info") or {}
    if info and not (
        len(info["permissions"]) in (3, 4) and all(c in "01234567" for c in info["permissions"])
    ):
        raise AccessPointError(
            "root_directory.creation_info.permissions must be octal such as 0750, "
            f"got {info['permissions']!r}"
        )
    if params.get("state") == "present" and not params.get("posix_user"):
        raise AccessPointError("posix_user is required with state=present")


def desired_posix_user(params):
    user = params.get("posix_user")
    if not user:
        return None
    result = {"Uid": user["uid"], "Gid": user["gid"]}
    if user.get("secondary_gids"):
        result["SecondaryGids"] = list(user["secondary_gids"])
    return result


def desired_root_directory(params):
    root = params.get("root_directory")
    if not root:
        return None
    result = {"Path": root["path"]}
    info = root.get("creation_info")
    if info:
        result["CreationInfo"] = {
            "OwnerUid": info["owner_uid"],
            "OwnerGid": info["owner_gid"],
            "Permissions": info["permissions"],
        }
    return result


@AWSRetry.jittered_backoff()
def list_access_points(client, file_system_id):
    """Every access point of the file system (an empty list when the file system is gone)."""
    paginator = client.get_paginator("describe_access_points")
    try:
        return paginator.paginate(FileSystemId=file_system_id).build_full_result()["AccessPoints"]
    except is_boto3_error_code("FileSystemNotFound"):
        return []


def access_point_name(access_point):
    return access_point.get("Name") or boto3_tag_list_to_ansible_dict(
        access_point.get("Tags") or []
    ).get("Name")


def select_access_point(access_points, name):
    """The access point whose Name tag is name; fail when several are."""
    matches = [
        ap
        for ap in access_points
        if access_point_name(ap) == name and ap.get("LifeCycleState") not in ("deleting", "deleted")
    ]
    if len(matches) > 1:
        found = ", ".join(sorted(ap["AccessPointId"] for ap in matches))
        raise AccessPointError(
            f"several access points of {matches[0]['FileSystemId']} are named {name} ({found}); "
            "delete the extra ones"
        )
    return matches[0] if matches else None


def immutable_differences(access_point, params):
    """What differs between the access point and the options that AWS cannot change."""
    differences = []
    user = desired_posix_user(params)
    current_user = access_point.get("PosixUser") or {}
    if user is not None and (
        current_user.get("Uid"),
        current_user.get("Gid"),
        sorted(current_user.get("SecondaryGids") or []),
    ) != (user["Uid"], user["Gid"], sorted(user.get("SecondaryGids") or [])):
        differences.append(f"posix_user (is {current_user}, wanted {user})")
    root = desired_root_directory(params)
    current_path = (access_point.get("RootDirectory") or {}).get("Path", "/")
    if root is not None and current_path != root["Path"]:
        differences.append(f"root_directory.path (is {current_path}, wanted {root['Path']})")
    return differences


@AWSRetry.jittered_backoff()
def create_access_point(client, params, tags):
    request = {
        # Same name, same token: a retried call returns the access point created by the first.
        "ClientToken": f"{params['file_system_id']}-{params['name']}"[:64],
        "FileSystemId": params["file_system_id"],
        "PosixUser": desired_posix_user(params),
        "Tags": ansible_dict_to_boto3_tag_list(tags),
    }
    root = desired_root_directory(params)
    if root is not None:
        request["RootDirectory"] = root
    return client.create_access_point(**request)


@AWSRetry.jittered_backoff()
def describe_access_point(client, access_point_id):
    return client.describe_access_points(AccessPointId=access_point_id)["AccessPoints"][0]


@AWSRetry.jittered_backoff()
def tag_resource(client, resource_id, tags):
    client.tag_resource(ResourceId=resource_id, Tags=ansible_dict_to_boto3_tag_list(tags))


@AWSRetry.jittered_backoff()
def untag_resource(client, resource_id, keys):
    client.untag_resource(ResourceId=resource_id, TagKeys=list(keys))


@AWSRetry.jittered_backoff()
def delete_access_point(client, access_point_id):
    try:
        client.delete_access_point(AccessPointId=access_point_id)
    except is_boto3_error_code("AccessPointNotFound"):
        return False
    return True


def wait_until_available(client, access_point, timeout, delay=2, sleep=time.sleep):
    deadline = time.monotonic() + timeout
    while access_point.get("LifeCycleState", "available") != "available":
        if access_point.get("LifeCycleState") == "error":
            raise AccessPointError(f"access point {access_point['AccessPointId']} is in error")
        if time.monotonic() >= deadline:
            raise AccessPointError(
                f"access point {access_point['AccessPointId']} is still "
                f"{access_point.get('LifeCycleState')} after {timeout}s"
            )
        sleep(delay)
        access_point = describe_access_point(client, access_point["AccessPointId"])
    return access_point


def access_point_to_result(access_point):
    if not access_point:
        return {}
    user = access_point.get("PosixUser") or {}
    root = access_point.get("RootDirectory") or {}
    info = root.get("CreationInfo") or {}
    return {
        "access_point_id": access_point["AccessPointId"],
        "access_point_arn": access_point.get("AccessPointArn", ""),
        "file_system_id": access_point.get("FileSystemId", ""),
        "name": access_point_name(access_point) or "",
        "posix_user": {
            "uid": user.get("Uid"),
            "gid": user.get("Gid"),
            "secondary_gids": list(user.get("SecondaryGids") or []),
        },
        "root_directory": {
            "path": root.get("Path", "/"),
            "creation_info": {
                "owner_uid": info.get("OwnerUid"),
                "owner_gid": info.get("OwnerGid"),
                "permissions": info.get("Permissions"),
            }
            if info
            else {},
        },
        "life_cycle_state": access_point.get("LifeCycleState", ""),
        "tags": boto3_tag_list_to_ansible_dict(access_point.get("Tags") or []),
    }


def ensure_present(client, params, check_mode):
    name = params["name"]
    tags = dict(params.get("tags") or {}, Name=name)
    access_point = select_access_point(list_access_points(client, params["file_system_id"]), name)
    if access_point is None:
        if check_mode:
            return {"changed": True, "access_point": {}}
        access_point = create_access_point(client, params, tags)
        access_point = wait_until_available(client, access_point, params["wait_timeout"])
        return {"changed": True, "access_point": access_point_to_result(access_point)}

    differences = immutable_differences(access_point, params)
    if differences:
        raise AccessPointError(
            f"access point {access_point['AccessPointId']} ({name}) cannot be changed in place: "
            f"{'; '.join(differences)}. Delete it (state=absent) and run again, after stopping "
            "the clients that mount it"
        )

    changed = False
    if params.get("tags") is not None:
        current = boto3_tag_list_to_ansible_dict(access_point.get("Tags") or [])
        to_set, to_remove = compare_aws_tags(current, tags, params.get("purge_tags", True))
        if to_set or to_remove:
            changed = True
            if not check_mode:
                if to_remove:
                    untag_resource(client, access_point["AccessPointId"], to_remove)
                if to_set:
                    tag_resource(client, access_point["AccessPointId"], to_set)
            merged = {k: v for k, v in current.items() if k not in to_remove}
            merged.update(to_set)
            access_point = dict(access_point, Tags=ansible_dict_to_boto3_tag_list(merged))
    return {"changed": changed, "access_point": access_point_to_result(access_point)}


def ensure_absent(client, params, check_mode):
    access_point = select_access_point(
        list_access_points(client, params["file_system_id"]), params["name"]
    )
    if access_point is None:
        return {"changed": False, "access_point": {}}
    if not check_mode:
        delete_access_point(client, access_point["AccessPointId"])
    return {"changed": True, "access_point": {}}


def main():
    argument_spec = dict(
        file_system_id=dict(type="str", required=True),
        name=dict(type="str", required=True),
        posix_user=dict(
            type="dict",
            options=dict(
                uid=dict(type="int", required=True),
                gid=dict(type="int", required=True),
                secondary_gids=dict(type="list", elements="int"),
            ),
        ),
        root_directory=dict(
            type="dict",
            options=dict(
                path=dict(type="str", required=True),
                creation_info=dict(
                    type="dict",
                    options=dict(
                        owner_uid=dict(type="int", required=True),
                        owner_gid=dict(type="int", required=True),
                        permissions=dict(type="str", required=True),
                    ),
                ),
            ),
        ),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=120),
    )
    module = MlflowEcsAWSModule(argument_spec=argument_spec, supports_check_mode=True)

    run_state_module(
        module,
        "efs",
        validate_params,
        ensure_present,
        ensure_absent,
        AccessPointError,
        failure=f"Failed to make access point {module.params['name']} of "
        f"{module.params['file_system_id']} {module.params['state']}",
    )


if __name__ == "__main__":
    main()
