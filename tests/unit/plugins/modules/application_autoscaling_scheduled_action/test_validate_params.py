from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.application_autoscaling_scheduled_action import (  # noqa: E501
    ScheduledActionError,
    action_view,
    validate_params,
)


def params(**overrides):
    base = {
        "scheduled_action_name": "dev-mlflow-tracking-office-hours-stop",
        "service_namespace": "ecs",
        "resource_id": "service/dev-mlflow-cluster/dev-mlflow-tracking",
        "scalable_dimension": "ecs:service:DesiredCount",
        "state": "present",
        "schedule": "cron(0 20 ? * MON,TUE,WED,THU,FRI *)",
        "timezone": "Europe/Madrid",
        "min_capacity": 0,
        "max_capacity": 0,
    }
    return base | overrides


@pytest.mark.parametrize(
    "schedule",
    ["cron(0 20 ? * MON-FRI *)", "rate(5 minutes)", "at(2026-12-24T18:00:00)"],
)
def test_aws_schedule_forms_are_accepted(schedule):
    validate_params(params(schedule=schedule))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"schedule": "0 20 * * 1-5"}, "none of cron"),
        ({"schedule": "cron(0 20 * * 1-5)"}, "none of cron"),  # five fields: Unix cron
        ({"schedule": None}, "schedule is required"),
        ({"min_capacity": None, "max_capacity": None}, "min_capacity or max_capacity"),
        ({"min_capacity": 2, "max_capacity": 1}, "above max_capacity"),
        ({"min_capacity": -1}, "at least 0"),
        ({"scheduled_action_name": "a:b"}, "no ':'"),
    ],
)
def test_what_aws_refuses_is_refused_first(overrides, message):
    with pytest.raises(ScheduledActionError, match=message):
        validate_params(params(**overrides))


def test_absent_needs_no_schedule():
    validate_params(params(state="absent", schedule=None, min_capacity=None, max_capacity=None))


def test_action_view_defaults_the_time_zone_to_utc():
    action = {
        "ScheduledActionName": "x",
        "Schedule": "rate(1 hour)",
        "ScalableTargetAction": {"MinCapacity": 0},
    }
    assert action_view(action) == {
        "scheduled_action_name": "x",
        "schedule": "rate(1 hour)",
        "timezone": "UTC",
        "min_capacity": 0,
    }
