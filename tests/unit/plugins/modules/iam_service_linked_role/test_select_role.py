from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.iam_service_linked_role import (
    ServiceLinkedRoleError,
    select_role,
)

from ._data import SERVICE, role


def test_no_role():
    assert select_role([], SERVICE) is None
    assert select_role([], SERVICE, "mlflow") is None


@pytest.mark.parametrize("name", ["AWSServiceRoleForECS", "AWSServiceRoleForecs"])
def test_any_name_on_the_path_counts(name):
    assert select_role([role(name)], SERVICE)["RoleName"] == name


def test_without_suffix_the_unsuffixed_role_wins():
    roles = [role("AWSServiceRoleForAutoScaling_a"), role("AWSServiceRoleForAutoScaling")]
    assert select_role(roles, SERVICE)["RoleName"] == "AWSServiceRoleForAutoScaling"


def test_with_suffix_only_that_role_counts():
    roles = [role("AWSServiceRoleForAutoScaling"), role("AWSServiceRoleForAutoScaling_a")]
    assert select_role(roles, SERVICE, "a")["RoleName"] == "AWSServiceRoleForAutoScaling_a"
    assert select_role(roles, SERVICE, "b") is None


def test_ambiguous_roles_ask_for_a_suffix():
    roles = [role("AWSServiceRoleForAutoScaling_a"), role("AWSServiceRoleForAutoScaling_b")]
    with pytest.raises(ServiceLinkedRoleError) as err:
        select_role(roles, SERVICE)
    assert str(err.value) == (
        f"several service-linked roles on path /aws-service-role/{SERVICE}/ match"
        " (AWSServiceRoleForAutoScaling_a, AWSServiceRoleForAutoScaling_b);"
        " set custom_suffix to choose one"
    )
