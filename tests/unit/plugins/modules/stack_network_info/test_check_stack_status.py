from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.stack_network_info import (
    NetworkDiscoveryError,
    check_stack_status,
)

from ._data import STACK, stack


@pytest.mark.parametrize(
    "status",
    [
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "IMPORT_COMPLETE",
    ],
)
def test_usable_statuses_pass(status):
    assert check_stack_status(stack(status)) == status


@pytest.mark.parametrize(
    "status",
    [
        "CREATE_FAILED",
        "ROLLBACK_IN_PROGRESS",
        "ROLLBACK_FAILED",
        "ROLLBACK_COMPLETE",
        "UPDATE_FAILED",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_FAILED",
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE",
        "IMPORT_ROLLBACK_COMPLETE",
        "DELETE_IN_PROGRESS",
        "DELETE_FAILED",
        "DELETE_COMPLETE",
    ],
)
def test_failed_rollback_and_delete_statuses_fail(status):
    with pytest.raises(NetworkDiscoveryError) as err:
        check_stack_status(stack(status, reason="Resource creation cancelled"))
    message = str(err.value)
    assert f"stack '{STACK}' is in status {status} (Resource creation cancelled)" in message
    assert "repair it first" in message


@pytest.mark.parametrize("status", ["CREATE_IN_PROGRESS", "REVIEW_IN_PROGRESS"])
def test_unfinished_stack_fails(status):
    with pytest.raises(NetworkDiscoveryError, match=f"is in status {status}: wait until"):
        check_stack_status(stack(status))
