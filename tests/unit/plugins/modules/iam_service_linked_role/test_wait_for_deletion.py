from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.iam_service_linked_role import (
    ServiceLinkedRoleError,
    wait_for_deletion,
)

TASK = "task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/1"


def test_polls_until_succeeded(stubbed):
    client, stubber = stubbed("iam")
    for status in ("NOT_STARTED", "IN_PROGRESS", "SUCCEEDED"):
        stubber.add_response("get_service_linked_role_deletion_status", {"Status": status})
    sleeps = []
    wait_for_deletion(client, "AWSServiceRoleForECS", TASK, 300, sleep=sleeps.append)
    assert sleeps == [5, 5]


def test_failure_gives_the_reason_and_the_users(stubbed):
    client, stubber = stubbed("iam")
    stubber.add_response(
        "get_service_linked_role_deletion_status",
        {
            "Status": "FAILED",
            "Reason": {
                "Reason": "role in use",
                "RoleUsageList": [
                    {"Region": "us-east-1", "Resources": ["arn:aws:ecs:us-east-1:1:cluster/c"]}
                ],
            },
        },
    )
    with pytest.raises(ServiceLinkedRoleError) as err:
        wait_for_deletion(client, "AWSServiceRoleForECS", TASK, 300, sleep=lambda _: None)
    assert str(err.value) == (
        "AWS failed to delete service-linked role AWSServiceRoleForECS (role in use; still used"
        " by us-east-1: arn:aws:ecs:us-east-1:1:cluster/c)"
    )


def test_timeout_names_the_task(stubbed):
    client, stubber = stubbed("iam")
    stubber.add_response("get_service_linked_role_deletion_status", {"Status": "IN_PROGRESS"})
    with pytest.raises(ServiceLinkedRoleError, match=f"still IN_PROGRESS after 0s .*{TASK}"):
        wait_for_deletion(client, "AWSServiceRoleForECS", TASK, 0, sleep=lambda _: None)
