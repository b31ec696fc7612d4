"""ECS services as the module requests them and as DescribeServices reports them."""

from __future__ import annotations

CLUSTER = "production-mlflow-cluster"
NAME = "production-mlflow-tracking"
ARN = f"arn:aws:ecs:us-east-1:123456789012:service/{CLUSTER}/{NAME}"
TD_ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/production-mlflow-tracking"
TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/production-mlflow-tg/1"
TAGS = {"Environment": "production", "Name": NAME}


def params(**overrides):
    result = {
        "name": NAME,
        "cluster": CLUSTER,
        "state": "present",
        "task_definition": "production-mlflow-tracking:1",
        "desired_count": 1,
        "keep_desired_count": False,
        "launch_type": "FARGATE",
        "capacity_provider_strategy": None,
        "platform_version": "LATEST",
        "network_configuration": {
            "subnets": ["subnet-2", "subnet-1"],
            "security_groups": ["sg-1"],
            "assign_public_ip": True,
        },
        "load_balancers": [
            {"target_group_arn": TG, "container_name": "mlflow", "container_port": 5000}
        ],
        "health_check_grace_period_seconds": 60,
        "deployment_configuration": {
            "minimum_healthy_percent": 100,
            "maximum_percent": 200,
            "deployment_circuit_breaker": {"enable": True, "rollback": True},
        },
        "propagate_tags": "SERVICE",
        "enable_ecs_managed_tags": True,
        "tags": dict(TAGS),
        "purge_tags": True,
        "force_new_deployment": False,
        "wait": True,
        "wait_timeout": 600,
        "wait_delay": 15,
    }
    result.update(overrides)
    return result


def described(revision=1, desired=1, running=1, deployments=1, **overrides):
    """A service as AWS reports it (all managed properties present)."""
    result = {
        "serviceArn": ARN,
        "serviceName": NAME,
        "clusterArn": f"arn:aws:ecs:us-east-1:123456789012:cluster/{CLUSTER}",
        "loadBalancers": [{"targetGroupArn": TG, "containerName": "mlflow", "containerPort": 5000}],
        "status": "ACTIVE",
        "desiredCount": desired,
        "runningCount": running,
        "pendingCount": max(desired - running, 0),
        "launchType": "FARGATE",
        "platformVersion": "LATEST",
        "taskDefinition": f"{TD_ARN}:{revision}",
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
        "deployments": [
            {
                "id": f"ecs-svc/{i}",
                "status": "PRIMARY" if i == 0 else "ACTIVE",
                "taskDefinition": f"{TD_ARN}:{revision}",
                "desiredCount": desired,
                "runningCount": running,
                "rolloutState": "IN_PROGRESS",
            }
            for i in range(deployments)
        ],
        "events": [],
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": ["subnet-1", "subnet-2"],
                "securityGroups": ["sg-1"],
                "assignPublicIp": "ENABLED",
            }
        },
        "healthCheckGracePeriodSeconds": 60,
        "schedulingStrategy": "REPLICA",
        "tags": [{"key": k, "value": v} for k, v in TAGS.items()],
        "enableECSManagedTags": True,
        "propagateTags": "SERVICE",
    }
    result.update(overrides)
    return result


def queue_describe(stubber, services=None, failures=None):
    stubber.add_response(
        "describe_services",
        {"services": services or [], "failures": failures or []},
        {"cluster": CLUSTER, "services": [NAME], "include": ["TAGS"]},
    )


def queue_missing(stubber):
    queue_describe(stubber, failures=[{"arn": ARN, "reason": "MISSING"}])
