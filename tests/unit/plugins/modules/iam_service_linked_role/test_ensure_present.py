from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.iam_service_linked_role import (
    ensure_present,
)
from botocore.exceptions import ClientError

from ._data import SERVICE, params, queue_list_roles, role


def test_check_mode_reports_a_change_and_creates_nothing(stubbed):
    client, stubber = stubbed("iam")
    queue_list_roles(stubber, [])
    assert ensure_present(client, params(), check_mode=True) == {"changed": True, "role": {}}


def test_creates_the_missing_role(stubbed):
    client, stubber = stubbed("iam")
    queue_list_roles(stubber, [])
    stubber.add_response(
        "create_service_linked_role",
        {"Role": role("AWSServiceRoleForAutoScaling_mlflow", description="d")},
        {"AWSServiceName": SERVICE, "Description": "d", "CustomSuffix": "mlflow"},
    )
    result = ensure_present(client, params(description="d", custom_suffix="mlflow"), False)
    assert result["changed"] is True
    assert result["role"]["role_name"] == "AWSServiceRoleForAutoScaling_mlflow"


def test_existing_role_is_left_alone(stubbed):
    client, stubber = stubbed("iam")
    queue_list_roles(stubber, [role("AWSServiceRoleForecs")])
    result = ensure_present(client, params(), check_mode=False)
    assert result == {"changed": False, "role": result["role"]}
    assert result["role"]["role_name"] == "AWSServiceRoleForecs"


def test_same_description_is_no_change(stubbed):
    client, stubber = stubbed("iam")
    queue_list_roles(stubber, [role(description="Role for ECS")])
    assert ensure_present(client, params(description="Role for ECS"), False)["changed"] is False


def test_different_description_is_updated(stubbed):
    client, stubber = stubbed("iam")
    queue_list_roles(stubber, [role(description="old")])
    stubber.add_response(
        "update_role_description",
        {"Role": role(description="new")},
        {"RoleName": "AWSServiceRoleForECS", "Description": "new"},
    )
    result = ensure_present(client, params(description="new"), False)
    assert result["changed"] is True
    assert result["role"]["description"] == "new"


def test_different_description_in_check_mode_changes_nothing(stubbed):
    client, stubber = stubbed("iam")
    queue_list_roles(stubber, [role(description="old")])
    result = ensure_present(client, params(description="new"), True)
    assert result["changed"] is True
    assert result["role"]["description"] == "new"


def test_role_created_meanwhile_is_no_change(stubbed):
    client, stubber = stubbed("iam")
    queue_list_roles(stubber, [])
    stubber.add_client_error(
        "create_service_linked_role",
        service_error_code="InvalidInput",
        service_message="Service role name AWSServiceRoleForECS has been taken in this account",
    )
    queue_list_roles(stubber, [role()])
    result = ensure_present(client, params(), False)
    assert result["changed"] is False
    assert result["role"]["role_name"] == "AWSServiceRoleForECS"


def test_other_create_errors_propagate(stubbed):
    client, stubber = stubbed("iam")
    queue_list_roles(stubber, [])
    stubber.add_client_error(
        "create_service_linked_role",
        service_error_code="InvalidInput",
        service_message="Custom suffix is not allowed for ecs.amazonaws.com",
    )
    with pytest.raises(ClientError, match="Custom suffix is not allowed"):
        ensure_present(client, params(custom_suffix="x"), False)
