from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.stack_network_info import (
    NetworkDiscoveryError,
    get_stack,
)
from botocore.exceptions import ClientError

from ._data import STACK, stack


def test_returns_the_stack(stubbed):
    client, stubber = stubbed("cloudformation")
    stubber.add_response("describe_stacks", {"Stacks": [stack()]}, {"StackName": STACK})
    assert get_stack(client, STACK)["StackStatus"] == "CREATE_COMPLETE"


def test_missing_stack_names_the_stack_and_region(stubbed):
    client, stubber = stubbed("cloudformation")
    stubber.add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message=f"Stack with id {STACK} does not exist",
        http_status_code=400,
        expected_params={"StackName": STACK},
    )
    with pytest.raises(NetworkDiscoveryError) as err:
        get_stack(client, STACK, "eu-west-1")
    assert f"CloudFormation stack '{STACK}' does not exist in region eu-west-1" in str(err.value)


def test_other_errors_are_not_taken_for_absence(stubbed):
    client, stubber = stubbed("cloudformation")
    stubber.add_client_error(
        "describe_stacks", service_error_code="AccessDenied", service_message="denied"
    )
    with pytest.raises(ClientError, match="AccessDenied"):
        get_stack(client, STACK)
