from __future__ import annotations

from ansible_collections.mlops.mlflow_ecs.plugins.modules.ecs_service_autoscaling import (
    ensure_absent,
)

from ._data import DIMENSION, POLICY, RID, params, policy, queue_policies, queue_targets, target


def test_deletes_the_policy_and_deregisters_the_target(stubbed):
    client, stubber = stubbed("application-autoscaling")
    queue_targets(stubber, [target()])
    queue_policies(stubber, [policy()])
    stubber.add_response(
        "delete_scaling_policy",
        {},
        {
            "PolicyName": POLICY,
            "ServiceNamespace": "ecs",
            "ResourceId": RID,
            "ScalableDimension": DIMENSION,
        },
    )
    stubber.add_response(
        "deregister_scalable_target",
        {},
        {"ServiceNamespace": "ecs", "ResourceId": RID, "ScalableDimension": DIMENSION},
    )
    assert ensure_absent(client, params(state="absent"), check_mode=False)["changed"] is True


def test_nothing_to_remove_is_no_change(stubbed):
    client, stubber = stubbed("application-autoscaling")
    queue_targets(stubber, [])
    queue_policies(stubber, [])
    assert ensure_absent(client, params(state="absent"), check_mode=False)["changed"] is False
