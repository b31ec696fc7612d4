from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.stack_network_info import (
    NetworkDiscoveryError,
    select_subnets,
)

from ._data import OTHER_VPC_ID, VPC_ID, subnet

TAGS = ["production-public-subnet-1", "production-public-subnet-2"]


def test_one_subnet_per_tag_in_the_order_asked():
    found = [
        subnet("subnet-2", TAGS[1], "us-east-1b"),
        subnet("subnet-1", TAGS[0], "us-east-1a"),
    ]
    selected = select_subnets(found, VPC_ID, "Name", TAGS)
    assert [s["SubnetId"] for s in selected] == ["subnet-1", "subnet-2"]
    assert [s["TagValue"] for s in selected] == TAGS
    reverse = select_subnets(found, VPC_ID, "Name", list(reversed(TAGS)))
    assert [s["SubnetId"] for s in reverse] == ["subnet-2", "subnet-1"]


def test_same_tag_in_another_vpc_is_ignored_when_the_vpc_has_one():
    found = [
        subnet("subnet-x", TAGS[0], vpc_id=OTHER_VPC_ID),
        subnet("subnet-1", TAGS[0]),
        subnet("subnet-2", TAGS[1]),
    ]
    selected = select_subnets(found, VPC_ID, "Name", TAGS)
    assert [s["SubnetId"] for s in selected] == ["subnet-1", "subnet-2"]


def test_tag_is_matched_on_the_asked_key_and_exact_value():
    other_key = subnet("subnet-9", "ignored")
    other_key["Tags"] = [{"Key": "Tier", "Value": TAGS[1]}]
    found = [subnet("subnet-1", TAGS[0]), subnet("subnet-8", TAGS[1] + "0"), other_key]
    with pytest.raises(NetworkDiscoveryError) as err:
        select_subnets(found, VPC_ID, "Name", TAGS)
    assert str(err.value) == (
        f"subnet lookup failed: Name={TAGS[1]} matches no subnet in VPC {VPC_ID}"
    )


def test_tag_matching_no_subnet_names_tag_and_vpc():
    with pytest.raises(NetworkDiscoveryError) as err:
        select_subnets([subnet("subnet-1", TAGS[0])], VPC_ID, "Name", TAGS)
    assert f"Name={TAGS[1]} matches no subnet in VPC {VPC_ID}" in str(err.value)


def test_tag_matching_several_subnets_lists_them():
    found = [
        subnet("subnet-1", TAGS[0]),
        subnet("subnet-2", TAGS[1]),
        subnet("subnet-3", TAGS[1], cidr="10.0.3.0/24"),
    ]
    with pytest.raises(NetworkDiscoveryError) as err:
        select_subnets(found, VPC_ID, "Name", TAGS)
    assert (
        f"Name={TAGS[1]} matches 2 subnets in VPC {VPC_ID} (subnet-2, subnet-3), expected one"
        in str(err.value)
    )


def test_subnet_outside_the_vpc_is_reported_distinctly():
    found = [subnet("subnet-1", TAGS[0]), subnet("subnet-x", TAGS[1], vpc_id=OTHER_VPC_ID)]
    with pytest.raises(NetworkDiscoveryError) as err:
        select_subnets(found, VPC_ID, "Name", TAGS)
    message = str(err.value)
    assert (
        f"Name={TAGS[1]} matches only subnets outside VPC {VPC_ID}: subnet-x in {OTHER_VPC_ID}"
        in message
    )
    assert "matches no subnet" not in message


def test_every_problem_is_reported_at_once():
    with pytest.raises(NetworkDiscoveryError) as err:
        select_subnets([], VPC_ID, "Tier", ["a", "b"])
    assert str(err.value) == (
        f"subnet lookup failed: Tier=a matches no subnet in VPC {VPC_ID};"
        f" Tier=b matches no subnet in VPC {VPC_ID}"
    )
