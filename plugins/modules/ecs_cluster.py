#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the mlops.mlflow_ecs collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecs_cluster
version_added: 0.1.0
short_description: Manage an Amazon ECS cluster, its capacity providers, settings and tags
description:
  - Creates an Amazon ECS cluster, or brings an existing one to the requested capacity providers,
    default capacity provider strategy, Container Insights setting and tags; or deletes it.
  - Unlike M(community.aws.ecs_cluster), it manages the cluster's tags and its
    C(containerInsights) setting, and reports a diff.
options:
  name:
    description:
      - Name of the cluster.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the cluster, V(absent) deletes it.
      - AWS refuses to delete a cluster that still has active services or running tasks; the
        module retries for a while (tasks of a deleted service take time to stop), then fails.
    type: str
    choices: [present, absent]
    default: present
  capacity_providers:
    description:
      - Capacity providers the cluster may use, for example V(FARGATE) and V(FARGATE_SPOT).
      - When not set, the capacity providers of an existing cluster are left alone.
    type: list
    elements: str
  default_capacity_provider_strategy:
    description:
      - Default capacity provider strategy for tasks and services that name neither a launch
        type nor a strategy. Every provider must be in O(capacity_providers).
      - When not set, the strategy of an existing cluster is left alone.
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
  container_insights:
    description:
      - The cluster's C(containerInsights) setting. V(enabled) and V(enhanced) publish CloudWatch
        Container Insights metrics, which are billed.
      - When not set, the setting is left as it is (new clusters take the account default).
    type: str
    choices: [enabled, enhanced, disabled]
  tags:
    description:
      - Tags of the cluster.
      - When not set, the tags are left alone.
    type: dict
  purge_tags:
    description:
      - Remove tags that are not in O(tags).
    type: bool
    default: true
notes:
  - Supports check mode and diff mode.
  - Needs C(ecs:DescribeClusters), C(ecs:CreateCluster), C(ecs:PutClusterCapacityProviders),
    C(ecs:UpdateCluster), C(ecs:TagResource), C(ecs:UntagResource) and C(ecs:DeleteCluster).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - MLOps platform team (!UNKNOWN)
"""

EXAMPLES = r"""
# Note: These examples do not set authentication details, see the AWS Guide for details.

- name: Ensure a Fargate cluster exists, Container Insights off
  mlops.mlflow_ecs.ecs_cluster:
    name: production-mlflow-cluster
    capacity_providers: [FARGATE, FARGATE_SPOT]
    default_capacity_provider_strategy:
      - capacity_provider: FARGATE
        weight: 1
    container_insights: disabled
    tags:
      Environment: production
      Name: production-mlflow-cluster

- name: Delete the cluster
  mlops.mlflow_ecs.ecs_cluster:
    name: production-mlflow-cluster
    state: absent
"""

RETURN = r"""
cluster:
  description:
    - The cluster after the change.
    - Empty when the cluster does not exist, after O(state=absent), or in check mode when the
      cluster would be created.
  returned: always
  type: dict
  contains:
    cluster_name:
      description: Name of the cluster.
      type: str
      returned: when the cluster exists
      sample: production-mlflow-cluster
    cluster_arn:
      description: ARN of the cluster.
      type: str
      returned: when the cluster exists
      sample: arn:aws:ecs:us-east-1:123456789012:cluster/production-mlflow-cluster
    status:
      description: Status of the cluster.
      type: str
      returned: when the cluster exists
      sample: ACTIVE
    capacity_providers:
      description: Capacity providers of the cluster.
      type: list
      elements: str
      returned: when the cluster exists
      sample: [FARGATE, FARGATE_SPOT]
    default_capacity_provider_strategy:
      description: Default capacity provider strategy.
      type: list
      elements: dict
      returned: when the cluster exists
      sample: [{"capacity_provider": "FARGATE", "weight": 1, "base": 0}]
    container_insights:
      description: The C(containerInsights) setting, empty when AWS does not report it.
      type: str
      returned: when the cluster exists
      sample: disabled
    tags:
      description: Tags of the cluster.
      type: dict
      returned: when the cluster exists
      sample: {"Environment": "production"}
"""

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


class EcsClusterError(Exception):
    """The cluster cannot be brought to the requested state; the message says why."""


# Tasks of a service that was just deleted keep a cluster busy until they have stopped.
_BUSY_CLUSTER_CODES = ["ClusterContainsTasksException", "ClusterContainsServicesException"]


@AWSRetry.jittered_backoff()
def describe_cluster(client, name):
    """The cluster as DescribeClusters reports it (settings and tags included), or None."""
    response = client.describe_clusters(clusters=[name], include=["SETTINGS", "TAGS"])
    for cluster in response.get("clusters", []):
        if cluster["clusterName"] == name and cluster.get("status") != "INACTIVE":
            return cluster
    return None


@AWSRetry.jittered_backoff()
def create_cluster(client, **params):
    return client.create_cluster(**params)["cluster"]


@AWSRetry.jittered_backoff()
def put_capacity_providers(client, name, providers, strategy):
    return client.put_cluster_capacity_providers(
        cluster=name, capacityProviders=providers, defaultCapacityProviderStrategy=strategy
    )["cluster"]


@AWSRetry.jittered_backoff()
def update_settings(client, name, container_insights):
    return client.update_cluster(
        cluster=name, settings=[{"name": "containerInsights", "value": container_insights}]
    )["cluster"]


@AWSRetry.jittered_backoff()
def tag_cluster(client, arn, tags):
    client.tag_resource(resourceArn=arn, tags=ansible_dict_to_boto3_tag_list(tags, "key", "value"))


@AWSRetry.jittered_backoff()
def untag_cluster(client, arn, keys):
    client.untag_resource(resourceArn=arn, tagKeys=list(keys))


@AWSRetry.jittered_backoff(retries=12, catch_extra_error_codes=_BUSY_CLUSTER_CODES)
def delete_cluster(client, name):
    client.delete_cluster(cluster=name)


def strategy_to_api(strategy):
    """The requested strategy (snake_case options) in the API's shape, in a stable order."""
    return sorted(
        (
            {
                "capacityProvider": item["capacity_provider"],
                "weight": int(item.get("weight") or 0),
                "base": int(item.get("base") or 0),
            }
            for item in strategy or []
        ),
        key=lambda item: item["capacityProvider"],
    )


def normalize_strategy(strategy):
    """A strategy as AWS reports it (base and weight may be omitted when 0), sorted."""
    return sorted(
        (
            {
                "capacityProvider": item["capacityProvider"],
                "weight": int(item.get("weight") or 0),
                "base": int(item.get("base") or 0),
            }
            for item in strategy or []
        ),
        key=lambda item: item["capacityProvider"],
    )


def container_insights_of(cluster):
    for setting in cluster.get("settings") or []:
        if setting.get("name") == "containerInsights":
            return setting.get("value") or ""
    return ""


def cluster_view(cluster):
    """The managed properties of a described cluster, for comparison, diff and return."""
    if not cluster:
        return {}
    return {
        "cluster_name": cluster["clusterName"],
        "cluster_arn": cluster["clusterArn"],
        "status": cluster.get("status", ""),
        "capacity_providers": sorted(cluster.get("capacityProviders") or []),
        "default_capacity_provider_strategy": [
            {"capacity_provider": s["capacityProvider"], "weight": s["weight"], "base": s["base"]}
            for s in normalize_strategy(cluster.get("defaultCapacityProviderStrategy"))
        ],
        "container_insights": container_insights_of(cluster),
        "tags": boto3_tag_list_to_ansible_dict(cluster.get("tags") or [], "key", "value"),
    }


def validate_params(params):
    strategy = params.get("default_capacity_provider_strategy") or []
    providers = params.get("capacity_providers")
    if providers is not None:
        missing = [
            s["capacity_provider"] for s in strategy if s["capacity_provider"] not in providers
        ]
        if missing:
            raise EcsClusterError(
                "default_capacity_provider_strategy names capacity providers that are not in"
                f" capacity_providers: {', '.join(missing)}"
            )
    names = [s["capacity_provider"] for s in strategy]
    if len(set(names)) != len(names):
        raise EcsClusterError("default_capacity_provider_strategy names a capacity provider twice")


def desired_view(params, existing_view):
    """What the cluster should look like: the request, with unset options taken from AWS."""
    before = existing_view or {}
    after = {
        "cluster_name": params["name"],
        "capacity_providers": before.get("capacity_providers", []),
        "default_capacity_provider_strategy": before.get("default_capacity_provider_strategy", []),
        "container_insights": before.get("container_insights", ""),
        "tags": dict(before.get("tags", {})),
    }
    if params.get("capacity_providers") is not None:
        after["capacity_providers"] = sorted(params["capacity_providers"])
    if params.get("default_capacity_provider_strategy") is not None:
        after["default_capacity_provider_strategy"] = [
            {"capacity_provider": s["capacityProvider"], "weight": s["weight"], "base": s["base"]}
            for s in strategy_to_api(params["default_capacity_provider_strategy"])
        ]
    if params.get("container_insights"):
        after["container_insights"] = params["container_insights"]
    if params.get("tags") is not None:
        add, remove = compare_aws_tags(
            after["tags"], params["tags"], params.get("purge_tags", True)
        )
        after["tags"].update(add)
        for key in remove:
            after["tags"].pop(key, None)
    return after


def _comparable(view):
    return {k: v for k, v in view.items() if k not in ("cluster_arn", "status")}


def ensure_present(client, params, check_mode):
    name = params["name"]
    existing = describe_cluster(client, name)
    before = cluster_view(existing)
    after = desired_view(params, before)
    diff = {"before": _comparable(before), "after": _comparable(after)}

    if existing is None:
        if check_mode:
            return {"changed": True, "cluster": {}, "diff": diff}
        request = {"clusterName": name}
        if params.get("capacity_providers") is not None:
            request["capacityProviders"] = params["capacity_providers"]
        if params.get("default_capacity_provider_strategy"):
            request["defaultCapacityProviderStrategy"] = strategy_to_api(
                params["default_capacity_provider_strategy"]
            )
        if params.get("container_insights"):
            request["settings"] = [
                {"name": "containerInsights", "value": params["container_insights"]}
            ]
        if params.get("tags"):
            request["tags"] = ansible_dict_to_boto3_tag_list(params["tags"], "key", "value")
        create_cluster(client, **request)
        return {
            "changed": True,
            "cluster": cluster_view(describe_cluster(client, name)),
            "diff": diff,
        }

    changed = False
    capacity_changed = (
        after["capacity_providers"] != before["capacity_providers"]
        or after["default_capacity_provider_strategy"]
        != before["default_capacity_provider_strategy"]
    )
    if capacity_changed:
        changed = True
        if not check_mode:
            put_capacity_providers(
                client,
                name,
                after["capacity_providers"],
                [
                    {
                        "capacityProvider": s["capacity_provider"],
                        "weight": s["weight"],
                        "base": s["base"],
                    }
                    for s in after["default_capacity_provider_strategy"]
                ],
            )
    if after["container_insights"] != before["container_insights"]:
        changed = True
        if not check_mode:
            update_settings(client, name, after["container_insights"])
    if params.get("tags") is not None:
        add, remove = compare_aws_tags(
            before["tags"], params["tags"], params.get("purge_tags", True)
        )
        if add or remove:
            changed = True
            if not check_mode:
                if remove:
                    untag_cluster(client, existing["clusterArn"], remove)
                if add:
                    tag_cluster(client, existing["clusterArn"], add)
    if changed and not check_mode:
        result_view = cluster_view(describe_cluster(client, name))
    elif changed:
        result_view = {**before, **after}
    else:
        result_view = before
    return {"changed": changed, "cluster": result_view, "diff": diff}


def ensure_absent(client, params, check_mode):
    name = params["name"]
    existing = describe_cluster(client, name)
    diff = {"before": _comparable(cluster_view(existing)), "after": {}}
    if existing is None:
        return {"changed": False, "cluster": {}, "diff": diff}
    if not check_mode:
        try:
            delete_cluster(client, name)
        except is_boto3_error_code(_BUSY_CLUSTER_CODES) as e:
            raise EcsClusterError(
                f"ECS cluster {name} still has services or tasks and cannot be deleted; delete"
                f" its services first ({e.response['Error'].get('Message', '')})"
            ) from e
    return {"changed": True, "cluster": {}, "diff": diff}


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        capacity_providers=dict(type="list", elements="str"),
        default_capacity_provider_strategy=dict(
            type="list",
            elements="dict",
            options=dict(
                capacity_provider=dict(type="str", required=True),
                weight=dict(type="int", default=0),
                base=dict(type="int", default=0),
            ),
        ),
        container_insights=dict(type="str", choices=["enabled", "enhanced", "disabled"]),
        tags=dict(type="dict"),
        purge_tags=dict(type="bool", default=True),
    )
    module = MlflowEcsAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    name, state = module.params["name"], module.params["state"]

    run_state_module(
        module,
        "ecs",
        validate_params,
        ensure_present,
        ensure_absent,
        EcsClusterError,
        failure=f"Failed to ensure ECS cluster {name} is {state}",
    )


if __name__ == "__main__":
    main()
