from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.stack_network_info import (
    NetworkDiscoveryError,
    check_availability_zones,
)


def chosen(subnet_id, tag, az):
    return {"SubnetId": subnet_id, "TagValue": tag, "AvailabilityZone": az}


def test_distinct_zones_in_subnet_order():
    subnets = [
        chosen("subnet-2", "b", "us-east-1b"),
        chosen("subnet-1", "a", "us-east-1a"),
        chosen("subnet-3", "c", "us-east-1b"),
    ]
    assert check_availability_zones(subnets) == ["us-east-1b", "us-east-1a"]


def test_all_subnets_in_one_zone_fail():
    subnets = [chosen("subnet-1", "a", "us-east-1a"), chosen("subnet-2", "b", "us-east-1a")]
    with pytest.raises(NetworkDiscoveryError) as err:
        check_availability_zones(subnets)
    assert str(err.value) == (
        "subnets a (subnet-1), b (subnet-2) all sit in Availability Zone us-east-1a: an"
        " Application Load Balancer needs subnets in at least two Availability Zones"
    )
