from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.efs_access_point import (
    AccessPointError,
    validate_params,
)

from ._data import params


def test_valid_params_pass():
    validate_params(params())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"file_system_id": "vol-1"}, "file_system_id must be a file system id"),
        ({"name": " "}, "name must not be empty"),
        ({"root_directory": {"path": "mlflow", "creation_info": None}}, "must be absolute"),
        (
            {
                "root_directory": {
                    "path": "/mlflow",
                    "creation_info": {"owner_uid": 1, "owner_gid": 1, "permissions": "rwx"},
                }
            },
            "must be octal",
        ),
        ({"posix_user": None}, "posix_user is required"),
    ],
)
def test_bad_params_are_refused_with_a_message(overrides, message):
    with pytest.raises(AccessPointError, match=message):
        validate_params(params(**overrides))


def test_absent_needs_no_posix_user():
    validate_params(params(state="absent", posix_user=None, root_directory=None))
