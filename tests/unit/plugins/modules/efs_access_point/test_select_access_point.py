from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.efs_access_point import (
    AccessPointError,
    immutable_differences,
    select_access_point,
)

from ._data import NAME, access_point, params


def test_finds_the_access_point_by_its_name_tag():
    other = access_point("fsap-other", name="other")
    mine = access_point()
    assert select_access_point([other, mine], NAME) == mine


def test_name_tag_alone_is_enough():
    mine = access_point()
    del mine["Name"]
    assert select_access_point([mine], NAME) == mine


def test_deleting_access_points_do_not_count():
    assert select_access_point([access_point(LifeCycleState="deleting")], NAME) is None


def test_two_access_points_with_the_name_are_refused():
    with pytest.raises(AccessPointError, match="several access points"):
        select_access_point([access_point("fsap-1"), access_point("fsap-2")], NAME)


def test_same_settings_have_no_difference():
    assert immutable_differences(access_point(), params()) == []


def test_other_uid_and_path_are_reported():
    differences = immutable_differences(access_point(uid=0, path="/"), params())
    assert [d.split(" ")[0] for d in differences] == ["posix_user", "root_directory.path"]
