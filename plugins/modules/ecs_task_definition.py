#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the mlops.mlflow_ecs collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecs_task_definition
version_added: 0.1.0
short_description: Register an ECS task definition revision when it changed, or deregister a family
description:
  - Compares the requested task definition with the latest C(ACTIVE) revision of its family and
    registers a new revision only when they differ. Every property is compared (containers,
    volumes, task size, roles, network mode, runtime platform, ephemeral storage), after
    removing the defaults AWS fills in, so a second run registers nothing.
  - When only the tags differ, the tags of the latest revision are updated instead.
  - With O(state=absent), deregisters every C(ACTIVE) revision of the family.
  - Unlike M(community.aws.ecs_taskdefinition), it compares the task size, execution role and
    runtime platform, sets ephemeral storage and tags, and reports a diff.
options:
  family:
    description:
      - Family of the task definition.
    type: str
    required: true
  state:
    description:
      - V(present) registers a new revision when the latest one differs from the request.
      - V(absent) deregisters every C(ACTIVE) revision of the family. AWS keeps deregistered
        revisions visible as C(INACTIVE); they can no longer start new tasks.
    type: str
    choices: [present, absent]
    default: present
  container_definitions:
    description:
      - Container definitions, in the shape of the C(containerDefinitions) parameter of the
        RegisterTaskDefinition API (camelCase keys), passed to AWS as they are.
      - Required with O(state=present).
      - Environment variables and secrets are compared by name, whatever their order.
    type: list
    elements: dict
  network_mode:
    description:
      - Docker networking mode of the containers. Fargate needs V(awsvpc).
    type: str
    choices: [awsvpc, bridge, host, none]
    default: awsvpc
  requires_compatibilities:
    description:
      - Launch types the task definition is validated against, for example V(FARGATE).
    type: list
    elements: str
    choices: [EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES]
    default: []
  cpu:
    description:
      - CPU units of the task, as a number in a string, for example V('256') (0.25 vCPU).
      - AWS reports expressions such as V(0.25 vCPU) back as numbers; give numbers so the
        comparison matches.
    type: str
  memory:
    description:
      - Memory of the task in MiB, as a number in a string, for example V('512').
    type: str
  task_role_arn:
    description:
      - ARN of the IAM role the containers use to call AWS. Empty for none.
    type: str
    default: ""
  execution_role_arn:
    description:
      - ARN of the IAM role ECS uses to pull the image, write logs and read secrets. Empty for none.
    type: str
    default: ""
  runtime_platform:
    description:
      - Operating system and CPU architecture of the task.
      - When not set, none is registered (AWS then runs Linux on x86_64).
    type: dict
    suboptions:
      cpu_architecture:
        description: CPU architecture.
        type: str
        choices: [X86_64, ARM64]
        default: X86_64
      operating_system_family:
        description: Operating system family, for example V(LINUX).
        type: str
        default: LINUX
  ephemeral_storage_gib:
    description:
      - Ephemeral storage of a Fargate task in GiB (21 to 200).
      - When not set, none is registered and Fargate gives its default (20 GiB usable).
    type: int
  volumes:
    description:
      - Volumes, in the shape of the C(volumes) parameter of the RegisterTaskDefinition API
        (camelCase keys), for example an C(efsVolumeConfiguration).
    type: list
    elements: dict
    default: []
  tags:
    description:
      - Tags of the revision. A newly registered revision gets them; when only tags differ, the
        latest revision's tags are updated.
      - When not set, tags are not compared.
    type: dict
  purge_tags:
    description:
      - Remove tags that are not in O(tags).
    type: bool
    default: true
notes:
  - Supports check mode and diff mode. In check mode, when a revision would be registered,
    RV(task_definition.revision) is the revision number it would get and
    RV(task_definition.task_definition_arn) is empty.
  - Needs C(ecs:ListTaskDefinitions), C(ecs:DescribeTaskDefinition),
    C(ecs:RegisterTaskDefinition), C(ecs:DeregisterTaskDefinition), C(ecs:TagResource),
    C(ecs:UntagResource) and C(iam:PassRole) on the roles.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - MLOps platform team (!UNKNOWN)
"""

EXAMPLES = r"""
# Note: These examples do not set authentication details, see the AWS Guide for details.

- name: Ensure the task definition of the tracking server
  mlops.mlflow_ecs.ecs_task_definition:
    family: production-mlflow-tracking
    requires_compatibilities: [FARGATE]
    cpu: "256"
    memory: "512"
    execution_role_arn: arn:aws:iam::123456789012:role/production-mlflow-execution
    runtime_platform:
      cpu_architecture: ARM64
    ephemeral_storage_gib: 30
    container_definitions:
      - name: mlflow
        image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/mlflow-tracking:abc123
        essential: true
        portMappings:
          - containerPort: 5000
            protocol: tcp
        environment:
          - name: MLFLOW_PORT
            value: "5000"
    tags:
      Environment: production
  register: task_definition

- name: Deregister every active revision of the family
  mlops.mlflow_ecs.ecs_task_definition:
    family: production-mlflow-tracking
    state: absent
"""

RETURN = r"""
task_definition:
  description:
    - The latest revision after the change (keys in snake_case, container definitions as AWS
      reports them).
    - Empty after O(state=absent) or when the family has no active revision.
  returned: always
  type: dict
  contains:
    task_definition_arn:
      description: ARN of the revision; empty in check mode when a revision would be registered.
      type: str
      returned: when a revision exists or would be registered
      sample: arn:aws:ecs:us-east-1:123456789012:task-definition/production-mlflow-tracking:3
    family:
      description: Family of the task definition.
      type: str
      returned: when a revision exists or would be registered
      sample: production-mlflow-tracking
    revision:
      description: Revision number (in check mode, the number a new revision would get).
      type: int
      returned: when a revision exists or would be registered
      sample: 3
    container_definitions:
      description: Container definitions as AWS reports them.
      type: list
      elements: dict
      returned: when a revision exists
    tags:
      description: Tags of the revision.
      type: dict
      returned: when a revision exists
      sample: {"Environment": "production"}
deregistered:
  description: ARNs of the revisions that were (or in check mode would be) deregistered.
  returned: when O(state=absent)
  type: list
  elements: str
  sample: ["arn:aws:ecs:us-east-1:123456789012:task-definition/production-mlflow-tracking:3"]
"""

import copy

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
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


class TaskDefinitionError(Exception):
    """The task definition cannot be brought to the requested state; the message says why."""


# Keys of a container definition whose list items are identified by one of their keys:
# AWS may report them in another order than they were registered.
_KEYED_LISTS = {
    "environment": "name",
    "secrets": "name",
    "portMappings": "containerPort",
    "mountPoints": "containerPath",
    "volumesFrom": "sourceContainer",
    "ulimits": "name",
    "systemControls": "namespace",
    "environmentFiles": "value",
    "extraHosts": "hostname",
    "dependsOn": "containerName",
    "resourceRequirements": "type",
}
# Maps whose keys are data, not API field names: never converted to snake_case.
_DATA_MAPS = ["options", "dockerLabels", "tags"]
# Integers of a container definition that the API wants as numbers.
_CONTAINER_INTS = ("cpu", "memory", "memoryReservation", "startTimeout", "stopTimeout")


def _is_empty(value):
    return value is None or value == [] or value == {} or value == ""


def _prune(value):
    """Drop empty values (None, "", [], {}) recursively: AWS reports unset lists as []."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if not _is_empty(v)}
    if isinstance(value, list):
        return [_prune(v) for v in value if not _is_empty(v)]
    return value


def _sort_key(item, key):
    if isinstance(item, dict):
        return (str(item.get(key, "")), repr(sorted(item.items())))
    return ("", repr(item))


def normalize_container(container):
    """A container definition in a canonical form: AWS defaults removed, lists sorted."""
    c = copy.deepcopy(container)
    for key in _CONTAINER_INTS:
        if key in c and c[key] is not None and str(c[key]).lstrip("-").isdigit():
            c[key] = int(c[key])
    # Defaults AWS fills in when they are not given.
    if c.get("cpu") == 0:
        del c["cpu"]
    if c.get("essential") is True:
        del c["essential"]
    if c.get("versionConsistency") == "enabled":
        del c["versionConsistency"]
    for mapping in c.get("portMappings") or []:
        for port in ("containerPort", "hostPort"):
            if port in mapping and str(mapping[port]).isdigit():
                mapping[port] = int(mapping[port])
        if mapping.get("protocol", "tcp") == "tcp":
            mapping.pop("protocol", None)
        if "hostPort" in mapping and mapping["hostPort"] == mapping.get("containerPort"):
            del mapping["hostPort"]
    for mount in c.get("mountPoints") or []:
        if mount.get("readOnly") is False:
            del mount["readOnly"]
    for item in c.get("environment") or []:
        if "value" in item and item["value"] is not None:
            item["value"] = str(item["value"])
    for key, ident in _KEYED_LISTS.items():
        if isinstance(c.get(key), list):
            c[key] = sorted(c[key], key=lambda item, ident=ident: _sort_key(item, ident))
    return _prune(c)


def normalize_volume(volume):
    v = copy.deepcopy(volume)
    efs = v.get("efsVolumeConfiguration")
    if isinstance(efs, dict):
        if efs.get("rootDirectory") == "/":
            del efs["rootDirectory"]
        if efs.get("transitEncryption") == "DISABLED":
            del efs["transitEncryption"]
        auth = efs.get("authorizationConfig")
        if isinstance(auth, dict) and auth.get("iam") == "DISABLED":
            del auth["iam"]
    return _prune(v)


def canonical(definition):
    """The comparable part of a task definition, given in the API's (camelCase) shape.

    Works on both the request this module builds and DescribeTaskDefinition's answer, which
    adds read-only keys (ARN, revision, status, compatibilities, ...) that are left out here.
    """
    runtime = definition.get("runtimePlatform") or {}
    storage = definition.get("ephemeralStorage") or {}
    return {
        "family": definition.get("family", ""),
        "networkMode": definition.get("networkMode") or "bridge",
        "requiresCompatibilities": sorted(definition.get("requiresCompatibilities") or []),
        "cpu": str(definition.get("cpu") or ""),
        "memory": str(definition.get("memory") or ""),
        "taskRoleArn": definition.get("taskRoleArn") or "",
        "executionRoleArn": definition.get("executionRoleArn") or "",
        "runtimePlatform": _prune(dict(runtime)),
        "ephemeralStorageGiB": int(storage.get("sizeInGiB") or 0),
        "volumes": sorted(
            (normalize_volume(v) for v in definition.get("volumes") or []),
            key=lambda v: v.get("name", ""),
        ),
        "containerDefinitions": sorted(
            (normalize_container(c) for c in definition.get("containerDefinitions") or []),
            key=lambda c: c.get("name", ""),
        ),
        "placementConstraints": _prune(definition.get("placementConstraints") or []),
    }


def build_request(params):
    """The RegisterTaskDefinition parameters for the module's options (tags excluded)."""
    containers = copy.deepcopy(params.get("container_definitions") or [])
    for container in containers:
        for key in _CONTAINER_INTS:
            if key in container and container[key] is not None:
                container[key] = int(container[key])
        for mapping in container.get("portMappings") or []:
            for port in ("containerPort", "hostPort"):
                if port in mapping and mapping[port] is not None:
                    mapping[port] = int(mapping[port])
        for item in container.get("environment") or []:
            if item.get("value") is not None:
                item["value"] = str(item["value"])
    request = {
        "family": params["family"],
        "networkMode": params.get("network_mode") or "awsvpc",
        "containerDefinitions": containers,
    }
    if params.get("requires_compatibilities"):
        request["requiresCompatibilities"] = list(params["requires_compatibilities"])
    if params.get("cpu"):
        request["cpu"] = str(params["cpu"])
    if params.get("memory"):
        request["memory"] = str(params["memory"])
    if params.get("task_role_arn"):
        request["taskRoleArn"] = params["task_role_arn"]
    if params.get("execution_role_arn"):
        request["executionRoleArn"] = params["execution_role_arn"]
    runtime = params.get("runtime_platform")
    if runtime:
        request["runtimePlatform"] = {
            "cpuArchitecture": runtime.get("cpu_architecture") or "X86_64",
            "operatingSystemFamily": runtime.get("operating_system_family") or "LINUX",
        }
    if params.get("ephemeral_storage_gib"):
        request["ephemeralStorage"] = {"sizeInGiB": int(params["ephemeral_storage_gib"])}
    if params.get("volumes"):
        request["volumes"] = copy.deepcopy(params["volumes"])
    return request


def validate_params(params):
    if params["state"] != "present":
        return
    containers = params.get("container_definitions") or []
    if not containers:
        raise TaskDefinitionError("container_definitions is required with state=present")
    names = []
    for index, container in enumerate(containers):
        if (
            not isinstance(container, dict)
            or not container.get("name")
            or not container.get("image")
        ):
            raise TaskDefinitionError(
                f"container_definitions[{index}] needs at least a name and an image"
            )
        names.append(container["name"])
        env_names = [e.get("name") for e in container.get("environment") or []]
        dup = sorted({n for n in env_names if env_names.count(n) > 1})
        if dup:
            raise TaskDefinitionError(
                f"container {container['name']} sets environment variable(s) twice:"
                f" {', '.join(dup)}"
            )
    if len(set(names)) != len(names):
        raise TaskDefinitionError("container_definitions has two containers with the same name")
    size = params.get("ephemeral_storage_gib")
    if size is not None and not 21 <= size <= 200:
        raise TaskDefinitionError(f"ephemeral_storage_gib must be between 21 and 200, got {size}")


@AWSRetry.jittered_backoff()
def list_revisions(client, family, status):
    """ARNs of the family's revisions with this status (familyPrefix is the exact family)."""
    paginator = client.get_paginator("list_task_definitions")
    arns = paginator.paginate(familyPrefix=family, status=status).build_full_result()[
        "taskDefinitionArns"
    ]
    # Defensive: keep only this family's revisions, whatever the server did with the prefix.
    return [arn for arn in arns if arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family]


def revision_of(arn):
    return int(arn.rsplit(":", 1)[-1])


@AWSRetry.jittered_backoff()
def describe_revision(client, arn):
    response = client.describe_task_definition(taskDefinition=arn, include=["TAGS"])
    definition = response["taskDefinition"]
    definition["tags"] = response.get("tags") or []
    return definition


def latest_active(client, family):
    """The latest ACTIVE revision (with tags), or None.

    DescribeTaskDefinition on a bare family would do on AWS, but some emulators answer it with
    the latest revision whatever its status: list the ACTIVE ones instead.
    """
    arns = list_revisions(client, family, "ACTIVE")
    if not arns:
        return None
    return describe_revision(client, max(arns, key=revision_of))


def next_revision(client, family):
    """The revision number AWS gives the next registration of the family."""
    arns = list_revisions(client, family, "ACTIVE") + list_revisions(client, family, "INACTIVE")
    return max((revision_of(arn) for arn in arns), default=0) + 1


@AWSRetry.jittered_backoff()
def register(client, request, tags):
    params = dict(request)
    if tags:
        params["tags"] = ansible_dict_to_boto3_tag_list(tags, "key", "value")
    response = client.register_task_definition(**params)
    definition = response["taskDefinition"]
    definition["tags"] = response.get("tags") or params.get("tags") or []
    return definition


@AWSRetry.jittered_backoff()
def deregister(client, arn):
    client.deregister_task_definition(taskDefinition=arn)


@AWSRetry.jittered_backoff()
def tag_revision(client, arn, tags):
    client.tag_resource(resourceArn=arn, tags=ansible_dict_to_boto3_tag_list(tags, "key", "value"))


@AWSRetry.jittered_backoff()
def untag_revision(client, arn, keys):
    client.untag_resource(resourceArn=arn, tagKeys=list(keys))


def to_result(definition):
    """A described revision in snake_case, tags as a dict, data maps left as they are."""
    if not definition:
        return {}
    data = {k: v for k, v in definition.items() if k != "tags"}
    result = camel_dict_to_snake_dict(data, ignore_list=_DATA_MAPS)
    result["tags"] = boto3_tag_list_to_ansible_dict(definition.get("tags") or [], "key", "value")
    for key in ("registered_at", "deregistered_at"):
        if key in result and hasattr(result[key], "isoformat"):
            result[key] = result[key].isoformat()
    return result


def ensure_present(client, params, check_mode):
    family = params["family"]
    request = build_request(params)
    latest = latest_active(client, family)
    wanted = canonical(request)
    before = canonical(latest) if latest else {}
    existing_tags = boto3_tag_list_to_ansible_dict((latest or {}).get("tags") or [], "key", "value")
    desired_tags = dict(existing_tags)
    add, remove = {}, []
    if params.get("tags") is not None:
        add, remove = compare_aws_tags(
            existing_tags, params["tags"], params.get("purge_tags", True)
        )
        desired_tags.update(add)
        for key in remove:
            desired_tags.pop(key, None)
    diff = {
        "before": {**before, "tags": existing_tags} if latest else {},
        "after": {**wanted, "tags": desired_tags},
    }

    if latest is not None and before == wanted:
        if not add and not remove:
            return {"changed": False, "task_definition": to_result(latest), "diff": diff}
        if not check_mode:
            arn = latest["taskDefinitionArn"]
            if remove:
                untag_revision(client, arn, remove)
            if add:
                tag_revision(client, arn, add)
        latest = dict(latest, tags=ansible_dict_to_boto3_tag_list(desired_tags, "key", "value"))
        return {"changed": True, "task_definition": to_result(latest), "diff": diff}

    if check_mode:
        predicted = {
            "task_definition_arn": "",
            "family": family,
            "revision": next_revision(client, family),
            "tags": desired_tags,
        }
        return {"changed": True, "task_definition": predicted, "diff": diff}
    registered = register(client, request, desired_tags)
    return {"changed": True, "task_definition": to_result(registered), "diff": diff}


def ensure_absent(client, params, check_mode):
    family = params["family"]
    arns = sorted(list_revisions(client, family, "ACTIVE"), key=revision_of)
    diff = {"before": {"active_revisions": arns}, "after": {"active_revisions": []}}
    if not arns:
        return {"changed": False, "task_definition": {}, "deregistered": [], "diff": diff}
    if not check_mode:
        for arn in arns:
            deregister(client, arn)
    return {"changed": True, "task_definition": {}, "deregistered": arns, "diff": diff}


def main():
    argument_spec = dict(
        family=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        container_definitions=dict(type="list", elements="dict"),
        network_mode=dict(
            type="str", choices=["awsvpc", "bridge", "host", "none"], default="awsvpc"
        ),
        requires_compatibilities=dict(
            type="list",
            elements="str",
            choices=["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"],
            default=[],
        ),
        cpu=dict(type="str"),
        memory=dict(type="str"),
        task_role_arn=dict(type="str", default=""),
        execution_role_arn=dict(type="str", default=""),
        runtime_platform=dict(
            type="dict",
            options=dict(
                cpu_architecture=dict(type="str", choices=["X86_64", "ARM64"], default="X86_64"),
                operating_system_family=dict(type="str", default="LINUX"),
            ),
        ),
        ephemeral_storage_gib=dict(type="int"),
        volumes=dict(type="list", elements="dict", default=[]),
        tags=dict(type="dict"),
        purge_tags=dict(type="bool", default=True),
    )
    module = MlflowEcsAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ["container_definitions"])],
    )
    family, state = module.params["family"], module.params["state"]

    run_state_module(
        module,
        "ecs",
        validate_params,
        ensure_present,
        ensure_absent,
        TaskDefinitionError,
        failure=f"Failed to ensure task definition family {family} is {state}",
    )


if __name__ == "__main__":
    main()
