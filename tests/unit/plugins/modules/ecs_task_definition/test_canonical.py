from __future__ import annotations

from ansible_collections.mlops.mlflow_ecs.plugins.modules.ecs_task_definition import (
    build_request,
    canonical,
)

from ._data import container, described, params


def test_what_aws_reports_matches_what_was_requested():
    assert canonical(described()) == canonical(build_request(params()))


def test_numbers_given_as_strings_match_numbers():
    requested = container(stopTimeout="30", portMappings=[{"containerPort": "5000"}])
    assert canonical(build_request(params(container_definitions=[requested]))) == canonical(
        described()
    )


def test_task_memory_is_compared():
    assert canonical(build_request(params(memory="1024"))) != canonical(described())


def test_execution_role_runtime_platform_and_storage_are_compared():
    base = canonical(described())
    assert canonical(build_request(params(execution_role_arn="arn:other"))) != base
    arm = {"cpu_architecture": "ARM64", "operating_system_family": "LINUX"}
    assert canonical(build_request(params(runtime_platform=arm))) != base
    assert canonical(build_request(params(ephemeral_storage_gib=30))) != base


def test_a_removed_secret_is_a_change():
    with_secret = container(secrets=[{"name": "MLFLOW_DB_PASSWORD", "valueFrom": "arn:s"}])
    assert canonical(described(containers=[with_secret])) != canonical(build_request(params()))


def test_an_environment_value_change_is_a_change():
    env = [{"name": "MLFLOW_PORT", "value": "5001"}]
    assert canonical(build_request(params(container_definitions=[container(environment=env)]))) != (
        canonical(described())
    )


def test_the_efs_default_root_directory_is_not_a_change():
    volume = {
        "name": "mlflow-data",
        "efsVolumeConfiguration": {
            "fileSystemId": "fs-1",
            "transitEncryption": "ENABLED",
            "authorizationConfig": {"accessPointId": "fsap-1", "iam": "ENABLED"},
        },
    }
    reported = {
        "name": "mlflow-data",
        "efsVolumeConfiguration": {**volume["efsVolumeConfiguration"], "rootDirectory": "/"},
    }
    assert canonical(build_request(params(volumes=[volume]))) == canonical(
        described(volumes=[reported])
    )
