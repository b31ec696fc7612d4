from __future__ import annotations

from ansible_collections.mlops.mlflow_ecs.plugins.modules.ecs_service_autoscaling import (
    ensure_present,
)

from ._data import (
    DIMENSION,
    LABEL,
    POLICY,
    RID,
    cpu_configuration,
    params,
    policy,
    queue_policies,
    queue_targets,
    target,
)


def test_check_mode_registers_nothing(stubbed):
    client, stubber = stubbed("application-autoscaling")
    queue_targets(stubber, [])
    queue_policies(stubber, [])
    result = ensure_present(client, params(), check_mode=True)
    assert result["changed"] is True
    assert result["scalable_target"] == {}
    assert result["scalable_target_registered"] is False


def test_registers_the_target_with_tags_and_puts_the_policy(stubbed):
    client, stubber = stubbed("application-autoscaling")
    queue_targets(stubber, [])
    queue_policies(stubber, [])
    stubber.add_response(
        "register_scalable_target",
        {},
        {
            "ServiceNamespace": "ecs",
            "ResourceId": RID,
            "ScalableDimension": DIMENSION,
            "MinCapacity": 1,
            "MaxCapacity": 3,
            "Tags": {"Name": "production-mlflow-tracking"},
        },
    )
    stubber.add_response(
        "put_scaling_policy",
        {"PolicyARN": policy()["PolicyARN"], "Alarms": []},
        {
            "PolicyName": POLICY,
            "ServiceNamespace": "ecs",
            "ResourceId": RID,
            "ScalableDimension": DIMENSION,
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": cpu_configuration(),
        },
    )
    queue_targets(stubber, [target()])
    queue_policies(stubber, [policy()])
    result = ensure_present(client, params(), check_mode=False)
    assert result["changed"] is True
    assert result["scalable_target"] == {"resource_id": RID, "min_capacity": 1, "max_capacity": 3}
    assert result["scalable_target_registered"] is True
    assert result["scaling_policy"]["policy_name"] == POLICY


def test_the_same_settings_are_no_change(stubbed):
    client, stubber = stubbed("application-autoscaling")
    queue_targets(stubber, [target()])
    queue_policies(stubber, [policy()])
    assert ensure_present(client, params(), check_mode=False)["changed"] is False


def test_requests_per_target_names_the_load_balancer_and_target_group(stubbed):
    client, stubber = stubbed("application-autoscaling")
    queue_targets(stubber, [target()])
    queue_policies(stubber, [policy()])
    configuration = {
        **cpu_configuration(500.0),
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "ALBRequestCountPerTarget",
            "ResourceLabel": LABEL,
        },
    }
    stubber.add_response(
        "put_scaling_policy",
        {"PolicyARN": policy()["PolicyARN"], "Alarms": []},
        {
            "PolicyName": POLICY,
            "ServiceNamespace": "ecs",
            "ResourceId": RID,
            "ScalableDimension": DIMENSION,
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": configuration,
        },
    )
    queue_targets(stubber, [target()])
    queue_policies(stubber, [policy(configuration)])
    result = ensure_present(
        client,
        params(metric="requests", resource_label=LABEL, target_value=500.0),
        check_mode=False,
    )
    assert result["changed"] is True
    # Only the policy changed: the range was not registered again.
    assert result["scalable_target_registered"] is False
