"""Application Auto Scaling answers for an ECS service."""

from __future__ import annotations

CLUSTER = "production-mlflow-cluster"
SERVICE = "production-mlflow-tracking"
RID = f"service/{CLUSTER}/{SERVICE}"
POLICY = f"{SERVICE}-target-tracking"
DIMENSION = "ecs:service:DesiredCount"
LABEL = "app/production-mlflow-alb/1/targetgroup/production-mlflow-tg/2"


def params(**overrides):
    result = {
        "cluster": CLUSTER,
        "service": SERVICE,
        "state": "present",
        "min_capacity": 1,
        "max_capacity": 3,
        "policy_name": None,
        "metric": "cpu",
        "resource_label": None,
        "target_value": 60.0,
        "scale_in_cooldown": 300,
        "scale_out_cooldown": 60,
        "disable_scale_in": False,
        "tags": {"Name": SERVICE},
    }
    result.update(overrides)
    return result


def target(min_capacity=1, max_capacity=3):
    return {
        "ServiceNamespace": "ecs",
        "ResourceId": RID,
        "ScalableDimension": DIMENSION,
        "MinCapacity": min_capacity,
        "MaxCapacity": max_capacity,
        "RoleARN": "arn:aws:iam::123456789012:role/aws-service-role/x",
        "CreationTime": "2024-05-01T00:00:00Z",
    }


def cpu_configuration(target_value=60.0):
    return {
        "TargetValue": target_value,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
        },
        "ScaleInCooldown": 300,
        "ScaleOutCooldown": 60,
        "DisableScaleIn": False,
    }


def policy(configuration=None):
    return {
        "PolicyARN": (
            "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1"
            f":resource/ecs/{RID}:policyName/{POLICY}"
        ),
        "PolicyName": POLICY,
        "ServiceNamespace": "ecs",
        "ResourceId": RID,
        "ScalableDimension": DIMENSION,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": configuration or cpu_configuration(),
        "CreationTime": "2024-05-01T00:00:00Z",
    }


def queue_targets(stubber, targets):
    stubber.add_response(
        "describe_scalable_targets",
        {"ScalableTargets": targets},
        {"ServiceNamespace": "ecs", "ResourceIds": [RID], "ScalableDimension": DIMENSION},
    )


def queue_policies(stubber, policies):
    stubber.add_response(
        "describe_scaling_policies",
        {"ScalingPolicies": policies},
        {
            "ServiceNamespace": "ecs",
            "ResourceId": RID,
            "ScalableDimension": DIMENSION,
            "PolicyNames": [POLICY],
        },
    )
