from __future__ import annotations

from ansible_collections.mlops.mlflow_ecs.plugins.modules.iam_service_linked_role import (
    ensure_absent,
)

from ._data import params, queue_list_roles, role

TASK = "task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForecs/1"


def test_no_role_is_no_change(stubbed):
    client, stubber = stubbed("iam")
    queue_list_roles(stubber, [])
    assert ensure_absent(client, params(state="absent"), False) == {"changed": False, "role": {}}


def test_check_mode_deletes_nothing(stubbed):
    client, stubber = stubbed("iam")
    queue_list_roles(stubber, [role("AWSServiceRoleForecs")])
    assert ensure_absent(client, params(state="absent"), True) == {"changed": True, "role": {}}


def test_deletes_and_waits(stubbed):
    client, stubber = stubbed("iam")
    queue_list_roles(stubber, [role("AWSServiceRoleForecs")])
    stubber.add_response(
        "delete_service_linked_role", {"DeletionTaskId": TASK}, {"RoleName": "AWSServiceRoleForecs"}
    )
    stubber.add_response(
        "get_service_linked_role_deletion_status", {"Status": "SUCCEEDED"}, {"DeletionTaskId": TASK}
    )
    assert ensure_absent(client, params(state="absent"), False) == {
        "changed": True,
        "role": {},
        "deletion_task_id": TASK,
    }


def test_without_wait_only_submits(stubbed):
    client, stubber = stubbed("iam")
    queue_list_roles(stubber, [role("AWSServiceRoleForecs")])
    stubber.add_response("delete_service_linked_role", {"DeletionTaskId": TASK})
    result = ensure_absent(client, params(state="absent", wait=False), False)
    assert result["deletion_task_id"] == TASK
