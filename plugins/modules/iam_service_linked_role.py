#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the mlops.mlflow_ecs collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: iam_service_linked_role
version_added: 0.1.0
short_description: Ensure an AWS service-linked IAM role exists, or delete it
description:
  - Creates the service-linked role of an AWS service, such as the one Amazon ECS needs
    (V(ecs.amazonaws.com)), when the account does not have it yet.
  - An existing role is found by its path C(/aws-service-role/<aws_service_name>/), never by
    its name, because role names differ in case between AWS and emulators.
  - With O(state=absent), submits the deletion of the role and, with O(wait=true), waits until
    AWS reports it done.
options:
  aws_service_name:
    description:
      - Service principal of the AWS service that the role is linked to, for example
        V(ecs.amazonaws.com) or V(elasticloadbalancing.amazonaws.com).
    type: str
    required: true
  description:
    description:
      - Description of the role.
      - When set and different from the description of an existing role, the description is
        updated. When not set, the description of an existing role is left alone.
    type: str
  custom_suffix:
    description:
      - Suffix that AWS appends to the role name, for services that allow several
        service-linked roles (not Amazon ECS).
      - When set, only the role whose name ends with C(_<custom_suffix>) counts.
      - When not set, the role without a suffix counts. A suffixed role that is the only role of
        its service cannot be told apart from an unsuffixed one and counts too.
    type: str
  state:
    description:
      - Whether the role should exist.
      - V(absent) deletes the role. A service-linked role is shared by the whole account, so
        deleting the Amazon ECS role affects every user of Amazon ECS in the account. AWS
        refuses the deletion (the deletion task fails) while resources of the service still
        use it.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - With O(state=absent), wait until the deletion task has succeeded, and fail with the
        reason AWS gives when it fails.
      - With V(false), only submit the deletion and return RV(deletion_task_id).
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait for the deletion task when O(wait=true).
    type: int
    default: 300
notes:
  - Supports check mode; it reports the change it would make and makes none.
  - Needs C(iam:ListRoles), C(iam:CreateServiceLinkedRole), C(iam:UpdateRoleDescription),
    C(iam:DeleteServiceLinkedRole) and C(iam:GetServiceLinkedRoleDeletionStatus).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - MLOps platform team (!UNKNOWN)
"""

EXAMPLES = r"""
# Note: These examples do not set authentication details, see the AWS Guide for details.

- name: Ensure the Amazon ECS service-linked role exists
  mlops.mlflow_ecs.iam_service_linked_role:
    aws_service_name: ecs.amazonaws.com
  register: ecs_service_linked_role

- name: Ensure a suffixed Auto Scaling service-linked role exists, with a description
  mlops.mlflow_ecs.iam_service_linked_role:
    aws_service_name: autoscaling.amazonaws.com
    custom_suffix: mlflow
    description: Auto Scaling role for the MLflow workers

- name: Submit the deletion of the suffixed role without waiting for it
  mlops.mlflow_ecs.iam_service_linked_role:
    aws_service_name: autoscaling.amazonaws.com
    custom_suffix: mlflow
    state: absent
    wait: false
"""

RETURN = r"""
role:
  description:
    - The service-linked role.
    - Empty when the role does not exist, after O(state=absent), or in check mode when the role
      would be created.
  returned: always
  type: dict
  contains:
    role_name:
      description: Name of the role, chosen by AWS.
      type: str
      returned: when the role exists
      sample: AWSServiceRoleForECS
    role_id:
      description: Id of the role.
      type: str
      returned: when the role exists
      sample: AROAEXAMPLEEXAMPLE12
    arn:
      description: ARN of the role.
      type: str
      returned: when the role exists
      sample: arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS
    path:
      description: Path of the role.
      type: str
      returned: when the role exists
      sample: /aws-service-role/ecs.amazonaws.com/
    description:
      description: Description of the role.
      type: str
      returned: when the role exists
      sample: Role to enable Amazon ECS to manage your cluster.
    create_date:
      description: When the role was created, in ISO 8601 format.
      type: str
      returned: when the role exists
      sample: "2024-05-01T12:00:00+00:00"
deletion_task_id:
  description: Id of the deletion task AWS started.
  returned: when O(state=absent) and the role was deleted (not in check mode)
  type: str
  sample: task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/1b4c2d7e-0000-4a00-8000
"""

import time

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_message
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.mlops.mlflow_ecs.plugins.module_utils.modules import (
    MlflowEcsAWSModule,
    run_state_module,
)


class ServiceLinkedRoleError(Exception):
    """The role cannot be brought to the requested state; the message says why."""


def service_role_path(aws_service_name):
    return f"/aws-service-role/{aws_service_name}/"


def validate_params(params):
    """Check the options before any AWS call."""
    name = params.get("aws_service_name") or ""
    if not name.strip() or "/" in name or any(c.isspace() for c in name):
        raise ServiceLinkedRoleError(
            f"aws_service_name must be a service principal such as ecs.amazonaws.com, got {name!r}"
        )
    if params.get("custom_suffix") == "":
        raise ServiceLinkedRoleError("custom_suffix must not be empty; omit it instead")
    if params.get("wait_timeout") is not None and params["wait_timeout"] < 0:
        raise ServiceLinkedRoleError("wait_timeout must not be negative")


@AWSRetry.jittered_backoff()
def list_service_linked_roles(client, aws_service_name):
    """Every role on the service's path (whatever their names)."""
    path = service_role_path(aws_service_name)
    paginator = client.get_paginator("list_roles")
    roles = paginator.paginate(PathPrefix=path).build_full_result()["Roles"]
    return [role for role in roles if role["Path"] == path]


def select_role(roles, aws_service_name, custom_suffix=None):
    """Pick the role that custom_suffix designates among the roles on the service's path.

    With a suffix, the role named ``<anything>_<suffix>``. Without, the role whose name is not
    another role's name plus ``_<suffix>`` (AWS names suffixed roles ``<default>_<suffix>``).
    """
    if custom_suffix:
        matches = [r for r in roles if r["RoleName"].endswith(f"_{custom_suffix}")]
    else:
        names = [r["RoleName"] for r in roles]
        matches = [
            r for r in roles if not any(r["RoleName"].startswith(f"{other}_") for other in names)
        ]
    if len(matches) > 1:
        found = ", ".join(sorted(r["RoleName"] for r in matches))
        raise ServiceLinkedRoleError(
            f"several service-linked roles on path {service_role_path(aws_service_name)} match"
            f" ({found}); set custom_suffix to choose one"
        )
    return matches[0] if matches else None


@AWSRetry.jittered_backoff()
def create_service_linked_role(client, aws_service_name, description=None, custom_suffix=None):
    params = {"AWSServiceName": aws_service_name}
    if description is not None:
        params["Description"] = description
    if custom_suffix:
        params["CustomSuffix"] = custom_suffix
    return client.create_service_linked_role(**params)["Role"]


@AWSRetry.jittered_backoff()
def update_role_description(client, role_name, description):
    return client.update_role_description(RoleName=role_name, Description=description)["Role"]


@AWSRetry.jittered_backoff()
def delete_service_linked_role(client, role_name):
    return client.delete_service_linked_role(RoleName=role_name)["DeletionTaskId"]


@AWSRetry.jittered_backoff()
def get_deletion_status(client, deletion_task_id):
    return client.get_service_linked_role_deletion_status(DeletionTaskId=deletion_task_id)


def wait_for_deletion(client, role_name, deletion_task_id, timeout, delay=5, sleep=time.sleep):
    """Poll the deletion task until it succeeds; raise ServiceLinkedRoleError on failure."""
    deadline = time.monotonic() + timeout
    while True:
        status = get_deletion_status(client, deletion_task_id)
        if status["Status"] == "SUCCEEDED":
            return
        if status["Status"] == "FAILED":
            reason = status.get("Reason") or {}
            usage = [
                f"{u.get('Region', '?')}: {', '.join(u.get('Resources') or [])}"
                for u in reason.get("RoleUsageList") or []
            ]
            detail = reason.get("Reason") or "no reason given"
            if usage:
                detail += f"; still used by {'; '.join(usage)}"
            raise ServiceLinkedRoleError(
                f"AWS failed to delete service-linked role {role_name} ({detail})"
            )
        if time.monotonic() >= deadline:
            raise ServiceLinkedRoleError(
                f"deletion of service-linked role {role_name} is still {status['Status']} after"
                f" {timeout}s (deletion task {deletion_task_id})"
            )
        sleep(delay)


def role_to_result(role):
    if not role:
        return {}
    create_date = role.get("CreateDate")
    return {
        "role_name": role["RoleName"],
        "role_id": role.get("RoleId"),
        "arn": role["Arn"],
        "path": role["Path"],
        "description": role.get("Description", ""),
        "create_date": create_date.isoformat()
        if hasattr(create_date, "isoformat")
        else str(create_date or ""),
    }


def ensure_present(client, params, check_mode):
    service, suffix = params["aws_service_name"], params.get("custom_suffix")
    description = params.get("description")
    role = select_role(list_service_linked_roles(client, service), service, suffix)
    if role is None:
        if check_mode:
            return {"changed": True, "role": {}}
        try:
            role = create_service_linked_role(client, service, description, suffix)
        except is_boto3_error_message("has been taken"):
            # Created meanwhile by someone else (an ECS call creates it on demand, too).
            role = select_role(list_service_linked_roles(client, service), service, suffix)
            if role is None:
                raise
            return {"changed": False, "role": role_to_result(role)}
        return {"changed": True, "role": role_to_result(role)}
    if description is not None and role.get("Description", "") != description:
        if check_mode:
            return {"changed": True, "role": role_to_result({**role, "Description": description})}
        role = update_role_description(client, role["RoleName"], description)
        return {"changed": True, "role": role_to_result(role)}
    return {"changed": False, "role": role_to_result(role)}


def ensure_absent(client, params, check_mode):
    service, suffix = params["aws_service_name"], params.get("custom_suffix")
    role = select_role(list_service_linked_roles(client, service), service, suffix)
    if role is None:
        return {"changed": False, "role": {}}
    if check_mode:
        return {"changed": True, "role": {}}
    task_id = delete_service_linked_role(client, role["RoleName"])
    if params.get("wait", True):
        wait_for_deletion(client, role["RoleName"], task_id, params.get("wait_timeout") or 0)
    return {"changed": True, "role": {}, "deletion_task_id": task_id}


def main():
    argument_spec = dict(
        aws_service_name=dict(type="str", required=True),
        description=dict(type="str"),
        custom_suffix=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
    )
    module = MlflowEcsAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    service = module.params["aws_service_name"]

    run_state_module(
        module,
        "iam",
        validate_params,
        ensure_present,
        ensure_absent,
        ServiceLinkedRoleError,
        failure=f"Failed to make the service-linked role of {service} {module.params['state']}",
    )


if __name__ == "__main__":
    main()
