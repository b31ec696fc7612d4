#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the mlops.mlflow_ecs collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecs_service
version_added: 0.1.0
short_description: Create, update or delete an Amazon ECS service and wait until it is stable
description:
  - Creates an Amazon ECS service, or updates an existing one where it differs from the request
    (task definition, desired count, network, load balancers, deployment settings, tags), then
    waits until the service is stable; or scales it to zero, deletes it and waits until it is gone.
  - An update to another task definition starts a rolling deployment; nothing else is redeployed
    unless O(force_new_deployment=true).
  - Unlike M(community.aws.ecs_service), it updates tags, network configuration and deployment
    settings of an existing service, sets ECS managed tags, waits for stability after a create
    or an update with a clear error, and reports a diff.
options:
  name:
    description:
      - Name of the service.
    type: str
    required: true
  cluster:
    description:
      - Name or ARN of the cluster of the service.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the service, V(absent) deletes it (after scaling it to 0).
    type: str
    choices: [present, absent]
    default: present
  task_definition:
    description:
      - Task definition to run, as C(family:revision) or an ARN. Required with O(state=present).
    type: str
  desired_count:
    description:
      - Number of tasks to keep running. Required to create a service.
    type: int
  keep_desired_count:
    description:
      - Leave the desired count of an existing service as it is, for example when Application
        Auto Scaling manages it. O(desired_count) is then used only to create the service.
    type: bool
    default: false
  launch_type:
    description:
      - Launch type of the tasks. Mutually exclusive with O(capacity_provider_strategy).
      - The launch type of an existing service cannot be changed; the module fails if it differs.
    type: str
    choices: [FARGATE, EC2, EXTERNAL]
  capacity_provider_strategy:
    description:
      - Capacity provider strategy of the service. Mutually exclusive with O(launch_type).
      - When neither is set, the cluster's default strategy applies.
      - An existing service on a launch type moves to the strategy, and one on a strategy back to
        O(launch_type) (an empty strategy, as C(UpdateService) takes it), with a new deployment
        that moves the running tasks (a strategy alone applies only to tasks started later).
    type: list
    elements: dict
    suboptions:
      capacity_provider:
        description: Name of the capacity provider.
        type: str
        required: true
      weight:
        description: Relative share of the tasks that use this provider.
        type: int
        default: 0
      base:
        description: Minimum number of tasks that use this provider.
        type: int
        default: 0
  platform_version:
    description:
      - Fargate platform version, for example V(LATEST).
    type: str
  network_configuration:
    description:
      - The C(awsvpc) network of the tasks.
    type: dict
    suboptions:
      subnets:
        description: Subnet ids. Tasks are spread over the Availability Zones of these subnets.
        type: list
        elements: str
        required: true
      security_groups:
        description: Security group ids.
        type: list
        elements: str
        default: []
      assign_public_ip:
        description: Give each task a public IP address (needed in public subnets without a NAT).
        type: bool
        default: false
  load_balancers:
    description:
      - Target groups the tasks are registered in.
    type: list
    elements: dict
    default: []
    suboptions:
      target_group_arn:
        description: ARN of the target group.
        type: str
        required: true
      container_name:
        description: Name of the container that receives the traffic.
        type: str
        required: true
      container_port:
        description: Port of that container.
        type: int
        required: true
  health_check_grace_period_seconds:
    description:
      - Seconds during which the service ignores failing load balancer health checks of a new task.
    type: int
  deployment_configuration:
    description:
      - How deployments replace tasks.
    type: dict
    suboptions:
      minimum_healthy_percent:
        description:
          - Lower limit of running tasks during a deployment, in percent of the desired count.
        type: int
      maximum_percent:
        description:
          - Upper limit of running tasks during a deployment, in percent of the desired count.
        type: int
      deployment_circuit_breaker:
        description: Stop a deployment whose tasks fail to become healthy, and optionally roll back.
        type: dict
        suboptions:
          enable:
            description: Turn the circuit breaker on.
            type: bool
            default: false
          rollback:
            description: Roll back to the last deployment that completed.
            type: bool
            default: false
  propagate_tags:
    description:
      - Copy the tags of the service or of the task definition to the tasks.
    type: str
    choices: [SERVICE, TASK_DEFINITION, NONE]
  enable_ecs_managed_tags:
    description:
      - Tag the tasks with C(aws:ecs:clusterName) and C(aws:ecs:serviceName).
    type: bool
  tags:
    description:
      - Tags of the service. When not set, tags are left alone.
    type: dict
  purge_tags:
    description:
      - Remove tags that are not in O(tags).
    type: bool
    default: true
  force_new_deployment:
    description:
      - Start a new deployment even when nothing changed (for example to pull a moved image tag).
        Always reports a change.
    type: bool
    default: false
  wait:
    description:
      - After a create or an update, wait until the service is stable (one deployment, as many
        running tasks as desired), as the C(services_stable) waiter does; fail early when the
        deployment fails (circuit breaker).
      - With O(state=absent), wait until the service is C(INACTIVE).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait, see O(wait).
    type: int
    default: 600
  wait_delay:
    description:
      - Seconds between two checks while waiting.
    type: int
    default: 15
notes:
  - Supports check mode and diff mode. In check mode, a missing cluster counts as a service to
    create (the cluster may be created earlier in the same run).
  - Properties that DescribeServices does not report (some emulators leave out
    C(deploymentConfiguration), C(capacityProviderStrategy) and the health check grace period)
    are compared only when reported.
  - Needs C(ecs:DescribeServices), C(ecs:CreateService), C(ecs:UpdateService),
    C(ecs:DeleteService), C(ecs:TagResource), C(ecs:UntagResource).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - MLOps platform team (!UNKNOWN)
"""

EXAMPLES = r"""
# Note: These examples do not set authentication details, see the AWS Guide for details.

- name: Ensure the tracking service runs the latest task definition
  mlops.mlflow_ecs.ecs_service:
    name: production-mlflow-tracking
    cluster: production-mlflow-cluster
    task_definition: production-mlflow-tracking:3
    desired_count: 1
    launch_type: FARGATE
    platform_version: LATEST
    network_configuration:
      subnets: [subnet-0123456789abcdef0, subnet-0123456789abcdef1]
      security_groups: [sg-0123456789abcdef0]
      assign_public_ip: true
    load_balancers:
      - target_group_arn: "{{ load_balancer_target_group_arn }}"
        container_name: mlflow
        container_port: 5000
    health_check_grace_period_seconds: 60
    deployment_configuration:
      minimum_healthy_percent: 100
      maximum_percent: 200
      deployment_circuit_breaker:
        enable: true
        rollback: true
    propagate_tags: SERVICE
    enable_ecs_managed_tags: true
    tags:
      Environment: production
    wait_timeout: 600

- name: Delete the service
  mlops.mlflow_ecs.ecs_service:
    name: production-mlflow-tracking
    cluster: production-mlflow-cluster
    state: absent
"""

RETURN = r"""
service:
  description:
    - The service after the change as DescribeServices returns it, keys in snake_case (events
      left out; each deployment trimmed to the keys below). The keys the ecs role reads are
      listed.
    - Empty when the service does not exist, after O(state=absent), or in check mode when it
      would be created.
  returned: always
  type: dict
  contains:
    service_name:
      description: Name of the service.
      type: str
      returned: when the service exists
      sample: production-mlflow-tracking
    service_arn:
      description: ARN of the service.
      type: str
      returned: when the service exists
      sample: arn:aws:ecs:us-east-1:123456789012:service/production-mlflow-cluster/mlflow
    task_definition:
      description: Task definition the service runs.
      type: str
      returned: when the service exists
      sample: arn:aws:ecs:us-east-1:123456789012:task-definition/production-mlflow-tracking:3
    desired_count:
      description: Desired number of tasks.
      type: int
      returned: when the service exists
      sample: 1
    running_count:
      description: Running tasks.
      type: int
      returned: when the service exists
      sample: 1
    status:
      description: C(ACTIVE), C(DRAINING) or C(INACTIVE).
      type: str
      returned: when the service exists
      sample: ACTIVE
    deployments:
      description: The service's deployments (the primary and any still active).
      type: list
      elements: dict
      returned: when the service exists
      contains:
        id:
          description: Id of the deployment.
          type: str
        status:
          description: C(PRIMARY), C(ACTIVE) or C(INACTIVE).
          type: str
        task_definition:
          description: Task definition the deployment runs.
          type: str
        desired_count:
          description: Tasks the deployment wants.
          type: int
        running_count:
          description: Tasks of the deployment running.
          type: int
        rollout_state:
          description: C(IN_PROGRESS), C(COMPLETED) or C(FAILED).
          type: str
    tags:
      description: Tags of the service.
      type: dict
      returned: when the service exists
      sample: {"Environment": "production"}
"""

import time

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
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


class EcsServiceError(Exception):
    """The service cannot be brought to the requested state; the message says why."""


class ClusterNotFound(Exception):
    """The cluster of the service does not exist."""


@AWSRetry.jittered_backoff()
def _describe_services(client, cluster, name):
    return client.describe_services(cluster=cluster, services=[name], include=["TAGS"])


def describe_service(client, cluster, name):
    """The service, or None when it does not exist or is INACTIVE; ClusterNotFound if no cluster."""
    try:
        response = _describe_services(client, cluster, name)
    except is_boto3_error_code("ClusterNotFoundException") as e:
        raise ClusterNotFound(cluster) from e
    for service in response.get("services", []):
        if service.get("serviceName") == name and service.get("status") != "INACTIVE":
            return service
    return None


@AWSRetry.jittered_backoff()
def create_service(client, request):
    return client.create_service(**request)["service"]


@AWSRetry.jittered_backoff()
def update_service(client, request):
    return client.update_service(**request)["service"]


@AWSRetry.jittered_backoff()
def delete_service(client, cluster, name):
    client.delete_service(cluster=cluster, service=name)


@AWSRetry.jittered_backoff()
def tag_service(client, arn, tags):
    client.tag_resource(resourceArn=arn, tags=ansible_dict_to_boto3_tag_list(tags, "key", "value"))


@AWSRetry.jittered_backoff()
def untag_service(client, arn, keys):
    client.untag_resource(resourceArn=arn, tagKeys=list(keys))


def task_definition_ref(value):
    """``family:revision`` of a task definition given as an ARN or as ``family:revision``."""
    return (value or "").rsplit("/", 1)[-1]


def _strategy(items, snake):
    key = "capacity_provider" if snake else "capacityProvider"
    return sorted(
        (
            {
                "capacityProvider": item[key],
                "weight": int(item.get("weight") or 0),
                "base": int(item.get("base") or 0),
            }
            for item in items or []
        ),
        key=lambda item: item["capacityProvider"],
    )


def _network(awsvpc):
    return {
        "subnets": sorted(awsvpc.get("subnets") or []),
        "securityGroups": sorted(awsvpc.get("securityGroups") or []),
        "assignPublicIp": awsvpc.get("assignPublicIp") or "DISABLED",
    }


def _load_balancers(items):
    return sorted(
        (
            {
                "targetGroupArn": lb.get("targetGroupArn", ""),
                "containerName": lb.get("containerName", ""),
                "containerPort": int(lb.get("containerPort") or 0),
            }
            for lb in items or []
        ),
        key=lambda lb: (lb["targetGroupArn"], lb["containerName"], lb["containerPort"]),
    )


def desired_state(params):
    """The requested service in the API's shape; keys are left out when the option is unset."""
    wanted = {}
    if params.get("task_definition"):
        wanted["taskDefinition"] = task_definition_ref(params["task_definition"])
    if params.get("desired_count") is not None:
        wanted["desiredCount"] = params["desired_count"]
    if params.get("launch_type"):
        wanted["launchType"] = params["launch_type"]
    if params.get("capacity_provider_strategy"):
        wanted["capacityProviderStrategy"] = _strategy(params["capacity_provider_strategy"], True)
    if params.get("platform_version"):
        wanted["platformVersion"] = params["platform_version"]
    network = params.get("network_configuration")
    if network:
        wanted["networkConfiguration"] = _network(
            {
                "subnets": network.get("subnets"),
                "securityGroups": network.get("security_groups"),
                "assignPublicIp": "ENABLED" if network.get("assign_public_ip") else "DISABLED",
            }
        )
    wanted["loadBalancers"] = _load_balancers(
        {
            "targetGroupArn": lb["target_group_arn"],
            "containerName": lb["container_name"],
            "containerPort": lb["container_port"],
        }
        for lb in params.get("load_balancers") or []
    )
    if params.get("health_check_grace_period_seconds") is not None:
        wanted["healthCheckGracePeriodSeconds"] = params["health_check_grace_period_seconds"]
    deployment = params.get("deployment_configuration")
    if deployment:
        config = {}
        if deployment.get("minimum_healthy_percent") is not None:
            config["minimumHealthyPercent"] = deployment["minimum_healthy_percent"]
        if deployment.get("maximum_percent") is not None:
            config["maximumPercent"] = deployment["maximum_percent"]
        breaker = deployment.get("deployment_circuit_breaker")
        if breaker:
            config["deploymentCircuitBreaker"] = {
                "enable": bool(breaker.get("enable")),
                "rollback": bool(breaker.get("rollback")),
            }
        if config:
            wanted["deploymentConfiguration"] = config
    if params.get("propagate_tags"):
        wanted["propagateTags"] = params["propagate_tags"]
    if params.get("enable_ecs_managed_tags") is not None:
        wanted["enableECSManagedTags"] = params["enable_ecs_managed_tags"]
    return wanted


def current_state(service):
    """The managed properties of a described service, in the shape of desired_state()."""
    current = {
        "taskDefinition": task_definition_ref(service.get("taskDefinition")),
        "desiredCount": service.get("desiredCount", 0),
        "loadBalancers": _load_balancers(service.get("loadBalancers")),
        "propagateTags": service.get("propagateTags") or "NONE",
    }
    if service.get("launchType"):
        current["launchType"] = service["launchType"]
    if service.get("capacityProviderStrategy"):
        current["capacityProviderStrategy"] = _strategy(service["capacityProviderStrategy"], False)
    if service.get("platformVersion"):
        current["platformVersion"] = service["platformVersion"]
    awsvpc = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if awsvpc:
        current["networkConfiguration"] = _network(awsvpc)
    if "healthCheckGracePeriodSeconds" in service:
        current["healthCheckGracePeriodSeconds"] = service["healthCheckGracePeriodSeconds"]
    if service.get("deploymentConfiguration"):
        current["deploymentConfiguration"] = service["deploymentConfiguration"]
    if "enableECSManagedTags" in service:
        current["enableECSManagedTags"] = service["enableECSManagedTags"]
    return current


# Properties that DescribeServices may leave out (moto does): compared only when reported.
_COMPARED_WHEN_REPORTED = (
    "platformVersion",
    "healthCheckGracePeriodSeconds",
    "deploymentConfiguration",
    "enableECSManagedTags",
)


def _deployment_config_matches(wanted, current):
    """The requested deployment settings are those of the service (other keys are ignored)."""
    for key, value in wanted.items():
        if key == "deploymentCircuitBreaker":
            reported = current.get(key) or {}
            if any(bool(reported.get(k)) != v for k, v in value.items()):
                return False
        elif current.get(key) != value:
            return False
    return True


def plan_update(wanted, current, keep_desired_count=False):
    """The UpdateService parameters that bring the service to the request (empty: nothing)."""
    if (
        wanted.get("launchType")
        and current.get("launchType") not in (None, wanted["launchType"])
        and not current.get("capacityProviderStrategy")
    ):
        raise EcsServiceError(
            f"the service runs with launch type {current['launchType']} and cannot be switched"
            f" to {wanted['launchType']}; delete the service first"
        )
    update = {}
    # Back from a capacity provider strategy to the launch type: AWS takes an empty strategy
    # (UpdateService, capacityProviderStrategy). A strategy of the launch type's own provider
    # alone (FARGATE for FARGATE) runs the tasks as the launch type does: nothing to change.
    reported_strategy = current.get("capacityProviderStrategy") or []
    if wanted.get("launchType") and any(
        item["capacityProvider"] != wanted["launchType"] for item in reported_strategy
    ):
        update["capacityProviderStrategy"] = []
    for key, value in wanted.items():
        if key == "launchType":
            continue
        if key == "desiredCount" and keep_desired_count:
            continue
        # A service on a launch type (or back from a strategy) reports none: it moves to the one
        # requested.
        if key == "capacityProviderStrategy" and key not in current:
            update[key] = value
            continue
        if key in _COMPARED_WHEN_REPORTED and key not in current:
            continue
        if key == "deploymentConfiguration":
            if not _deployment_config_matches(value, current[key]):
                update[key] = value
            continue
        if key == "networkConfiguration":
            if current.get(key) != value:
                update[key] = {"awsvpcConfiguration": value}
            continue
        if key == "loadBalancers" and not value and not current.get(key):
            continue
        if current.get(key) != value:
            update[key] = value
    # A new strategy applies to the tasks started after it (it "doesn't trigger a new service
    # deployment"): roll the running tasks onto it.
    if "capacityProviderStrategy" in update:
        update["forceNewDeployment"] = True
    return update


def create_request(params, wanted):
    request = {
        "cluster": params["cluster"],
        "serviceName": params["name"],
        "taskDefinition": wanted["taskDefinition"],
        "desiredCount": wanted.get("desiredCount", 0),
    }
    for key, value in wanted.items():
        if key in ("taskDefinition", "desiredCount"):
            continue
        if key == "networkConfiguration":
            request[key] = {"awsvpcConfiguration": value}
        elif key == "loadBalancers" and not value:
            continue
        else:
            request[key] = value
    if params.get("tags"):
        request["tags"] = ansible_dict_to_boto3_tag_list(params["tags"], "key", "value")
    return request


def is_stable(service):
    deployments = service.get("deployments") or []
    return (
        service.get("status") == "ACTIVE"
        and len(deployments) == 1
        and service.get("runningCount") == service.get("desiredCount")
    )


def _progress(service):
    deployments = service.get("deployments") or []
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), {})
    text = (
        f"{service.get('runningCount', 0)} of {service.get('desiredCount', 0)} tasks running,"
        f" {service.get('pendingCount', 0)} pending, {len(deployments)} deployment(s)"
    )
    if primary.get("rolloutState"):
        text += f", rollout {primary['rolloutState']}"
        if primary.get("rolloutStateReason"):
            text += f" ({primary['rolloutStateReason']})"
    events = [e.get("message", "") for e in (service.get("events") or [])[:3]]
    if events:
        text += "; latest events: " + " | ".join(events)
    return text


def wait_until_stable(
    client, cluster, name, timeout, delay, sleep=time.sleep, clock=time.monotonic
):
    """Poll until the service is stable; raise EcsServiceError on failure or timeout."""
    deadline = clock() + timeout
    while True:
        service = describe_service(client, cluster, name)
        if service is None:
            raise EcsServiceError(
                f"ECS service {name} in cluster {cluster} disappeared while waiting"
            )
        primary = next(
            (d for d in service.get("deployments") or [] if d.get("status") == "PRIMARY"), {}
        )
        if primary.get("rolloutState") == "FAILED":
            raise EcsServiceError(
                f"the deployment of ECS service {name} in cluster {cluster} failed: "
                + _progress(service)
            )
        if is_stable(service):
            return service
        if clock() >= deadline:
            raise EcsServiceError(
                f"ECS service {name} in cluster {cluster} did not become stable within"
                f" {timeout} seconds: {_progress(service)}. Check the service events and the"
                " task logs, or raise the wait timeout."
            )
        sleep(max(0, min(delay, deadline - clock())))


def wait_until_inactive(
    client, cluster, name, timeout, delay, sleep=time.sleep, clock=time.monotonic
):
    deadline = clock() + timeout
    while True:
        try:
            service = describe_service(client, cluster, name)
        except ClusterNotFound:
            return
        if service is None:
            return
        if clock() >= deadline:
            raise EcsServiceError(
                f"ECS service {name} in cluster {cluster} is still {service.get('status')} after"
                f" {timeout} seconds ({_progress(service)})"
            )
        sleep(max(0, min(delay, deadline - clock())))


def to_result(service):
    if not service:
        return {}
    data = {k: v for k, v in service.items() if k not in ("events", "tags")}
    data["deployments"] = [
        {
            k: v
            for k, v in d.items()
            if k
            in ("id", "status", "taskDefinition", "desiredCount", "runningCount", "rolloutState")
        }
        for d in service.get("deployments") or []
    ]
    result = camel_dict_to_snake_dict(data, ignore_list=["tags"])
    result["tags"] = boto3_tag_list_to_ansible_dict(service.get("tags") or [], "key", "value")
    for key in ("created_at",):
        if key in result and hasattr(result[key], "isoformat"):
            result[key] = result[key].isoformat()
    return result


def _tags_of(service):
    return boto3_tag_list_to_ansible_dict((service or {}).get("tags") or [], "key", "value")


def validate_params(params):
    if params["state"] != "present":
        return
    if not params.get("task_definition"):
        raise EcsServiceError("task_definition is required with state=present")
    if params.get("desired_count") is not None and params["desired_count"] < 0:
        raise EcsServiceError("desired_count must not be negative")
    if params.get("wait_timeout", 0) < 0:
        raise EcsServiceError("wait_timeout must not be negative")


def ensure_present(client, params, check_mode):
    cluster, name = params["cluster"], params["name"]
    wanted = desired_state(params)
    try:
        existing = describe_service(client, cluster, name)
    except ClusterNotFound as e:
        if not check_mode:
            raise EcsServiceError(f"ECS cluster {cluster} of service {name} does not exist") from e
        existing = None
    if existing is not None and existing.get("status") == "DRAINING":
        raise EcsServiceError(
            f"ECS service {name} in cluster {cluster} is being deleted (DRAINING); run again"
            " when it is INACTIVE"
        )

    if existing is None:
        if wanted.get("desiredCount") is None:
            raise EcsServiceError("desired_count is required to create a service")
        diff = {"before": {}, "after": {**wanted, "tags": params.get("tags") or {}}}
        if check_mode:
            return {"changed": True, "service": {}, "diff": diff}
        service = create_service(client, create_request(params, wanted))
        if params.get("wait"):
            service = wait_until_stable(
                client, cluster, name, params["wait_timeout"], params["wait_delay"]
            )
        else:
            service = describe_service(client, cluster, name) or service
        return {"changed": True, "service": to_result(service), "diff": diff}

    current = current_state(existing)
    update = plan_update(wanted, current, params.get("keep_desired_count"))
    if params.get("force_new_deployment"):
        update["forceNewDeployment"] = True
    tags_before = _tags_of(existing)
    add, remove = {}, []
    if params.get("tags") is not None:
        add, remove = compare_aws_tags(tags_before, params["tags"], params.get("purge_tags", True))
    tags_after = {k: v for k, v in {**tags_before, **add}.items() if k not in remove}
    after = dict(current)
    for key, value in update.items():
        if key == "networkConfiguration":
            after[key] = value["awsvpcConfiguration"]
        elif key != "forceNewDeployment":
            after[key] = value
    diff = {"before": {**current, "tags": tags_before}, "after": {**after, "tags": tags_after}}
    changed = bool(update or add or remove)
    if not changed or check_mode:
        return {"changed": changed, "service": to_result(existing), "diff": diff}

    if update:
        update_service(client, {"cluster": cluster, "service": name, **update})
    if remove:
        untag_service(client, existing["serviceArn"], remove)
    if add:
        tag_service(client, existing["serviceArn"], add)
    if update and params.get("wait"):
        service = wait_until_stable(
            client, cluster, name, params["wait_timeout"], params["wait_delay"]
        )
    else:
        service = describe_service(client, cluster, name)
    return {"changed": True, "service": to_result(service), "diff": diff}


def ensure_absent(client, params, check_mode):
    cluster, name = params["cluster"], params["name"]
    try:
        existing = describe_service(client, cluster, name)
    except ClusterNotFound:
        existing = None
    if existing is None:
        return {"changed": False, "service": {}, "diff": {"before": {}, "after": {}}}
    diff = {"before": {**current_state(existing), "tags": _tags_of(existing)}, "after": {}}
    if check_mode:
        return {"changed": True, "service": {}, "diff": diff}
    if existing.get("status") == "ACTIVE":
        if existing.get("desiredCount", 0) > 0:
            update_service(client, {"cluster": cluster, "service": name, "desiredCount": 0})
        delete_service(client, cluster, name)
    if params.get("wait"):
        wait_until_inactive(client, cluster, name, params["wait_timeout"], params["wait_delay"])
    return {"changed": True, "service": {}, "diff": diff}


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        cluster=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        task_definition=dict(type="str"),
        desired_count=dict(type="int"),
        keep_desired_count=dict(type="bool", default=False),
        launch_type=dict(type="str", choices=["FARGATE", "EC2", "EXTERNAL"]),
        capacity_provider_strategy=dict(
            type="list",
            elements="dict",
            options=dict(
                capacity_provider=dict(type="str", required=True),
                weight=dict(type="int", default=0),
                base=dict(type="int", default=0),
            ),
        ),
        platform_version=dict(type="str"),
        network_configuration=dict(
            type="dict",
            options=dict(
                subnets=dict(type="list", elements="str", required=True),
                security_groups=dict(type="list", elements="str", default=[]),
                assign_public_ip=dict(type="bool", default=False),
            ),
        ),
        load_balancers=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(
                target_group_arn=dict(type="str", required=True),
                container_name=dict(type="str", required=True),
                container_port=dict(type="int", required=True),
            ),
        ),
        health_check_grace_period_seconds=dict(type="int"),
        deployment_configuration=dict(
            type="dict",
            options=dict(
                minimum_healthy_percent=dict(type="int"),
                maximum_percent=dict(type="int"),
                deployment_circuit_breaker=dict(
                    type="dict",
                    options=dict(
                        enable=dict(type="bool", default=False),
                        rollback=dict(type="bool", default=False),
                    ),
                ),
            ),
        ),
        propagate_tags=dict(type="str", choices=["SERVICE", "TASK_DEFINITION", "NONE"]),
        enable_ecs_managed_tags=dict(type="bool"),
        tags=dict(type="dict"),
        purge_tags=dict(type="bool", default=True),
        force_new_deployment=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
        wait_delay=dict(type="int", default=15),
    )
    module = MlflowEcsAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[("launch_type", "capacity_provider_strategy")],
    )
    name, state = module.params["name"], module.params["state"]

    run_state_module(
        module,
        "ecs",
        validate_params,
        ensure_present,
        ensure_absent,
        EcsServiceError,
        failure=f"Failed to ensure ECS service {name} is {state}",
    )


if __name__ == "__main__":
    main()
