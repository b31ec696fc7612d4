from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.stack_network_info import (
    NetworkDiscoveryError,
    get_vpc,
)

from ._data import VPC_ID


def test_returns_the_vpc(stubbed):
    client, stubber = stubbed("ec2")
    stubber.add_response(
        "describe_vpcs",
        {"Vpcs": [{"VpcId": VPC_ID, "CidrBlock": "10.0.0.0/16"}]},
        {"VpcIds": [VPC_ID]},
    )
    assert get_vpc(client, VPC_ID, "output 'VPCId'")["CidrBlock"] == "10.0.0.0/16"


@pytest.mark.parametrize("code", ["InvalidVpcID.NotFound", "InvalidVpcID.Malformed"])
def test_unknown_vpc_names_where_the_id_came_from(stubbed, code):
    client, stubber = stubbed("ec2")
    stubber.add_client_error("describe_vpcs", service_error_code=code, service_message="nope")
    with pytest.raises(NetworkDiscoveryError) as err:
        get_vpc(client, VPC_ID, "output 'VPCId' of stack 's'")
    assert str(err.value) == f"VPC '{VPC_ID}' (output 'VPCId' of stack 's') does not exist"
