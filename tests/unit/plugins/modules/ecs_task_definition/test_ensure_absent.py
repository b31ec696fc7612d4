from __future__ import annotations

from ansible_collections.mlops.mlflow_ecs.plugins.modules.ecs_task_definition import (
    ensure_absent,
)

from ._data import ARN, params, queue_list


def test_every_active_revision_is_deregistered(stubbed):
    client, stubber = stubbed("ecs")
    queue_list(stubber, "ACTIVE", [f"{ARN}:2", f"{ARN}:1"])
    for revision in (1, 2):
        stubber.add_response(
            "deregister_task_definition", {}, {"taskDefinition": f"{ARN}:{revision}"}
        )
    result = ensure_absent(client, params(state="absent"), check_mode=False)
    assert result["changed"] is True
    assert result["deregistered"] == [f"{ARN}:1", f"{ARN}:2"]


def test_check_mode_deregisters_nothing(stubbed):
    client, stubber = stubbed("ecs")
    queue_list(stubber, "ACTIVE", [f"{ARN}:1"])
    result = ensure_absent(client, params(state="absent"), check_mode=True)
    assert (result["changed"], result["deregistered"]) == (True, [f"{ARN}:1"])


def test_no_active_revision_is_no_change(stubbed):
    client, stubber = stubbed("ecs")
    queue_list(stubber, "ACTIVE", [])
    assert ensure_absent(client, params(state="absent"), check_mode=False)["changed"] is False
