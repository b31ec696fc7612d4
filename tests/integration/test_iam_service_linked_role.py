"""mlops.mlflow_ecs.iam_service_linked_role against the emulator (no mocks).

Follows amazon.aws's pattern: check mode and assert, real run and assert, again to prove
idempotence. Roles are always read back by their path, never by name (moto names the ECS role
AWSServiceRoleForecs, AWS AWSServiceRoleForECS).
"""

from __future__ import annotations

import pytest
from ansible_module import run_module

pytestmark = pytest.mark.integration

SERVICE = "ecs.amazonaws.com"
PATH = f"/aws-service-role/{SERVICE}/"


def roles_on_path(emulator):
    return emulator.client("iam").list_roles(PathPrefix=PATH)["Roles"]


def run_role(emulator, tmp_path, check=False, **args):
    result = run_module(
        emulator,
        tmp_path,
        "iam_service_linked_role",
        {"aws_service_name": SERVICE, **args},
        check=check,
    )
    assert not result.get("failed"), result
    return result


@pytest.fixture
def no_role(emulator):
    """Start and end without the ECS service-linked role."""
    iam = emulator.client("iam")
    for role in roles_on_path(emulator):
        iam.delete_service_linked_role(RoleName=role["RoleName"])
    yield
    for role in roles_on_path(emulator):
        iam.delete_service_linked_role(RoleName=role["RoleName"])


def test_present_check_mode_then_create_then_idempotent(emulator, no_role, tmp_path):
    result = run_role(emulator, tmp_path, check=True)
    assert result["changed"] is True
    assert result["role"] == {}
    assert roles_on_path(emulator) == []

    result = run_role(emulator, tmp_path)
    assert result["changed"] is True
    [role] = roles_on_path(emulator)
    assert result["role"]["role_name"] == role["RoleName"]
    assert result["role"]["arn"] == role["Arn"]
    assert result["role"]["path"] == PATH
    assert isinstance(result["role"]["create_date"], str)
    assert result["role"]["create_date"].startswith(str(role["CreateDate"].year))

    again = run_role(emulator, tmp_path)
    assert again["changed"] is False
    assert again["role"] == result["role"]
    assert len(roles_on_path(emulator)) == 1

    again = run_role(emulator, tmp_path, check=True)
    assert again["changed"] is False


def test_description_is_updated_once(emulator, no_role, tmp_path):
    run_role(emulator, tmp_path)
    result = run_role(emulator, tmp_path, check=True, description="Role for MLflow on ECS")
    assert result["changed"] is True
    assert roles_on_path(emulator)[0].get("Description", "") != "Role for MLflow on ECS"

    result = run_role(emulator, tmp_path, description="Role for MLflow on ECS")
    assert result["changed"] is True
    assert roles_on_path(emulator)[0]["Description"] == "Role for MLflow on ECS"

    assert run_role(emulator, tmp_path, description="Role for MLflow on ECS")["changed"] is False


def test_absent_check_mode_then_delete_then_idempotent(emulator, no_role, tmp_path):
    emulator.client("iam").create_service_linked_role(AWSServiceName=SERVICE)
    assert len(roles_on_path(emulator)) == 1

    result = run_role(emulator, tmp_path, check=True, state="absent")
    assert result["changed"] is True
    assert len(roles_on_path(emulator)) == 1

    result = run_role(emulator, tmp_path, state="absent")
    assert result["changed"] is True
    assert result["role"] == {}
    assert result["deletion_task_id"]
    assert roles_on_path(emulator) == []

    again = run_role(emulator, tmp_path, state="absent")
    assert again["changed"] is False
    assert again["role"] == {}
