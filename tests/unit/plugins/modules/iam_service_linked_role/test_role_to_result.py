from __future__ import annotations

from ansible_collections.mlops.mlflow_ecs.plugins.modules.iam_service_linked_role import (
    role_to_result,
)

from ._data import PATH, role


def test_snake_case_keys_and_date_as_string():
    assert role_to_result(role()) == {
        "role_name": "AWSServiceRoleForECS",
        "role_id": "AROAEXAMPLEEXAMPLE12",
        "arn": f"arn:aws:iam::123456789012:role{PATH}AWSServiceRoleForECS",
        "path": PATH,
        "description": "Role for ECS",
        "create_date": "2024-05-01T12:00:00+00:00",
    }


def test_no_role_is_an_empty_dict():
    assert role_to_result(None) == {}
