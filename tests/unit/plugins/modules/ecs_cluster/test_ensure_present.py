from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.ecs_cluster import (
    EcsClusterError,
    ensure_present,
    validate_params,
)

from ._data import ARN, NAME, TAGS, described, params, queue_describe


def test_check_mode_creates_nothing(stubbed):
    client, stubber = stubbed("ecs")
    queue_describe(stubber, failures=[{"arn": ARN, "reason": "MISSING"}])
    result = ensure_present(client, params(), check_mode=True)
    assert (result["changed"], result["cluster"]) == (True, {})


def test_creates_the_cluster_with_providers_strategy_setting_and_tags(stubbed):
    client, stubber = stubbed("ecs")
    queue_describe(stubber, failures=[{"arn": ARN, "reason": "MISSING"}])
    stubber.add_response(
        "create_cluster",
        {"cluster": described()},
        {
            "clusterName": NAME,
            "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
            "defaultCapacityProviderStrategy": [
                {"capacityProvider": "FARGATE", "weight": 1, "base": 0}
            ],
            "settings": [{"name": "containerInsights", "value": "disabled"}],
            "tags": [{"key": k, "value": v} for k, v in TAGS.items()],
        },
    )
    queue_describe(stubber, [described()])
    result = ensure_present(client, params(), check_mode=False)
    assert result["changed"] is True
    assert result["cluster"]["cluster_arn"] == ARN
    assert result["cluster"]["default_capacity_provider_strategy"] == [
        {"capacity_provider": "FARGATE", "weight": 1, "base": 0}
    ]


def test_an_inactive_cluster_is_created_again(stubbed):
    client, stubber = stubbed("ecs")
    queue_describe(stubber, [described(status="INACTIVE")])
    result = ensure_present(client, params(), check_mode=True)
    assert result["changed"] is True


def test_a_cluster_as_requested_is_no_change(stubbed):
    client, stubber = stubbed("ecs")
    queue_describe(stubber, [described()])
    result = ensure_present(client, params(), check_mode=False)
    assert result["changed"] is False
    assert result["diff"]["before"] == result["diff"]["after"]


def test_container_insights_and_tags_are_updated(stubbed):
    client, stubber = stubbed("ecs")
    queue_describe(stubber, [described(tags={**TAGS, "Old": "x"})])
    stubber.add_response(
        "update_cluster",
        {"cluster": described(insights="enabled")},
        {"cluster": NAME, "settings": [{"name": "containerInsights", "value": "enabled"}]},
    )
    stubber.add_response("untag_resource", {}, {"resourceArn": ARN, "tagKeys": ["Old"]})
    queue_describe(stubber, [described(insights="enabled")])
    result = ensure_present(client, params(container_insights="enabled"), check_mode=False)
    assert result["changed"] is True
    assert result["cluster"]["container_insights"] == "enabled"


def test_a_strategy_provider_must_be_a_capacity_provider():
    with pytest.raises(EcsClusterError, match="not in capacity_providers: FARGATE"):
        validate_params(params(capacity_providers=["FARGATE_SPOT"]))
