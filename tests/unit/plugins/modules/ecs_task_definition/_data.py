"""Task definitions as the module requests them and as DescribeTaskDefinition reports them."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

FAMILY = "production-mlflow-tracking"
ARN = f"arn:aws:ecs:us-east-1:123456789012:task-definition/{FAMILY}"
ROLE = "arn:aws:iam::123456789012:role/production-mlflow-execution"
TAGS = {"Environment": "production", "Name": FAMILY}


def container(**overrides):
    result = {
        "name": "mlflow",
        "image": "mlflow-tracking:latest",
        "essential": True,
        "portMappings": [{"containerPort": 5000, "protocol": "tcp"}],
        "environment": [
            {"name": "MLFLOW_ALLOWED_HOSTS", "value": "alb.example.com"},
            {"name": "MLFLOW_PORT", "value": "5000"},
            {"name": "MLFLOW_WORKERS", "value": "1"},
        ],
        "secrets": [],
        "mountPoints": [],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": "/ecs/production-mlflow-tracking",
                "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": "ecs",
            },
        },
        "healthCheck": {
            "command": ["CMD", "python", "/app/entrypoint.py", "healthcheck"],
            "interval": 30,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 10,
        },
        "stopTimeout": 30,
    }
    result.update(overrides)
    return result


def params(**overrides):
    result = {
        "family": FAMILY,
        "state": "present",
        "container_definitions": [container()],
        "network_mode": "awsvpc",
        "requires_compatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "task_role_arn": "",
        "execution_role_arn": ROLE,
        "runtime_platform": {"cpu_architecture": "X86_64", "operating_system_family": "LINUX"},
        "ephemeral_storage_gib": None,
        "volumes": [],
        "tags": dict(TAGS),
        "purge_tags": True,
    }
    result.update(overrides)
    return result


def described(revision=1, containers=None, **overrides):
    """What AWS answers: defaults filled in, lists reordered, read-only keys added."""
    reported = copy.deepcopy(containers or [container()])
    for c in reported:
        c.setdefault("cpu", 0)
        c.setdefault("volumesFrom", [])
        c.setdefault("systemControls", [])
        if not c.get("secrets"):
            c.pop("secrets", None)  # AWS leaves out unset lists
        for mapping in c.get("portMappings", []):
            mapping.setdefault("hostPort", mapping["containerPort"])
        c["environment"] = list(reversed(c.get("environment", [])))
    result = {
        "taskDefinitionArn": f"{ARN}:{revision}",
        "containerDefinitions": reported,
        "family": FAMILY,
        "executionRoleArn": ROLE,
        "networkMode": "awsvpc",
        "revision": revision,
        "volumes": [],
        "status": "ACTIVE",
        "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.logging-driver.awslogs"}],
        "placementConstraints": [],
        "compatibilities": ["EC2", "FARGATE"],
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "registeredAt": datetime(2024, 5, 1, tzinfo=UTC),
    }
    result.update(overrides)
    return result


def tag_list(tags):
    return [{"key": k, "value": v} for k, v in tags.items()]


def queue_list(stubber, status, arns):
    stubber.add_response(
        "list_task_definitions",
        {"taskDefinitionArns": arns},
        {"familyPrefix": FAMILY, "status": status},
    )


def queue_describe(stubber, definition, tags=None):
    stubber.add_response(
        "describe_task_definition",
        {"taskDefinition": definition, "tags": tag_list(TAGS if tags is None else tags)},
        {"taskDefinition": definition["taskDefinitionArn"], "include": ["TAGS"]},
    )
