#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the mlops.mlflow_ecs collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: stack_network_info
version_added: 0.1.0
short_description: Find the VPC and subnets of the main CloudFormation stack
description:
  - Reads the VPC id from an output of a CloudFormation stack, then finds the subnets named by
    tag inside that VPC and returns their ids and Availability Zones in the order asked.
  - Fails, naming what it looked for, when the stack does not exist or is in a failed, rollback
    or delete state, when the output is missing, when a tag matches no subnet or several subnets
    in the VPC, when a tag only matches subnets of another VPC, and when all the subnets sit in
    one Availability Zone (an Application Load Balancer needs two).
  - Only reads; it never reports a change.
options:
  stack_name:
    description:
      - Name (or id) of the CloudFormation stack that holds the VPC.
    type: str
    default: absenteeism-infrastructure
  vpc_output_key:
    description:
      - Key of the stack output whose value is the VPC id.
    type: str
    default: VPCId
  subnet_tags:
    description:
      - Values of the O(tag_key) tag of the subnets to find, in the order they are returned.
      - Each value must match exactly one subnet inside the VPC.
      - At least two values, without duplicates; the subnets must span at least two
        Availability Zones.
    type: list
    elements: str
    required: true
  tag_key:
    description:
      - Key of the tag whose values O(subnet_tags) lists.
    type: str
    default: Name
notes:
  - Supports check mode; the module behaves the same with and without it.
  - Needs C(cloudformation:DescribeStacks), C(ec2:DescribeVpcs) and C(ec2:DescribeSubnets).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - MLOps platform team (!UNKNOWN)
"""

EXAMPLES = r"""
# Note: These examples do not set authentication details, see the AWS Guide for details.

- name: Find the VPC and the two public subnets of the production environment
  mlops.mlflow_ecs.stack_network_info:
    subnet_tags:
      - production-public-subnet-1
      - production-public-subnet-2
  register: mlflow_network

- name: Read another stack whose subnets carry a Tier tag, from the local emulator
  mlops.mlflow_ecs.stack_network_info:
    stack_name: shared-network
    vpc_output_key: VpcId
    tag_key: Tier
    subnet_tags: [public-a, public-b]
    endpoint_url: http://127.0.0.1:4566
  register: mlflow_network

- name: Show the subnets
  ansible.builtin.debug:
    msg: "{{ mlflow_network.subnet_ids | join(',') }} in {{ mlflow_network.vpc_id }}"
"""

RETURN = r"""
vpc_id:
  description: Id of the VPC, read from the stack output O(vpc_output_key).
  returned: success
  type: str
  sample: vpc-0123456789abcdef0
vpc_cidr:
  description: Primary IPv4 CIDR block of the VPC.
  returned: success
  type: str
  sample: 10.0.0.0/16
subnet_ids:
  description: Ids of the subnets, in the order of O(subnet_tags).
  returned: success
  type: list
  elements: str
  sample: [subnet-0123456789abcdef0, subnet-0fedcba9876543210]
subnets:
  description: The subnets, in the order of O(subnet_tags).
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: Subnet id.
      type: str
      returned: success
      sample: subnet-0123456789abcdef0
    availability_zone:
      description: Availability Zone of the subnet.
      type: str
      returned: success
      sample: us-east-1a
    cidr_block:
      description: IPv4 CIDR block of the subnet.
      type: str
      returned: success
      sample: 10.0.1.0/24
    tag_value:
      description: Value of the O(tag_key) tag that found the subnet.
      type: str
      returned: success
      sample: production-public-subnet-1
availability_zones:
  description: The distinct Availability Zones of the subnets, in the order of the subnets.
  returned: success
  type: list
  elements: str
  sample: [us-east-1a, us-east-1b]
stack_status:
  description: Status of the CloudFormation stack.
  returned: success
  type: str
  sample: CREATE_COMPLETE
"""

try:  # noqa: SIM105 - the usual guard of AWS modules
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
    is_boto3_error_message,
)
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.mlops.mlflow_ecs.plugins.module_utils.modules import MlflowEcsAWSModule

# Statuses in which the stack has not (yet) created its resources.
NOT_READY_STATUSES = ("CREATE_IN_PROGRESS", "REVIEW_IN_PROGRESS")


class NetworkDiscoveryError(Exception):
    """The stack or its subnets are not what the module needs; the message says why."""


def validate_params(params):
    """Check the options before any AWS call; raise NetworkDiscoveryError on the first problem."""
    for name in ("stack_name", "vpc_output_key", "tag_key"):
        if not (params.get(name) or "").strip():
            raise NetworkDiscoveryError(f"{name} must not be empty")
    tags = params.get("subnet_tags") or []
    if any(not (tag or "").strip() for tag in tags):
        raise NetworkDiscoveryError(f"subnet_tags must not contain empty values: {tags}")
    duplicates = sorted({tag for tag in tags if tags.count(tag) > 1})
    if duplicates:
        raise NetworkDiscoveryError(f"subnet_tags lists {', '.join(duplicates)} more than once")
    if len(tags) < 2:
        raise NetworkDiscoveryError(
            f"subnet_tags must name at least two subnets (got {tags}): an Application Load"
            " Balancer needs subnets in two Availability Zones"
        )


@AWSRetry.jittered_backoff()
def _describe_stacks(client, stack_name):
    return client.describe_stacks(StackName=stack_name)["Stacks"]


def get_stack(client, stack_name, region=None):
    """Return the stack description; raise NetworkDiscoveryError when it does not exist."""
    try:
        stacks = _describe_stacks(client, stack_name)
    except is_boto3_error_message("does not exist"):
        stacks = []
    if not stacks:
        where = f" in region {region}" if region else ""
        raise NetworkDiscoveryError(
            f"CloudFormation stack {stack_name!r} does not exist{where}: it must hold the VPC"
            " (set stack_name and region to the stack that does)"
        )
    return stacks[0]


def check_stack_status(stack):
    """Raise NetworkDiscoveryError when the stack is failed, rolled back, deleted or unfinished."""
    name, status = stack["StackName"], stack["StackStatus"]
    reason = stack.get("StackStatusReason")
    detail = f" ({reason})" if reason else ""
    if status.endswith("_FAILED") or "ROLLBACK" in status or status.startswith("DELETE_"):
        raise NetworkDiscoveryError(
            f"CloudFormation stack {name!r} is in status {status}{detail}: a failed, rolled back"
            " or deleted stack cannot be trusted for its VPC and subnets; repair it first"
        )
    if status in NOT_READY_STATUSES:
        raise NetworkDiscoveryError(
            f"CloudFormation stack {name!r} is in status {status}{detail}: wait until it is created"
        )
    return status


def get_output(stack, output_key):
    """Return the value of the stack output; raise NetworkDiscoveryError listing the keys."""
    outputs = {o["OutputKey"]: o.get("OutputValue") for o in stack.get("Outputs") or []}
    if output_key not in outputs:
        keys = ", ".join(sorted(outputs)) if outputs else "none"
        raise NetworkDiscoveryError(
            f"CloudFormation stack {stack['StackName']!r} has no output {output_key!r}"
            f" (set vpc_output_key); its output keys are: {keys}"
        )
    return outputs[output_key]


@AWSRetry.jittered_backoff()
def _describe_vpcs(client, vpc_id):
    return client.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]


def get_vpc(client, vpc_id, origin):
    """Return the VPC; raise NetworkDiscoveryError when the id names no VPC."""
    try:
        vpcs = _describe_vpcs(client, vpc_id)
    except is_boto3_error_code(["InvalidVpcID.NotFound", "InvalidVpcID.Malformed"]):
        vpcs = []
    if not vpcs:
        raise NetworkDiscoveryError(f"VPC {vpc_id!r} ({origin}) does not exist")
    return vpcs[0]


@AWSRetry.jittered_backoff()
def describe_subnets_by_tag(client, tag_key, tag_values):
    """All subnets, in any VPC, whose tag_key tag has one of the values."""
    paginator = client.get_paginator("describe_subnets")
    filters = [{"Name": f"tag:{tag_key}", "Values": list(tag_values)}]
    return paginator.paginate(Filters=filters).build_full_result()["Subnets"]


def _tag_value(subnet, tag_key):
    for tag in subnet.get("Tags") or []:
        if tag["Key"] == tag_key:
            return tag["Value"]
    return None


def select_subnets(subnets, vpc_id, tag_key, subnet_tags):
    """Pick exactly one subnet of the VPC per tag value, in the order of subnet_tags.

    Raises NetworkDiscoveryError naming every tag value that matches no subnet, several
    subnets, or only subnets of other VPCs.
    """
    selected, problems = [], []
    for value in subnet_tags:
        matches = [s for s in subnets if _tag_value(s, tag_key) == value]
        inside = [s for s in matches if s["VpcId"] == vpc_id]
        outside = [s for s in matches if s["VpcId"] != vpc_id]
        label = f"{tag_key}={value}"
        if len(inside) == 1:
            selected.append({**inside[0], "TagValue": value})
        elif inside:
            ids = ", ".join(s["SubnetId"] for s in inside)
            problems.append(
                f"{label} matches {len(inside)} subnets in VPC {vpc_id} ({ids}), expected one"
            )
        elif outside:
            where = ", ".join(f"{s['SubnetId']} in {s['VpcId']}" for s in outside)
            problems.append(f"{label} matches only subnets outside VPC {vpc_id}: {where}")
        else:
            problems.append(f"{label} matches no subnet in VPC {vpc_id}")
    if problems:
        raise NetworkDiscoveryError("subnet lookup failed: " + "; ".join(problems))
    return selected


def check_availability_zones(subnets):
    """Return the distinct AZs in subnet order; raise NetworkDiscoveryError if fewer than two."""
    zones = list(dict.fromkeys(s["AvailabilityZone"] for s in subnets))
    if len(zones) < 2:
        names = ", ".join(f"{s['TagValue']} ({s['SubnetId']})" for s in subnets)
        raise NetworkDiscoveryError(
            f"subnets {names} all sit in Availability Zone {', '.join(zones)}: an Application"
            " Load Balancer needs subnets in at least two Availability Zones"
        )
    return zones


def discover_network(cfn, ec2, params, region=None):
    """Read the stack, its VPC and the tagged subnets; return the module result."""
    stack = get_stack(cfn, params["stack_name"], region)
    status = check_stack_status(stack)
    output_key = params["vpc_output_key"]
    vpc_id = get_output(stack, output_key)
    origin = f"output {output_key!r} of stack {stack['StackName']!r}"
    vpc = get_vpc(ec2, vpc_id, origin)
    candidates = describe_subnets_by_tag(ec2, params["tag_key"], params["subnet_tags"])
    subnets = select_subnets(candidates, vpc_id, params["tag_key"], params["subnet_tags"])
    zones = check_availability_zones(subnets)
    return {
        "vpc_id": vpc_id,
        "vpc_cidr": vpc["CidrBlock"],
        "subnet_ids": [s["SubnetId"] for s in subnets],
        "subnets": [
            {
                "id": s["SubnetId"],
                "availability_zone": s["AvailabilityZone"],
                "cidr_block": s["CidrBlock"],
                "tag_value": s["TagValue"],
            }
            for s in subnets
        ],
        "availability_zones": zones,
        "stack_status": status,
    }


def main():
    argument_spec = dict(
        stack_name=dict(type="str", default="absenteeism-infrastructure"),
        vpc_output_key=dict(type="str", default="VPCId", no_log=False),
        subnet_tags=dict(type="list", elements="str", required=True),
        tag_key=dict(type="str", default="Name", no_log=False),
    )
    module = MlflowEcsAWSModule(argument_spec=argument_spec, supports_check_mode=True)

    try:
        validate_params(module.params)
        cfn = module.client("cloudformation")
        ec2 = module.client("ec2")
        result = discover_network(cfn, ec2, module.params, module.region)
    except NetworkDiscoveryError as e:
        module.fail_json(msg=str(e))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        stack_name = module.params["stack_name"]
        module.fail_json_aws(e, msg=f"Failed to read the network of stack {stack_name!r}")

    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
