from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.stack_network_info import (
    NetworkDiscoveryError,
    get_output,
)

from ._data import STACK, VPC_ID, stack


def test_returns_the_output_value():
    assert get_output(stack(), "VPCId") == VPC_ID


def test_missing_key_lists_the_keys_the_stack_has():
    with pytest.raises(NetworkDiscoveryError) as err:
        get_output(stack(outputs={"VpcId": VPC_ID, "SubnetA": "subnet-1"}), "VPCId")
    assert str(err.value) == (
        f"CloudFormation stack '{STACK}' has no output 'VPCId' (set vpc_output_key);"
        " its output keys are: SubnetA, VpcId"
    )


def test_stack_without_outputs_says_so():
    with pytest.raises(NetworkDiscoveryError, match="its output keys are: none"):
        get_output(stack(outputs={}), "VPCId")
