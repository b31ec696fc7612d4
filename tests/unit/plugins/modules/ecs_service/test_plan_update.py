from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.ecs_service import (
    EcsServiceError,
    current_state,
    desired_state,
    plan_update,
)

from ._data import described, params


def test_a_service_as_requested_needs_no_update():
    assert plan_update(desired_state(params()), current_state(described())) == {}


def test_a_new_revision_updates_only_the_task_definition():
    wanted = desired_state(params(task_definition="production-mlflow-tracking:2"))
    assert plan_update(wanted, current_state(described())) == {
        "taskDefinition": "production-mlflow-tracking:2"
    }


def test_properties_the_service_does_not_report_are_not_compared():
    # moto leaves these out after CreateService.
    reported = described()
    for key in ("deploymentConfiguration", "healthCheckGracePeriodSeconds", "enableECSManagedTags"):
        del reported[key]
    assert plan_update(desired_state(params()), current_state(reported)) == {}


def test_desired_count_is_kept_when_asked():
    wanted = desired_state(params(desired_count=3))
    assert plan_update(wanted, current_state(described(desired=2)), keep_desired_count=True) == {}
    assert plan_update(wanted, current_state(described(desired=2))) == {"desiredCount": 3}


def test_network_and_deployment_changes_are_sent_whole():
    wanted = desired_state(
        params(
            network_configuration={
                "subnets": ["subnet-1"],
                "security_groups": ["sg-1"],
                "assign_public_ip": True,
            },
            deployment_configuration={"minimum_healthy_percent": 50, "maximum_percent": 200},
        )
    )
    update = plan_update(wanted, current_state(described()))
    assert update == {
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": ["subnet-1"],
                "securityGroups": ["sg-1"],
                "assignPublicIp": "ENABLED",
            }
        },
        "deploymentConfiguration": {"minimumHealthyPercent": 50, "maximumPercent": 200},
    }


def test_the_launch_type_cannot_be_switched():
    with pytest.raises(EcsServiceError, match="launch type EC2 and cannot be switched to FARGATE"):
        plan_update(desired_state(params()), current_state(described(launchType="EC2")))


SPOT = [{"capacity_provider": "FARGATE_SPOT", "weight": 1, "base": 0}]


def test_a_launch_type_service_moves_to_the_requested_capacity_provider_strategy():
    # ecs_capacity_provider: FARGATE_SPOT on a service deployed with the FARGATE launch type.
    wanted = desired_state(params(launch_type=None, capacity_provider_strategy=SPOT))
    assert plan_update(wanted, current_state(described())) == {
        "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}],
        # The strategy applies to new tasks only: the running ones are replaced.
        "forceNewDeployment": True,
    }
    # Nor does a service brought back from a strategy with an empty one report a launch type.
    back = described()
    del back["launchType"]
    assert plan_update(wanted, current_state(back))["capacityProviderStrategy"] == [
        {"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}
    ]


def test_a_strategy_service_goes_back_to_the_launch_type_with_an_empty_strategy():
    # ecs_capacity_provider back to FARGATE: AWS takes an empty capacityProviderStrategy.
    on_spot = described(
        capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}]
    )
    del on_spot["launchType"]
    assert plan_update(desired_state(params()), current_state(on_spot)) == {
        "capacityProviderStrategy": [],
        "forceNewDeployment": True,
    }
    # Once back (no strategy reported, or only the on-demand FARGATE provider), nothing to do.
    del on_spot["capacityProviderStrategy"]
    assert plan_update(desired_state(params()), current_state(on_spot)) == {}
    on_demand = described(
        capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]
    )
    del on_demand["launchType"]
    assert plan_update(desired_state(params()), current_state(on_demand)) == {}
