from __future__ import annotations

from ansible_collections.mlops.mlflow_ecs.plugins.modules.efs_file_system import (
    ensure_absent,
    ensure_present,
)
from botocore.stub import ANY

from ._data import (
    FS_ID,
    NAME,
    SG,
    SUBNETS,
    file_system,
    mount_target,
    params,
    queue_file_systems,
    queue_mount_targets,
)


def no_sleep(_seconds):
    pass


def test_check_mode_reports_a_creation_and_creates_nothing(stubbed):
    client, stubber = stubbed("efs")
    queue_file_systems(stubber, [])
    assert ensure_present(client, params(), check_mode=True) == {"changed": True, "file_system": {}}


def test_creates_the_file_system_then_its_mount_targets(stubbed):
    client, stubber = stubbed("efs")
    queue_file_systems(stubber, [])
    stubber.add_response(
        "create_file_system",
        file_system(LifeCycleState="creating"),
        {
            "CreationToken": NAME,
            "PerformanceMode": "generalPurpose",
            "Encrypted": True,
            "ThroughputMode": "bursting",
            "Tags": ANY,
        },
    )
    queue_file_systems(stubber, [file_system()], FileSystemId=FS_ID)  # wait: available
    queue_file_systems(stubber, [file_system()])
    queue_mount_targets(stubber, [])
    for index, subnet in enumerate(SUBNETS):
        stubber.add_response(
            "create_mount_target",
            mount_target(subnet, index, "creating"),
            {"FileSystemId": FS_ID, "SubnetId": subnet, "SecurityGroups": [SG]},
        )
    stubber.add_response(
        "describe_mount_targets",
        {"MountTargets": [mount_target(s, i) for i, s in enumerate(SUBNETS)]},
        {"FileSystemId": FS_ID},
    )
    queue_mount_targets(stubber, [mount_target(s, i) for i, s in enumerate(SUBNETS)])
    result = ensure_present(client, params(), check_mode=False, sleep=no_sleep)
    assert result["changed"] is True
    fs = result["file_system"]
    assert (fs["file_system_id"], fs["encrypted"], fs["performance_mode"]) == (
        FS_ID,
        True,
        "general_purpose",
    )
    assert [t["subnet_id"] for t in fs["mount_targets"]] == SUBNETS
    assert fs["mount_targets"][0]["security_groups"] == [SG]


def test_file_system_as_asked_is_no_change(stubbed):
    client, stubber = stubbed("efs")
    queue_file_systems(stubber, [file_system()])
    queue_mount_targets(stubber, [mount_target(s, i) for i, s in enumerate(SUBNETS)])
    result = ensure_present(client, params(), check_mode=False, sleep=no_sleep)
    assert result["changed"] is False


def test_absent_deletes_mount_targets_first(stubbed):
    client, stubber = stubbed("efs")
    queue_file_systems(stubber, [file_system()])
    targets = [mount_target(s, i) for i, s in enumerate(SUBNETS)]
    listing = {"FileSystemId": FS_ID}
    stubber.add_response("describe_mount_targets", {"MountTargets": targets}, listing)
    for target in targets:
        stubber.add_response("delete_mount_target", {}, {"MountTargetId": target["MountTargetId"]})
    stubber.add_response("describe_mount_targets", {"MountTargets": []}, {"FileSystemId": FS_ID})
    stubber.add_response("delete_file_system", {}, {"FileSystemId": FS_ID})
    stubber.add_client_error(
        "describe_file_systems",
        service_error_code="FileSystemNotFound",
        http_status_code=404,
        expected_params={"FileSystemId": FS_ID},
    )
    result = ensure_absent(client, params(state="absent"), check_mode=False, sleep=no_sleep)
    assert result == {"changed": True, "file_system": {}}


def test_absent_without_file_system_is_no_change(stubbed):
    client, stubber = stubbed("efs")
    queue_file_systems(stubber, [])
    assert ensure_absent(client, params(state="absent"), check_mode=True)["changed"] is False
