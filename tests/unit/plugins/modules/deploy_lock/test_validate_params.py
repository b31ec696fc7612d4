from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.deploy_lock import (
    DeployLockError,
    validate_params,
)

from ._data import params


def test_valid_params_pass():
    validate_params(params())
    validate_params(params(break_lock_id="aaaa", wait_timeout=0, state="absent"))


@pytest.mark.parametrize("option", ["table", "name", "lock_id"])
def test_empty_names_fail(option):
    with pytest.raises(DeployLockError, match=f"{option} must not be empty"):
        validate_params(params(**{option: " "}))


def test_lease_below_one_second_fails():
    with pytest.raises(DeployLockError, match="lease must be at least 1 second, got 0"):
        validate_params(params(lease=0))


def test_empty_break_lock_id_fails():
    with pytest.raises(DeployLockError, match="break_lock_id must not be empty"):
        validate_params(params(break_lock_id=""))
