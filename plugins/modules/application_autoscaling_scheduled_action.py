#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the mlops.mlflow_ecs collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: application_autoscaling_scheduled_action
version_added: 0.2.0
short_description: Manage an Application Auto Scaling scheduled action
description:
  - Creates or updates a scheduled action of an Application Auto Scaling scalable target
    (C(PutScheduledAction)), which sets the target's minimum and maximum capacity at the times a
    schedule gives, in a time zone; or deletes it (C(DeleteScheduledAction)).
  - Neither M(community.aws.application_autoscaling_policy) (scaling policies only) nor
    M(amazon.aws.autoscaling_scheduled_action) (EC2 Auto Scaling groups only) manage Application
    Auto Scaling's scheduled actions.
options:
  scheduled_action_name:
    description:
      - Name of the scheduled action, unique for the scalable target (1-256 characters, no C(:)).
    type: str
    required: true
  service_namespace:
    description: Namespace of the AWS service of the scalable target.
    type: str
    default: ecs
  resource_id:
    description:
      - Resource id of the scalable target, for an ECS service C(service/<cluster>/<service>).
    type: str
    required: true
  scalable_dimension:
    description: Scalable dimension of the target.
    type: str
    default: ecs:service:DesiredCount
  state:
    description: V(present) creates or updates the action, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  schedule:
    description:
      - When the action runs, as AWS takes it, C(cron(minutes hours day-of-month month
        day-of-week year)), C(rate(value unit)) or C(at(yyyy-mm-ddThh:mm:ss)). Required with
        O(state=present).
    type: str
  timezone:
    description:
      - IANA time zone of the C(cron) and C(at) expressions, for example C(Europe/Madrid).
    type: str
    default: UTC
  min_capacity:
    description:
      - Minimum capacity the action sets (for an ECS service, tasks). At least one of
        O(min_capacity) and O(max_capacity) with O(state=present).
    type: int
  max_capacity:
    description: Maximum capacity the action sets.
    type: int
notes:
  - Supports check mode and diff mode.
  - AWS refuses a scheduled action for a scalable target that is not registered (for an ECS
    service, C(mlops.mlflow_ecs.ecs_service_autoscaling) registers it); the module checks it is,
    and in check mode on a new deployment only reports that it would create the action.
  - AWS deletes a target's scheduled actions when the target is deregistered.
  - Needs C(application-autoscaling:DescribeScalableTargets), C(DescribeScheduledActions),
    C(PutScheduledAction) and C(DeleteScheduledAction).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - MLOps platform team (!UNKNOWN)
"""

EXAMPLES = r"""
# Note: These examples do not set authentication details, see the AWS Guide for details.

- name: Stop the dev tracking service at 20:00, Monday to Friday, Madrid time
  mlops.mlflow_ecs.application_autoscaling_scheduled_action:
    scheduled_action_name: dev-mlflow-tracking-office-hours-stop
    resource_id: service/dev-mlflow-cluster/dev-mlflow-tracking
    schedule: cron(0 20 ? * MON,TUE,WED,THU,FRI *)
    timezone: Europe/Madrid
    min_capacity: 0
    max_capacity: 0

- name: Remove the action
  mlops.mlflow_ecs.application_autoscaling_scheduled_action:
    scheduled_action_name: dev-mlflow-tracking-office-hours-stop
    resource_id: service/dev-mlflow-cluster/dev-mlflow-tracking
    state: absent
"""

RETURN = r"""
scheduled_action:
  description: The scheduled action after the change; empty when there is none.
  returned: always
  type: dict
  contains:
    scheduled_action_name:
      description: Name of the action.
      type: str
      returned: when the action exists
      sample: dev-mlflow-tracking-office-hours-stop
    schedule:
      description: When the action runs.
      type: str
      returned: when the action exists
      sample: cron(0 20 ? * MON,TUE,WED,THU,FRI *)
    timezone:
      description: Time zone of the schedule.
      type: str
      returned: when the action exists
      sample: Europe/Madrid
    min_capacity:
      description: Minimum capacity the action sets.
      type: int
      returned: when the action sets it
      sample: 0
    max_capacity:
      description: Maximum capacity the action sets.
      type: int
      returned: when the action sets it
      sample: 0
"""

import re

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.mlops.mlflow_ecs.plugins.module_utils.modules import (
    MlflowEcsAWSModule,
    run_state_module,
)

# AWS's three schedule forms; cron takes six fields.
SCHEDULE_PATTERN = re.compile(
    r"^(cron\((\S+\s+){5}\S+\)"
    r"|rate\(\d+ (minute|minutes|hour|hours|day|days)\)"
    r"|at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\))$"
)


class ScheduledActionError(Exception):
    """The action cannot be brought to the requested state; the message says why."""


def validate_params(params):
    name = params["scheduled_action_name"]
    if not 1 <= len(name) <= 256 or ":" in name:
        raise ScheduledActionError(f"scheduled_action_name {name!r}: 1 to 256 characters, no ':'")
    if params["state"] != "present":
        return
    schedule = params.get("schedule")
    if not schedule:
        raise ScheduledActionError("schedule is required with state=present")
    if not SCHEDULE_PATTERN.match(schedule):
        raise ScheduledActionError(
            f"schedule {schedule!r} is none of cron(m h dom month dow year), rate(n unit),"
            " at(yyyy-mm-ddThh:mm:ss)"
        )
    low, high = params.get("min_capacity"), params.get("max_capacity")
    if low is None and high is None:
        raise ScheduledActionError("min_capacity or max_capacity is required with state=present")
    if (low is not None and low < 0) or (high is not None and high < 0):
        raise ScheduledActionError("min_capacity and max_capacity are at least 0")
    if low is not None and high is not None and low > high:
        raise ScheduledActionError(f"min_capacity {low} is above max_capacity {high}")


@AWSRetry.jittered_backoff()
def describe_target(client, params):
    targets = client.describe_scalable_targets(
        ServiceNamespace=params["service_namespace"],
        ResourceIds=[params["resource_id"]],
        ScalableDimension=params["scalable_dimension"],
    )["ScalableTargets"]
    return targets[0] if targets else None


@AWSRetry.jittered_backoff()
def describe_action(client, params):
    actions = client.describe_scheduled_actions(
        ServiceNamespace=params["service_namespace"],
        ScheduledActionNames=[params["scheduled_action_name"]],
        ResourceId=params["resource_id"],
        ScalableDimension=params["scalable_dimension"],
    )["ScheduledActions"]
    return actions[0] if actions else None


@AWSRetry.jittered_backoff()
def put_action(client, params, wanted):
    target_action = {}
    if wanted.get("min_capacity") is not None:
        target_action["MinCapacity"] = wanted["min_capacity"]
    if wanted.get("max_capacity") is not None:
        target_action["MaxCapacity"] = wanted["max_capacity"]
    client.put_scheduled_action(
        ServiceNamespace=params["service_namespace"],
        ScheduledActionName=params["scheduled_action_name"],
        ResourceId=params["resource_id"],
        ScalableDimension=params["scalable_dimension"],
        Schedule=wanted["schedule"],
        Timezone=wanted["timezone"],
        ScalableTargetAction=target_action,
    )


@AWSRetry.jittered_backoff()
def delete_action(client, params):
    client.delete_scheduled_action(
        ServiceNamespace=params["service_namespace"],
        ScheduledActionName=params["scheduled_action_name"],
        ResourceId=params["resource_id"],
        ScalableDimension=params["scalable_dimension"],
    )


def action_view(action):
    """The action in the module's terms; {} when there is none."""
    if not action:
        return {}
    view = {
        "scheduled_action_name": action["ScheduledActionName"],
        "schedule": action["Schedule"],
        # AWS answers UTC for an action put without a time zone.
        "timezone": action.get("Timezone") or "UTC",
    }
    target_action = action.get("ScalableTargetAction") or {}
    if "MinCapacity" in target_action:
        view["min_capacity"] = int(target_action["MinCapacity"])
    if "MaxCapacity" in target_action:
        view["max_capacity"] = int(target_action["MaxCapacity"])
    return view


def wanted_view(params):
    view = {
        "scheduled_action_name": params["scheduled_action_name"],
        "schedule": params["schedule"],
        "timezone": params["timezone"],
    }
    for key in ("min_capacity", "max_capacity"):
        if params.get(key) is not None:
            view[key] = params[key]
    return view


def ensure_present(client, params, check_mode):
    current = action_view(describe_action(client, params))
    wanted = wanted_view(params)
    diff = {"before": {"scheduled_action": current}, "after": {"scheduled_action": wanted}}
    changed = current != wanted
    if check_mode or not changed:
        return {"changed": changed, "scheduled_action": current, "diff": diff}
    if describe_target(client, params) is None:
        raise ScheduledActionError(
            f"no scalable target {params['resource_id']} ({params['scalable_dimension']})"
            " is registered: register it first (for an ECS service,"
            " mlops.mlflow_ecs.ecs_service_autoscaling)"
        )
    put_action(client, params, wanted)
    return {
        "changed": True,
        "scheduled_action": action_view(describe_action(client, params)),
        "diff": diff,
    }


def ensure_absent(client, params, check_mode):
    current = action_view(describe_action(client, params))
    diff = {"before": {"scheduled_action": current}, "after": {"scheduled_action": {}}}
    if not current:
        return {"changed": False, "scheduled_action": {}, "diff": diff}
    if not check_mode:
        try:
            delete_action(client, params)
        except is_boto3_error_code("ObjectNotFoundException"):
            pass  # Removed meanwhile, for example with its scalable target.
    return {"changed": True, "scheduled_action": {}, "diff": diff}


def main():
    argument_spec = dict(
        scheduled_action_name=dict(type="str", required=True),
        service_namespace=dict(type="str", default="ecs"),
        resource_id=dict(type="str", required=True),
        scalable_dimension=dict(type="str", default="ecs:service:DesiredCount"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        schedule=dict(type="str"),
        timezone=dict(type="str", default="UTC"),
        min_capacity=dict(type="int"),
        max_capacity=dict(type="int"),
    )
    module = MlflowEcsAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    name, state = module.params["scheduled_action_name"], module.params["state"]
    run_state_module(
        module,
        "application-autoscaling",
        validate_params,
        ensure_present,
        ensure_absent,
        ScheduledActionError,
        failure=f"Failed to ensure the scheduled action {name} is {state}",
    )


if __name__ == "__main__":
    main()
