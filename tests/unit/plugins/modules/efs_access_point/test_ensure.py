from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.efs_access_point import (
    AccessPointError,
    ensure_absent,
    ensure_present,
)
from botocore.stub import ANY

from ._data import FS_ID, NAME, access_point, params, queue_list


def test_check_mode_reports_a_creation_and_creates_nothing(stubbed):
    client, stubber = stubbed("efs")
    queue_list(stubber, [])
    assert ensure_present(client, params(), check_mode=True) == {
        "changed": True,
        "access_point": {},
    }


def test_creates_the_missing_access_point_with_a_stable_client_token(stubbed):
    client, stubber = stubbed("efs")
    queue_list(stubber, [])
    created = access_point(LifeCycleState="available")
    stubber.add_response(
        "create_access_point",
        dict(created),
        {
            "ClientToken": f"{FS_ID}-{NAME}",
            "FileSystemId": FS_ID,
            "PosixUser": {"Uid": 10001, "Gid": 10001},
            "RootDirectory": {
                "Path": "/mlflow",
                "CreationInfo": {"OwnerUid": 10001, "OwnerGid": 10001, "Permissions": "0750"},
            },
            "Tags": ANY,
        },
    )
    result = ensure_present(client, params(tags={"Environment": "production"}), False)
    assert result["changed"] is True
    assert result["access_point"]["access_point_id"] == created["AccessPointId"]
    assert result["access_point"]["root_directory"]["path"] == "/mlflow"


def test_existing_access_point_is_left_alone(stubbed):
    client, stubber = stubbed("efs")
    queue_list(stubber, [access_point()])
    result = ensure_present(client, params(), check_mode=False)
    assert result["changed"] is False
    user = result["access_point"]["posix_user"]
    assert user == {"uid": 10001, "gid": 10001, "secondary_gids": []}


def test_missing_tags_are_added(stubbed):
    client, stubber = stubbed("efs")
    queue_list(stubber, [access_point()])
    stubber.add_response(
        "tag_resource",
        {},
        {"ResourceId": "fsap-0123456789abcdef0", "Tags": [{"Key": "Environment", "Value": "dev"}]},
    )
    result = ensure_present(client, params(tags={"Environment": "dev"}), check_mode=False)
    assert result["changed"] is True
    assert result["access_point"]["tags"] == {"Name": NAME, "Environment": "dev"}


def test_other_posix_user_fails_rather_than_replace(stubbed):
    client, stubber = stubbed("efs")
    queue_list(stubber, [access_point(uid=0)])
    with pytest.raises(AccessPointError, match="cannot be changed in place"):
        ensure_present(client, params(), check_mode=False)


def test_absent_deletes_the_access_point(stubbed):
    client, stubber = stubbed("efs")
    queue_list(stubber, [access_point()])
    stubber.add_response("delete_access_point", {}, {"AccessPointId": "fsap-0123456789abcdef0"})
    assert ensure_absent(client, params(state="absent"), check_mode=False)["changed"] is True


def test_absent_without_access_point_is_no_change(stubbed):
    client, stubber = stubbed("efs")
    queue_list(stubber, [])
    assert ensure_absent(client, params(state="absent"), check_mode=False)["changed"] is False
