from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.efs_file_system import (
    FileSystemError,
    immutable_differences,
    plan_mount_targets,
    throughput_change,
    validate_params,
)

from ._data import SG, SUBNETS, file_system, mount_target, params


def described(subnet, index, groups):
    return dict(mount_target(subnet, index), SecurityGroups=groups)


def test_valid_params_pass():
    validate_params(params())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": ""}, "1 to 64 characters"),
        ({"mount_targets": [{"subnet_id": "s", "security_groups": [SG]}] * 2}, "subnet twice"),
        ({"mount_targets": [{"subnet_id": "s", "security_groups": []}]}, "1 to 5 security"),
        ({"throughput_mode": "provisioned"}, "provisioned_throughput_in_mibps is required"),
        ({"provisioned_throughput_in_mibps": 10.0}, "provisioned_throughput_in_mibps is required"),
    ],
)
def test_bad_params_are_refused(overrides, message):
    with pytest.raises(FileSystemError, match=message):
        validate_params(params(**overrides))


def test_nothing_to_do_when_every_subnet_has_its_target():
    current = [described(SUBNETS[0], 0, [SG]), described(SUBNETS[1], 1, [SG])]
    assert plan_mount_targets(current, params()["mount_targets"]) == ([], [], [])


def test_missing_target_is_created_and_stray_one_deleted():
    stray = described("subnet-other", 1, [SG])
    to_create, to_delete, to_modify = plan_mount_targets(
        [described(SUBNETS[0], 0, [SG]), stray], params()["mount_targets"]
    )
    assert [t["subnet_id"] for t in to_create] == [SUBNETS[1]]
    assert to_delete == [stray]
    assert to_modify == []


def test_other_security_groups_are_replaced_in_place():
    current = [described(SUBNETS[0], 0, ["sg-old"]), described(SUBNETS[1], 1, [SG])]
    to_modify = plan_mount_targets(current, params()["mount_targets"])[2]
    assert [(t["SubnetId"], groups) for t, groups in to_modify] == [(SUBNETS[0], [SG])]


def test_settings_fixed_at_creation_are_compared():
    assert immutable_differences(file_system(), params()) == []
    differences = immutable_differences(
        file_system(Encrypted=False, PerformanceMode="maxIO"), params()
    )
    assert [d.split(" ")[0] for d in differences] == ["encrypted", "performance_mode"]
    assert immutable_differences(file_system(), params(kms_key_id="0000")) == []
    assert immutable_differences(file_system(), params(kms_key_id="other"))


def test_throughput_change():
    assert throughput_change(file_system(), params()) is None
    assert throughput_change(file_system(), params(throughput_mode=None)) is None
    assert throughput_change(file_system(), params(throughput_mode="elastic")) == ("elastic", None)
    provisioned = file_system(ThroughputMode="provisioned", ProvisionedThroughputInMibps=10.0)
    wanted = params(throughput_mode="provisioned", provisioned_throughput_in_mibps=10.0)
    assert throughput_change(provisioned, wanted) is None
    wanted["provisioned_throughput_in_mibps"] = 20.0
    assert throughput_change(provisioned, wanted) == ("provisioned", 20.0)
