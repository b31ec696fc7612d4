"""The holder returned to callers, and when a caller may take the lock."""

from __future__ import annotations

from ansible_collections.mlops.mlflow_ecs.plugins.modules.deploy_lock import (
    is_free,
    item_to_holder,
    take_condition,
)

from ._data import NOW, item


def test_holder_of_a_live_lock():
    assert item_to_holder(item(), NOW) == {
        "lock_id": "aaaa",
        "owner": "deploy.yml by alice@laptop",
        "acquired_at": "2027-01-15T07:59:00Z",
        "expires_at": "2027-01-15T08:59:00Z",
        "expired": False,
    }


def test_a_lease_ends_at_its_expiry_second():
    assert item_to_holder(item(expires_at=NOW), NOW)["expired"] is True
    assert item_to_holder(item(expires_at=NOW + 1), NOW)["expired"] is False


def test_no_item_no_holder():
    assert item_to_holder(None, NOW) == {}


def test_free_without_holder_after_its_lease_or_for_its_own_holder():
    live = item_to_holder(item(), NOW)
    assert is_free({}, "bbbb", None)
    assert is_free(item_to_holder(item(expires_at=NOW - 1), NOW), "bbbb", None)
    assert is_free(live, "aaaa", None)  # a renewal
    assert not is_free(live, "bbbb", None)


def test_break_takes_only_the_named_holder():
    live = item_to_holder(item(), NOW)
    assert is_free(live, "bbbb", "aaaa")
    assert not is_free(live, "bbbb", "cccc")


def test_condition_is_the_same_rule_written_for_dynamodb():
    expression, values = take_condition("bbbb", None, NOW)
    assert expression == "attribute_not_exists(#key) OR expires_at <= :now OR lock_id = :me"
    assert values == {":now": {"N": str(NOW)}, ":me": {"S": "bbbb"}}
    expression, values = take_condition("bbbb", "aaaa", NOW)
    assert expression.endswith(" OR lock_id = :broken")
    assert values[":broken"] == {"S": "aaaa"}
