"""Taking and releasing against answers DynamoDB gives (botocore Stubber)."""

from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.deploy_lock import (
    DeployLockError,
    ensure_absent,
    ensure_present,
    wait_for_table,
)
from botocore.stub import ANY

from ._data import NOW, TABLE, item, params

GET = {"TableName": TABLE, "Key": {"LockID": {"S": "production"}}, "ConsistentRead": True}


def clock():
    return NOW


def test_a_live_lock_of_another_run_is_not_written(stubbed):
    client, stubber = stubbed("dynamodb")
    stubber.add_response("get_item", {"Item": item()}, GET)
    result = ensure_present(client, params(), False, clock=clock)
    assert (result["acquired"], result["free"], result["changed"]) == (False, False, False)
    assert result["holder"]["lock_id"] == "aaaa"
    assert result["replaced"] == {}


def test_losing_the_race_reports_the_winner(stubbed):
    client, stubber = stubbed("dynamodb")
    stubber.add_response("get_item", {}, GET)
    stubber.add_client_error("put_item", "ConditionalCheckFailedException", http_status_code=400)
    stubber.add_response("get_item", {"Item": item()}, GET)
    result = ensure_present(client, params(), False, clock=clock)
    assert (result["acquired"], result["free"]) == (False, True)
    assert result["holder"]["lock_id"] == "aaaa"


def test_an_ended_lease_is_taken_over_with_the_condition(stubbed):
    client, stubber = stubbed("dynamodb")
    stubber.add_response("get_item", {"Item": item(expires_at=NOW - 5)}, GET)
    stubber.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": item(
                lock_id="bbbb", owner="deploy.yml by bob@ci", acquired_at=NOW, expires_at=NOW + 3600
            ),
            "ConditionExpression": ANY,
            "ExpressionAttributeNames": {"#key": "LockID"},
            "ExpressionAttributeValues": ANY,
        },
    )
    stubber.add_response(
        "get_item", {"Item": item(lock_id="bbbb", acquired_at=NOW, expires_at=NOW + 3600)}, GET
    )
    result = ensure_present(client, params(), False, clock=clock)
    assert (result["acquired"], result["changed"]) == (True, True)
    # The run it took over from is reported, so a log shows whose lock was taken.
    assert result["replaced"]["lock_id"] == "aaaa" and result["replaced"]["expired"] is True


def test_check_mode_reads_only(stubbed):
    client, stubber = stubbed("dynamodb")
    stubber.add_client_error("get_item", "ResourceNotFoundException", http_status_code=400)
    result = ensure_present(client, params(), True, clock=clock)
    assert (result["acquired"], result["free"], result["changed"]) == (False, True, False)


def test_release_leaves_another_runs_lock(stubbed):
    client, stubber = stubbed("dynamodb")
    stubber.add_response("get_item", {"Item": item()}, GET)
    result = ensure_absent(client, params(state="absent"), False, clock=clock)
    assert (result["released"], result["changed"]) == (False, False)


def test_release_deletes_only_under_its_own_lock_id(stubbed):
    client, stubber = stubbed("dynamodb")
    stubber.add_response("get_item", {"Item": item(lock_id="bbbb")}, GET)
    stubber.add_response(
        "delete_item",
        {},
        {
            "TableName": TABLE,
            "Key": {"LockID": {"S": "production"}},
            "ConditionExpression": "lock_id = :me",
            "ExpressionAttributeValues": {":me": {"S": "bbbb"}},
        },
    )
    result = ensure_absent(client, params(state="absent"), False, clock=clock)
    assert (result["released"], result["changed"]) == (True, True)


def test_table_wait_is_bounded_and_names_the_table(stubbed, fake_clock):
    client, stubber = stubbed("dynamodb")
    for _attempt in range(3):
        stubber.add_response(
            "describe_table", {"Table": {"TableStatus": "CREATING"}}, {"TableName": TABLE}
        )
    with pytest.raises(DeployLockError, match=f"DynamoDB table {TABLE} was not ACTIVE after 4 s"):
        wait_for_table(client, TABLE, 4, sleep=fake_clock.sleep, clock=fake_clock)
