from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.application_autoscaling_scheduled_action import (  # noqa: E501
    ScheduledActionError,
    ensure_absent,
    ensure_present,
)

from .test_validate_params import params

NAME = "dev-mlflow-tracking-office-hours-stop"
RID = "service/dev-mlflow-cluster/dev-mlflow-tracking"
DIMENSION = "ecs:service:DesiredCount"
WHEN = datetime(2026, 11, 30, tzinfo=UTC)


def action(**overrides):
    base = {
        "ScheduledActionName": NAME,
        "ScheduledActionARN": f"arn:aws:autoscaling:us-east-1:1:scheduledAction:x/{NAME}",
        "ServiceNamespace": "ecs",
        "Schedule": "cron(0 20 ? * MON,TUE,WED,THU,FRI *)",
        "Timezone": "Europe/Madrid",
        "ResourceId": RID,
        "ScalableDimension": DIMENSION,
        "ScalableTargetAction": {"MinCapacity": 0, "MaxCapacity": 0},
        "CreationTime": WHEN,
    }
    return base | overrides


def queue_actions(stubber, actions):
    stubber.add_response(
        "describe_scheduled_actions",
        {"ScheduledActions": actions},
        {
            "ServiceNamespace": "ecs",
            "ScheduledActionNames": [NAME],
            "ResourceId": RID,
            "ScalableDimension": DIMENSION,
        },
    )


def queue_targets(stubber, registered):
    target = {
        "ServiceNamespace": "ecs",
        "ResourceId": RID,
        "ScalableDimension": DIMENSION,
        "MinCapacity": 1,
        "MaxCapacity": 1,
        "RoleARN": "arn:aws:iam::123456789012:role/x",
        "CreationTime": WHEN,
    }
    stubber.add_response(
        "describe_scalable_targets",
        {"ScalableTargets": [target] if registered else []},
        {"ServiceNamespace": "ecs", "ResourceIds": [RID], "ScalableDimension": DIMENSION},
    )


def test_check_mode_puts_nothing(stubbed):
    client, stubber = stubbed("application-autoscaling")
    queue_actions(stubber, [])
    result = ensure_present(client, params(), check_mode=True)
    assert result["changed"] is True
    assert result["scheduled_action"] == {}
    assert result["diff"]["after"]["scheduled_action"]["min_capacity"] == 0


def test_puts_the_action_on_a_registered_target(stubbed):
    client, stubber = stubbed("application-autoscaling")
    queue_actions(stubber, [])
    queue_targets(stubber, registered=True)
    stubber.add_response(
        "put_scheduled_action",
        {},
        {
            "ServiceNamespace": "ecs",
            "ScheduledActionName": NAME,
            "ResourceId": RID,
            "ScalableDimension": DIMENSION,
            "Schedule": "cron(0 20 ? * MON,TUE,WED,THU,FRI *)",
            "Timezone": "Europe/Madrid",
            "ScalableTargetAction": {"MinCapacity": 0, "MaxCapacity": 0},
        },
    )
    queue_actions(stubber, [action()])
    result = ensure_present(client, params(), check_mode=False)
    assert result["changed"] is True
    assert result["scheduled_action"]["timezone"] == "Europe/Madrid"


def test_the_same_action_again_changes_nothing(stubbed):
    client, stubber = stubbed("application-autoscaling")
    queue_actions(stubber, [action()])
    result = ensure_present(client, params(), check_mode=False)
    assert result["changed"] is False


def test_an_unregistered_target_is_refused_as_aws_does(stubbed):
    client, stubber = stubbed("application-autoscaling")
    queue_actions(stubber, [])
    queue_targets(stubber, registered=False)
    with pytest.raises(ScheduledActionError, match="no scalable target"):
        ensure_present(client, params(), check_mode=False)


def test_absent_deletes_the_action_once(stubbed):
    client, stubber = stubbed("application-autoscaling")
    queue_actions(stubber, [action()])
    stubber.add_response(
        "delete_scheduled_action",
        {},
        {
            "ServiceNamespace": "ecs",
            "ScheduledActionName": NAME,
            "ResourceId": RID,
            "ScalableDimension": DIMENSION,
        },
    )
    assert ensure_absent(client, params(state="absent"), check_mode=False)["changed"] is True
    queue_actions(stubber, [])
    assert ensure_absent(client, params(state="absent"), check_mode=False)["changed"] is False
