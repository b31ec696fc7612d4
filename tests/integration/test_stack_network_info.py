"""mlops.mlflow_ecs.stack_network_info against the emulator's main stack (no mocks).

The module runs through ansible-playbook with the endpoint set by the collection's action
group (group/mlops.mlflow_ecs.aws), and its answers are compared with what boto3 reads.
"""

from __future__ import annotations

import pytest
from ansible_module import run_module

pytestmark = pytest.mark.integration

MAIN_STACK = "absenteeism-infrastructure"
RETURN_KEYS = (
    "changed",
    "vpc_id",
    "vpc_cidr",
    "subnet_ids",
    "subnets",
    "availability_zones",
    "stack_status",
)


def run_network_info(emulator, tmp_path, args, *, check=False):
    return run_module(emulator, tmp_path, "stack_network_info", args, check=check)


@pytest.fixture(scope="module")
def network(emulator):
    """The main stack's VPC and tagged subnets, as boto3 reads them."""
    cfn, ec2 = emulator.client("cloudformation"), emulator.client("ec2")
    stack = cfn.describe_stacks(StackName=MAIN_STACK)["Stacks"][0]
    vpc_id = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["VPCId"]
    vpc = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    tags = [f"{emulator.environment}-public-subnet-1", f"{emulator.environment}-public-subnet-2"]
    subnets = {}
    for tag in tags:
        found = ec2.describe_subnets(
            Filters=[{"Name": "tag:Name", "Values": [tag]}, {"Name": "vpc-id", "Values": [vpc_id]}]
        )["Subnets"]
        assert len(found) == 1, found
        subnets[tag] = found[0]
    return {"vpc_id": vpc_id, "vpc_cidr": vpc["CidrBlock"], "tags": tags, "subnets": subnets}


def expected(network, tags):
    subnets = [network["subnets"][tag] for tag in tags]
    return {
        "changed": False,
        "vpc_id": network["vpc_id"],
        "vpc_cidr": network["vpc_cidr"],
        "subnet_ids": [s["SubnetId"] for s in subnets],
        "subnets": [
            {
                "id": s["SubnetId"],
                "availability_zone": s["AvailabilityZone"],
                "cidr_block": s["CidrBlock"],
                "tag_value": tag,
            }
            for tag, s in zip(tags, subnets, strict=True)
        ],
        "availability_zones": list(dict.fromkeys(s["AvailabilityZone"] for s in subnets)),
        "stack_status": "CREATE_COMPLETE",
    }


def picked(result):
    """The result without Ansible's own keys (invocation, warnings...)."""
    return {k: result.get(k) for k in RETURN_KEYS}


def test_returns_what_boto3_reads(emulator, network, tmp_path):
    result = run_network_info(emulator, tmp_path, {"subnet_tags": network["tags"]})
    assert not result.get("failed"), result
    assert picked(result) == expected(network, network["tags"])
    assert len(set(result["availability_zones"])) == 2


def test_order_follows_the_order_asked(emulator, network, tmp_path):
    tags = list(reversed(network["tags"]))
    result = run_network_info(emulator, tmp_path, {"subnet_tags": tags})
    assert not result.get("failed"), result
    assert picked(result) == expected(network, tags)
    assert result["subnet_ids"] == [network["subnets"][t]["SubnetId"] for t in tags]


def test_check_mode_gives_the_same_answer(emulator, network, tmp_path):
    result = run_network_info(emulator, tmp_path, {"subnet_tags": network["tags"]}, check=True)
    assert not result.get("failed"), result
    assert picked(result) == expected(network, network["tags"])


def test_missing_stack_fails_naming_it(emulator, network, tmp_path):
    result = run_network_info(
        emulator, tmp_path, {"stack_name": "no-such-stack", "subnet_tags": network["tags"]}
    )
    assert result["failed"]
    assert (
        "CloudFormation stack 'no-such-stack' does not exist in region us-east-1" in result["msg"]
    )


def test_missing_output_lists_the_keys(emulator, network, tmp_path):
    result = run_network_info(
        emulator, tmp_path, {"vpc_output_key": "VpcId", "subnet_tags": network["tags"]}
    )
    assert result["failed"]
    assert "has no output 'VpcId'" in result["msg"]
    assert "its output keys are: PublicSubnet1Id, PublicSubnet2Id, VPCId" in result["msg"]


def test_missing_tag_fails_naming_tag_and_vpc(emulator, network, tmp_path):
    missing = f"{emulator.environment}-public-subnet-9"
    result = run_network_info(emulator, tmp_path, {"subnet_tags": [network["tags"][0], missing]})
    assert result["failed"]
    assert f"Name={missing} matches no subnet in VPC {network['vpc_id']}" in result["msg"]


@pytest.fixture
def extra_subnets(emulator, network):
    """A tagged subnet in another VPC, and one in the main VPC sharing subnet 1's zone."""
    ec2 = emulator.client("ec2")
    first = network["subnets"][network["tags"][0]]
    other_vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    stray = ec2.create_subnet(
        VpcId=other_vpc,
        CidrBlock="10.9.1.0/24",
        AvailabilityZone="us-east-1c",
        TagSpecifications=[
            {"ResourceType": "subnet", "Tags": [{"Key": "Name", "Value": "stray-subnet"}]}
        ],
    )["Subnet"]["SubnetId"]
    same_zone = ec2.create_subnet(
        VpcId=network["vpc_id"],
        CidrBlock="10.0.3.0/24",
        AvailabilityZone=first["AvailabilityZone"],
        TagSpecifications=[
            {"ResourceType": "subnet", "Tags": [{"Key": "Name", "Value": "same-zone-subnet"}]}
        ],
    )["Subnet"]["SubnetId"]
    yield {"other_vpc": other_vpc, "stray": stray, "same_zone": same_zone}
    ec2.delete_subnet(SubnetId=stray)
    ec2.delete_subnet(SubnetId=same_zone)
    ec2.delete_vpc(VpcId=other_vpc)


def test_subnet_outside_the_vpc_fails_distinctly(emulator, network, extra_subnets, tmp_path):
    result = run_network_info(
        emulator, tmp_path, {"subnet_tags": [network["tags"][0], "stray-subnet"]}
    )
    assert result["failed"]
    assert (
        f"Name=stray-subnet matches only subnets outside VPC {network['vpc_id']}:"
        f" {extra_subnets['stray']} in {extra_subnets['other_vpc']}"
    ) in result["msg"]


def test_subnets_in_one_zone_fail(emulator, network, extra_subnets, tmp_path):
    result = run_network_info(
        emulator, tmp_path, {"subnet_tags": [network["tags"][0], "same-zone-subnet"]}
    )
    assert result["failed"]
    assert "all sit in Availability Zone" in result["msg"]
    assert "needs subnets in at least two Availability Zones" in result["msg"]


def test_empty_subnet_tags_fail_before_aws(emulator, tmp_path):
    result = run_network_info(emulator, tmp_path, {"subnet_tags": []})
    assert result["failed"]
    assert "subnet_tags must name at least two subnets" in result["msg"]
