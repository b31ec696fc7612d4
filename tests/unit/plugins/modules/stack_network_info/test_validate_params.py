from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.stack_network_info import (
    NetworkDiscoveryError,
    validate_params,
)

VALID = {
    "stack_name": "absenteeism-infrastructure",
    "vpc_output_key": "VPCId",
    "tag_key": "Name",
    "subnet_tags": ["production-public-subnet-1", "production-public-subnet-2"],
}


def test_valid_params_pass():
    validate_params(VALID)


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ([], "at least two subnets"),
        (None, "at least two subnets"),
        (["production-public-subnet-1"], "at least two subnets"),
        (["production-public-subnet-1", ""], "must not contain empty values"),
        (["production-public-subnet-1", "  "], "must not contain empty values"),
        (["a", "b", "a"], "lists a more than once"),
    ],
)
def test_bad_subnet_tags_fail_before_any_aws_call(tags, message):
    with pytest.raises(NetworkDiscoveryError, match=message):
        validate_params({**VALID, "subnet_tags": tags})


@pytest.mark.parametrize("option", ["stack_name", "vpc_output_key", "tag_key"])
def test_empty_names_fail(option):
    with pytest.raises(NetworkDiscoveryError, match=f"{option} must not be empty"):
        validate_params({**VALID, option: " "})
