from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.stack_network_info import (
    NetworkDiscoveryError,
    discover_network,
)
from botocore.stub import ANY

from ._data import STACK, VPC_ID, stack, subnet

TAGS = ["production-public-subnet-2", "production-public-subnet-1"]
PARAMS = {"stack_name": STACK, "vpc_output_key": "VPCId", "tag_key": "Name", "subnet_tags": TAGS}


def queue_answers(cfn_stubber, ec2_stubber, subnets):
    cfn_stubber.add_response("describe_stacks", {"Stacks": [stack()]}, {"StackName": STACK})
    ec2_stubber.add_response(
        "describe_vpcs",
        {"Vpcs": [{"VpcId": VPC_ID, "CidrBlock": "10.0.0.0/16"}]},
        {"VpcIds": [VPC_ID]},
    )
    ec2_stubber.add_response(
        "describe_subnets",
        {"Subnets": subnets},
        {"Filters": [{"Name": "tag:Name", "Values": TAGS}]},
    )


def test_happy_path_follows_the_order_asked(stubbed):
    cfn, cfn_stubber = stubbed("cloudformation")
    ec2, ec2_stubber = stubbed("ec2")
    queue_answers(
        cfn_stubber,
        ec2_stubber,
        [
            subnet("subnet-1", TAGS[1], "us-east-1a", cidr="10.0.1.0/24"),
            subnet("subnet-2", TAGS[0], "us-east-1b", cidr="10.0.2.0/24"),
        ],
    )
    assert discover_network(cfn, ec2, PARAMS) == {
        "vpc_id": VPC_ID,
        "vpc_cidr": "10.0.0.0/16",
        "subnet_ids": ["subnet-2", "subnet-1"],
        "subnets": [
            {
                "id": "subnet-2",
                "availability_zone": "us-east-1b",
                "cidr_block": "10.0.2.0/24",
                "tag_value": TAGS[0],
            },
            {
                "id": "subnet-1",
                "availability_zone": "us-east-1a",
                "cidr_block": "10.0.1.0/24",
                "tag_value": TAGS[1],
            },
        ],
        "availability_zones": ["us-east-1b", "us-east-1a"],
        "stack_status": "CREATE_COMPLETE",
    }


def test_one_zone_fails_after_reading(stubbed):
    cfn, cfn_stubber = stubbed("cloudformation")
    ec2, ec2_stubber = stubbed("ec2")
    queue_answers(
        cfn_stubber,
        ec2_stubber,
        [subnet("subnet-1", TAGS[1]), subnet("subnet-2", TAGS[0])],
    )
    with pytest.raises(NetworkDiscoveryError, match="all sit in Availability Zone us-east-1a"):
        discover_network(cfn, ec2, PARAMS)


def test_failed_stack_stops_before_ec2_is_asked(stubbed):
    cfn, cfn_stubber = stubbed("cloudformation")
    ec2 = stubbed("ec2")[0]
    cfn_stubber.add_response(
        "describe_stacks", {"Stacks": [stack("ROLLBACK_COMPLETE")]}, {"StackName": ANY}
    )
    with pytest.raises(NetworkDiscoveryError, match="status ROLLBACK_COMPLETE"):
        discover_network(cfn, ec2, PARAMS)
