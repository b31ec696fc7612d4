from __future__ import annotations

from ansible_collections.mlops.mlflow_ecs.plugins.modules.iam_service_linked_role import (
    list_service_linked_roles,
)

from ._data import PATH, SERVICE, queue_list_roles, role


def test_lists_by_path_and_keeps_only_the_exact_path(stubbed):
    client, stubber = stubbed("iam")
    queue_list_roles(
        stubber,
        [role("AWSServiceRoleForecs"), role("Deeper", path=f"{PATH}nested/")],
    )
    roles = list_service_linked_roles(client, SERVICE)
    assert [r["RoleName"] for r in roles] == ["AWSServiceRoleForecs"]


def test_follows_pagination(stubbed):
    client, stubber = stubbed("iam")
    stubber.add_response(
        "list_roles",
        {"Roles": [role("A")], "IsTruncated": True, "Marker": "m1"},
        {"PathPrefix": PATH},
    )
    stubber.add_response(
        "list_roles", {"Roles": [role("A_b")]}, {"PathPrefix": PATH, "Marker": "m1"}
    )
    assert [r["RoleName"] for r in list_service_linked_roles(client, SERVICE)] == ["A", "A_b"]
