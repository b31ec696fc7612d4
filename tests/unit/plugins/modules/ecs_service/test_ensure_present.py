from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.ecs_service import (
    EcsServiceError,
    ensure_present,
)
from botocore.stub import ANY

from ._data import ARN, CLUSTER, NAME, TAGS, TG, described, params, queue_describe, queue_missing


def cluster_not_found(stubber):
    stubber.add_client_error(
        "describe_services", service_error_code="ClusterNotFoundException", http_status_code=400
    )


def test_check_mode_without_the_cluster_reports_a_creation(stubbed):
    client, stubber = stubbed("ecs")
    cluster_not_found(stubber)
    result = ensure_present(client, params(), check_mode=True)
    assert (result["changed"], result["service"]) == (True, {})


def test_a_missing_cluster_is_an_error_outside_check_mode(stubbed):
    client, stubber = stubbed("ecs")
    cluster_not_found(stubber)
    with pytest.raises(EcsServiceError, match=f"ECS cluster {CLUSTER} of service {NAME}"):
        ensure_present(client, params(), check_mode=False)


def test_creates_the_service_with_every_setting_then_waits(stubbed):
    client, stubber = stubbed("ecs")
    queue_missing(stubber)
    stubber.add_response(
        "create_service",
        {"service": described()},
        {
            "cluster": CLUSTER,
            "serviceName": NAME,
            "taskDefinition": "production-mlflow-tracking:1",
            "desiredCount": 1,
            "launchType": "FARGATE",
            "platformVersion": "LATEST",
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": ["subnet-1", "subnet-2"],
                    "securityGroups": ["sg-1"],
                    "assignPublicIp": "ENABLED",
                }
            },
            "loadBalancers": [
                {"targetGroupArn": TG, "containerName": "mlflow", "containerPort": 5000}
            ],
            "healthCheckGracePeriodSeconds": 60,
            "deploymentConfiguration": {
                "minimumHealthyPercent": 100,
                "maximumPercent": 200,
                "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            },
            "propagateTags": "SERVICE",
            "enableECSManagedTags": True,
            "tags": [{"key": k, "value": v} for k, v in TAGS.items()],
        },
    )
    queue_describe(stubber, [described()])
    result = ensure_present(client, params(), check_mode=False)
    assert result["changed"] is True
    assert result["service"]["service_arn"] == ARN
    assert result["service"]["tags"] == TAGS


def test_an_unchanged_service_is_left_alone_without_waiting(stubbed):
    client, stubber = stubbed("ecs")
    queue_describe(stubber, [described()])
    result = ensure_present(client, params(), check_mode=False)
    assert result["changed"] is False


def test_a_new_revision_updates_the_service_and_tags_are_set_apart(stubbed):
    client, stubber = stubbed("ecs")
    queue_describe(stubber, [described(tags=[{"key": "Old", "value": "x"}])])
    stubber.add_response(
        "update_service",
        {"service": described(revision=2)},
        {"cluster": CLUSTER, "service": NAME, "taskDefinition": "production-mlflow-tracking:2"},
    )
    stubber.add_response("untag_resource", {}, {"resourceArn": ARN, "tagKeys": ["Old"]})
    # The order of the added tags is not significant.
    stubber.add_response("tag_resource", {}, {"resourceArn": ARN, "tags": ANY})
    queue_describe(stubber, [described(revision=2)])
    result = ensure_present(
        client, params(task_definition="production-mlflow-tracking:2"), check_mode=False
    )
    assert result["changed"] is True
    assert result["diff"]["after"]["taskDefinition"] == "production-mlflow-tracking:2"
