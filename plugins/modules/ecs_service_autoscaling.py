#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the mlops.mlflow_ecs collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecs_service_autoscaling
version_added: 0.1.0
short_description: Target-tracking Application Auto Scaling of an Amazon ECS service's task count
description:
  - Registers the desired count of an Amazon ECS service as an Application Auto Scaling scalable
    target with a minimum and a maximum, and puts one target-tracking scaling policy on it
    (average CPU, average memory, or load balancer requests per task).
  - With O(state=absent), deletes the policy and deregisters the scalable target, so the
    service keeps its current desired count and nothing scales it any more.
  - Unlike M(community.aws.application_autoscaling_policy), it honours check mode, updates the
    minimum and maximum of an existing target, and removes the scalable target on O(state=absent).
options:
  cluster:
    description:
      - Name of the cluster of the service.
    type: str
    required: true
  service:
    description:
      - Name of the service.
    type: str
    required: true
  state:
    description:
      - V(present) registers the target and puts the policy, V(absent) removes both.
    type: str
    choices: [present, absent]
    default: present
  min_capacity:
    description:
      - Fewest tasks. Required with O(state=present).
    type: int
  max_capacity:
    description:
      - Most tasks. Required with O(state=present).
    type: int
  policy_name:
    description:
      - Name of the target-tracking policy. Defaults to C(<service>-target-tracking).
    type: str
  metric:
    description:
      - What the policy keeps at O(target_value).
      - V(cpu) is the service's average CPU utilization in percent
        (C(ECSServiceAverageCPUUtilization)), V(memory) its average memory utilization in
        percent, V(requests) the load balancer requests per task and minute
        (C(ALBRequestCountPerTarget)), which needs O(resource_label).
    type: str
    choices: [cpu, memory, requests]
    default: cpu
  resource_label:
    description:
      - With O(metric=requests), the load balancer and target group, as
        C(app/<alb-name>/<alb-id>/targetgroup/<tg-name>/<tg-id>).
    type: str
  target_value:
    description:
      - Value of the metric the policy keeps. Required with O(state=present).
    type: float
  scale_in_cooldown:
    description:
      - Seconds after a scale-in before another scale-in.
    type: int
    default: 300
  scale_out_cooldown:
    description:
      - Seconds after a scale-out before another scale-out.
    type: int
    default: 60
  disable_scale_in:
    description:
      - Never remove tasks (scale out only).
    type: bool
    default: false
  tags:
    description:
      - Tags given to the scalable target when it is registered (not compared afterwards).
    type: dict
notes:
  - Supports check mode and diff mode.
  - AWS refuses to register a scalable target for a service that does not exist; in check mode
    on a new deployment the module only reports that it would.
  - Needs C(application-autoscaling:DescribeScalableTargets), C(RegisterScalableTarget),
    C(DeregisterScalableTarget), C(DescribeScalingPolicies), C(PutScalingPolicy) and
    C(DeleteScalingPolicy), and the Application Auto Scaling service-linked role for ECS
    (AWS creates it on first use).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - MLOps platform team (!UNKNOWN)
"""

EXAMPLES = r"""
# Note: These examples do not set authentication details, see the AWS Guide for details.

- name: Keep the average CPU of the tracking service at 60 %, with 2 to 6 tasks
  mlops.mlflow_ecs.ecs_service_autoscaling:
    cluster: production-mlflow-cluster
    service: production-mlflow-tracking
    min_capacity: 2
    max_capacity: 6
    metric: cpu
    target_value: 60

- name: Scale on requests per task behind the load balancer
  mlops.mlflow_ecs.ecs_service_autoscaling:
    cluster: production-mlflow-cluster
    service: production-mlflow-tracking
    min_capacity: 2
    max_capacity: 6
    metric: requests
    # app/<alb-name>/<alb-id>/targetgroup/<tg-name>/<tg-id>
    resource_label: app/mlflow-alb/0123456789abcdef/targetgroup/mlflow-tg/0123456789abcdef
    target_value: 500

- name: Stop scaling the service
  mlops.mlflow_ecs.ecs_service_autoscaling:
    cluster: production-mlflow-cluster
    service: production-mlflow-tracking
    state: absent
"""

RETURN = r"""
scalable_target:
  description: The scalable target after the change; empty when there is none.
  returned: always
  type: dict
  contains:
    resource_id:
      description: Resource id of the service.
      type: str
      returned: when the target exists
      sample: service/production-mlflow-cluster/production-mlflow-tracking
    min_capacity:
      description: Fewest tasks.
      type: int
      returned: when the target exists
      sample: 2
    max_capacity:
      description: Most tasks.
      type: int
      returned: when the target exists
      sample: 6
scalable_target_registered:
  description:
    - Whether this run registered the scalable target or changed its range
      (RegisterScalableTarget). Application Auto Scaling then moves the service's desired count
      into the range when it lies outside (AWS API reference, RegisterScalableTarget).
    - Always false in check mode and with O(state=absent).
  returned: always
  type: bool
  sample: true
  version_added: 0.2.0
scaling_policy:
  description: The target-tracking policy after the change; empty when there is none.
  returned: always
  type: dict
  contains:
    policy_name:
      description: Name of the policy.
      type: str
      returned: when the policy exists
      sample: production-mlflow-tracking-target-tracking
    policy_arn:
      description: ARN of the policy.
      type: str
      returned: when the policy exists
    target_tracking_scaling_policy_configuration:
      description: The policy's configuration (target value, metric, cooldowns).
      type: dict
      returned: when the policy exists
"""

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.mlops.mlflow_ecs.plugins.module_utils.modules import (
    MlflowEcsAWSModule,
    run_state_module,
)

NAMESPACE = "ecs"
DIMENSION = "ecs:service:DesiredCount"
METRICS = {
    "cpu": "ECSServiceAverageCPUUtilization",
    "memory": "ECSServiceAverageMemoryUtilization",
    "requests": "ALBRequestCountPerTarget",
}


class AutoscalingError(Exception):
    """The scaling cannot be brought to the requested state; the message says why."""


def resource_id(cluster, service):
    return f"service/{cluster}/{service}"


def policy_name_of(params):
    return params.get("policy_name") or f"{params['service']}-target-tracking"


def validate_params(params):
    if params["state"] != "present":
        return
    for key in ("min_capacity", "max_capacity", "target_value"):
        if params.get(key) is None:
            raise AutoscalingError(f"{key} is required with state=present")
    if params["min_capacity"] < 0 or params["max_capacity"] < params["min_capacity"]:
        raise AutoscalingError(
            f"need 0 <= min_capacity <= max_capacity, got min_capacity={params['min_capacity']}"
            f" and max_capacity={params['max_capacity']}"
        )
    if params["target_value"] <= 0:
        raise AutoscalingError(f"target_value must be positive, got {params['target_value']}")
    if params.get("metric") == "requests" and not params.get("resource_label"):
        raise AutoscalingError(
            "metric=requests needs resource_label"
            " (app/<alb-name>/<alb-id>/targetgroup/<tg-name>/<tg-id>)"
        )


def policy_configuration(params):
    metric = {"PredefinedMetricType": METRICS[params.get("metric") or "cpu"]}
    if params.get("metric") == "requests":
        metric["ResourceLabel"] = params["resource_label"]
    return {
        "TargetValue": float(params["target_value"]),
        "PredefinedMetricSpecification": metric,
        "ScaleInCooldown": int(params.get("scale_in_cooldown") or 0),
        "ScaleOutCooldown": int(params.get("scale_out_cooldown") or 0),
        "DisableScaleIn": bool(params.get("disable_scale_in")),
    }


def configuration_matches(wanted, current):
    """The requested policy configuration is the current one (AWS may add keys or omit defaults)."""
    current = current or {}
    if float(current.get("TargetValue", -1)) != wanted["TargetValue"]:
        return False
    if (current.get("PredefinedMetricSpecification") or {}) != wanted[
        "PredefinedMetricSpecification"
    ]:
        return False
    for key, default in (
        ("ScaleInCooldown", 300),
        ("ScaleOutCooldown", 300),
        ("DisableScaleIn", False),
    ):
        if current.get(key, default) != wanted[key]:
            return False
    return True


@AWSRetry.jittered_backoff()
def describe_target(client, rid):
    targets = client.describe_scalable_targets(
        ServiceNamespace=NAMESPACE, ResourceIds=[rid], ScalableDimension=DIMENSION
    )["ScalableTargets"]
    return targets[0] if targets else None


@AWSRetry.jittered_backoff()
def describe_policy(client, rid, name):
    policies = client.describe_scaling_policies(
        ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION, PolicyNames=[name]
    )["ScalingPolicies"]
    return policies[0] if policies else None


@AWSRetry.jittered_backoff()
def register_target(client, rid, min_capacity, max_capacity, tags=None):
    params = dict(
        ServiceNamespace=NAMESPACE,
        ResourceId=rid,
        ScalableDimension=DIMENSION,
        MinCapacity=min_capacity,
        MaxCapacity=max_capacity,
    )
    if tags:
        params["Tags"] = dict(tags)
    client.register_scalable_target(**params)


@AWSRetry.jittered_backoff()
def put_policy(client, rid, name, configuration):
    client.put_scaling_policy(
        PolicyName=name,
        ServiceNamespace=NAMESPACE,
        ResourceId=rid,
        ScalableDimension=DIMENSION,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration=configuration,
    )


@AWSRetry.jittered_backoff()
def delete_policy(client, rid, name):
    client.delete_scaling_policy(
        PolicyName=name, ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION
    )


@AWSRetry.jittered_backoff()
def deregister_target(client, rid):
    client.deregister_scalable_target(
        ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION
    )


def _target_view(target):
    if not target:
        return {}
    return {
        "resource_id": target["ResourceId"],
        "min_capacity": target["MinCapacity"],
        "max_capacity": target["MaxCapacity"],
    }


def _policy_view(policy):
    if not policy:
        return {}
    view = {
        "policy_name": policy["PolicyName"],
        "policy_arn": policy.get("PolicyARN", ""),
        "policy_type": policy.get("PolicyType", ""),
    }
    view.update(
        camel_dict_to_snake_dict(
            {
                "TargetTrackingScalingPolicyConfiguration": policy.get(
                    "TargetTrackingScalingPolicyConfiguration", {}
                )
            }
        )
    )
    return view


def ensure_present(client, params, check_mode):
    rid = resource_id(params["cluster"], params["service"])
    name = policy_name_of(params)
    wanted = policy_configuration(params)
    target = describe_target(client, rid)
    policy = describe_policy(client, rid, name)
    target_after = {
        "resource_id": rid,
        "min_capacity": params["min_capacity"],
        "max_capacity": params["max_capacity"],
    }
    diff = {
        "before": {"scalable_target": _target_view(target), "scaling_policy": _policy_view(policy)},
        "after": {
            "scalable_target": target_after,
            "scaling_policy": {
                "policy_name": name,
                "target_tracking_scaling_policy_configuration": camel_dict_to_snake_dict(wanted),
            },
        },
    }
    target_changed = _target_view(target) != target_after
    policy_changed = policy is None or not configuration_matches(
        wanted, policy.get("TargetTrackingScalingPolicyConfiguration")
    )
    changed = target_changed or policy_changed
    if check_mode or not changed:
        return {
            "changed": changed,
            "scalable_target": _target_view(target),
            "scalable_target_registered": False,
            "scaling_policy": _policy_view(policy),
            "diff": diff,
        }
    if target_changed:
        register_target(
            client,
            rid,
            params["min_capacity"],
            params["max_capacity"],
            params.get("tags") if target is None else None,
        )
    if policy_changed:
        put_policy(client, rid, name, wanted)
    return {
        "changed": True,
        "scalable_target": _target_view(describe_target(client, rid)),
        "scalable_target_registered": target_changed,
        "scaling_policy": _policy_view(describe_policy(client, rid, name)),
        "diff": diff,
    }


def ensure_absent(client, params, check_mode):
    rid = resource_id(params["cluster"], params["service"])
    name = policy_name_of(params)
    target = describe_target(client, rid)
    policy = describe_policy(client, rid, name)
    diff = {
        "before": {"scalable_target": _target_view(target), "scaling_policy": _policy_view(policy)},
        "after": {"scalable_target": {}, "scaling_policy": {}},
    }
    if target is None and policy is None:
        return {
            "changed": False,
            "scalable_target": {},
            "scalable_target_registered": False,
            "scaling_policy": {},
            "diff": diff,
        }
    if not check_mode:
        if policy is not None:
            try:
                delete_policy(client, rid, name)
            except is_boto3_error_code("ObjectNotFoundException"):
                pass  # Removed meanwhile, for example with its target.
        if target is not None:
            try:
                deregister_target(client, rid)
            except is_boto3_error_code("ObjectNotFoundException"):
                pass
    return {
        "changed": True,
        "scalable_target": {},
        "scalable_target_registered": False,
        "scaling_policy": {},
        "diff": diff,
    }


def main():
    argument_spec = dict(
        cluster=dict(type="str", required=True),
        service=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        min_capacity=dict(type="int"),
        max_capacity=dict(type="int"),
        policy_name=dict(type="str"),
        metric=dict(type="str", choices=["cpu", "memory", "requests"], default="cpu"),
        resource_label=dict(type="str"),
        target_value=dict(type="float"),
        scale_in_cooldown=dict(type="int", default=300),
        scale_out_cooldown=dict(type="int", default=60),
        disable_scale_in=dict(type="bool", default=False),
        tags=dict(type="dict"),
    )
    module = MlflowEcsAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    service, state = module.params["service"], module.params["state"]

    run_state_module(
        module,
        "application-autoscaling",
        validate_params,
        ensure_present,
        ensure_absent,
        AutoscalingError,
        failure=f"Failed to ensure the autoscaling of ECS service {service} is {state}",
    )


if __name__ == "__main__":
    main()
