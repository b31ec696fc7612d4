"""ECS clusters as the module requests them and as DescribeClusters reports them."""

from __future__ import annotations

NAME = "production-mlflow-cluster"
ARN = f"arn:aws:ecs:us-east-1:123456789012:cluster/{NAME}"
TAGS = {"Environment": "production", "Name": NAME}


def params(**overrides):
    result = {
        "name": NAME,
        "state": "present",
        "capacity_providers": ["FARGATE", "FARGATE_SPOT"],
        "default_capacity_provider_strategy": [
            {"capacity_provider": "FARGATE", "weight": 1, "base": 0}
        ],
        "container_insights": "disabled",
        "tags": dict(TAGS),
        "purge_tags": True,
    }
    result.update(overrides)
    return result


def described(status="ACTIVE", insights="disabled", tags=None, **overrides):
    result = {
        "clusterArn": ARN,
        "clusterName": NAME,
        "status": status,
        "settings": [{"name": "containerInsights", "value": insights}],
        "capacityProviders": ["FARGATE_SPOT", "FARGATE"],
        "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}],
        "tags": [{"key": k, "value": v} for k, v in (TAGS if tags is None else tags).items()],
    }
    result.update(overrides)
    return result


def queue_describe(stubber, clusters=None, failures=None):
    stubber.add_response(
        "describe_clusters",
        {"clusters": clusters or [], "failures": failures or []},
        {"clusters": [NAME], "include": ["SETTINGS", "TAGS"]},
    )
