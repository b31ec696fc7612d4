from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.ecs_service import (
    EcsServiceError,
    wait_until_stable,
)

from ._data import CLUSTER, NAME, described, queue_describe


def test_returns_once_one_deployment_runs_every_task(stubbed, fake_clock):
    client, stubber = stubbed("ecs")
    queue_describe(stubber, [described(running=0, deployments=2)])
    queue_describe(stubber, [described(running=1, deployments=1)])
    service = wait_until_stable(
        client, CLUSTER, NAME, 600, 15, sleep=fake_clock.sleep, clock=fake_clock
    )
    assert service["runningCount"] == 1
    assert fake_clock.now == 15


def test_times_out_naming_the_service_and_the_timeout(stubbed, fake_clock):
    client, stubber = stubbed("ecs")
    for _attempt in range(3):
        queue_describe(stubber, [described(desired=2, running=1)])
    with pytest.raises(EcsServiceError) as err:
        wait_until_stable(client, CLUSTER, NAME, 30, 15, sleep=fake_clock.sleep, clock=fake_clock)
    assert str(err.value).startswith(
        f"ECS service {NAME} in cluster {CLUSTER} did not become stable within 30 seconds:"
        " 1 of 2 tasks running, 1 pending, 1 deployment(s), rollout IN_PROGRESS"
    )


def test_a_failed_deployment_stops_the_wait(stubbed):
    client, stubber = stubbed("ecs")
    failed = described(running=0)
    failed["deployments"][0].update(
        rolloutState="FAILED", rolloutStateReason="circuit breaker: tasks failed to start"
    )
    queue_describe(stubber, [failed])
    with pytest.raises(EcsServiceError, match="deployment of ECS service .* failed: .*circuit"):
        wait_until_stable(client, CLUSTER, NAME, 600, 15, sleep=lambda _: None)
