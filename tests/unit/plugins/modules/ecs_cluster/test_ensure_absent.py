from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules import ecs_cluster

from ._data import ARN, NAME, described, params, queue_describe


def test_deletes_an_active_cluster(stubbed):
    client, stubber = stubbed("ecs")
    queue_describe(stubber, [described()])
    stubber.add_response("delete_cluster", {"cluster": described()}, {"cluster": NAME})
    assert ecs_cluster.ensure_absent(client, params(state="absent"), False)["changed"] is True


def test_missing_or_inactive_cluster_is_no_change(stubbed):
    client, stubber = stubbed("ecs")
    queue_describe(stubber, failures=[{"arn": ARN, "reason": "MISSING"}])
    assert ecs_cluster.ensure_absent(client, params(state="absent"), False)["changed"] is False
    queue_describe(stubber, [described(status="INACTIVE")])
    assert ecs_cluster.ensure_absent(client, params(state="absent"), False)["changed"] is False


def test_a_cluster_with_services_fails_with_a_clear_message(stubbed, monkeypatch):
    client, stubber = stubbed("ecs")
    # No retries in a unit test: call the undecorated function.
    monkeypatch.setattr(
        ecs_cluster, "delete_cluster", lambda c, name: c.delete_cluster(cluster=name)
    )
    queue_describe(stubber, [described()])
    stubber.add_client_error(
        "delete_cluster",
        service_error_code="ClusterContainsServicesException",
        service_message="The Cluster cannot be deleted while Services are active.",
    )
    with pytest.raises(ecs_cluster.EcsClusterError, match=f"ECS cluster {NAME} still has services"):
        ecs_cluster.ensure_absent(client, params(state="absent"), False)
