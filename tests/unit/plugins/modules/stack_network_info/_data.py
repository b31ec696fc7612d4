"""Shapes of the AWS answers the module reads (as boto3 returns them)."""

from __future__ import annotations

from datetime import UTC, datetime

STACK = "absenteeism-infrastructure"
VPC_ID = "vpc-0123456789abcdef0"
OTHER_VPC_ID = "vpc-0fedcba98765432100"


def stack(status="CREATE_COMPLETE", outputs=None, reason=None):
    if outputs is None:
        outputs = {"VPCId": VPC_ID, "PublicSubnet1Id": "subnet-1"}
    result = {
        "StackName": STACK,
        "StackId": f"arn:aws:cloudformation:us-east-1:123456789012:stack/{STACK}/1",
        "CreationTime": datetime(2024, 1, 1, tzinfo=UTC),
        "StackStatus": status,
        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
    }
    if reason:
        result["StackStatusReason"] = reason
    return result


def subnet(subnet_id, tag_value, az="us-east-1a", vpc_id=VPC_ID, cidr="10.0.1.0/24"):
    return {
        "SubnetId": subnet_id,
        "VpcId": vpc_id,
        "AvailabilityZone": az,
        "CidrBlock": cidr,
        "Tags": [{"Key": "Name", "Value": tag_value}, {"Key": "Environment", "Value": "x"}],
    }
