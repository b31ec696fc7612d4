from __future__ import annotations

from ansible_collections.mlops.mlflow_ecs.plugins.modules.ecs_service import ensure_absent

from ._data import CLUSTER, NAME, described, params, queue_describe, queue_missing


def test_scales_to_zero_deletes_and_waits_until_inactive(stubbed):
    client, stubber = stubbed("ecs")
    queue_describe(stubber, [described(desired=2, running=2)])
    stubber.add_response(
        "update_service",
        {"service": described(desired=0, running=0)},
        {"cluster": CLUSTER, "service": NAME, "desiredCount": 0},
    )
    stubber.add_response("delete_service", {}, {"cluster": CLUSTER, "service": NAME})
    queue_describe(stubber, [described(desired=0, running=0, status="INACTIVE")])
    result = ensure_absent(client, params(state="absent"), check_mode=False)
    assert result["changed"] is True


def test_a_missing_service_or_cluster_is_no_change(stubbed):
    client, stubber = stubbed("ecs")
    queue_missing(stubber)
    assert ensure_absent(client, params(state="absent"), check_mode=False)["changed"] is False
    stubber.add_client_error("describe_services", service_error_code="ClusterNotFoundException")
    assert ensure_absent(client, params(state="absent"), check_mode=False)["changed"] is False


def test_check_mode_deletes_nothing(stubbed):
    client, stubber = stubbed("ecs")
    queue_describe(stubber, [described()])
    assert ensure_absent(client, params(state="absent"), check_mode=True)["changed"] is True
