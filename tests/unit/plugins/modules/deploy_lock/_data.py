"""Lock items as DynamoDB returns them, and the module's parameters."""

from __future__ import annotations

TABLE = "mlflow-deploy-locks"
NOW = 1_800_000_000  # 2027-01-15T08:00:00Z


def item(
    lock_id="aaaa", owner="deploy.yml by alice@laptop", acquired_at=NOW - 60, expires_at=NOW + 3540
):
    return {
        "LockID": {"S": "production"},
        "lock_id": {"S": lock_id},
        "owner": {"S": owner},
        "acquired_at": {"N": str(acquired_at)},
        "expires_at": {"N": str(expires_at)},
    }


def params(**overrides):
    result = {
        "table": TABLE,
        "name": "production",
        "lock_id": "bbbb",
        "owner": "deploy.yml by bob@ci",
        "lease": 3600,
        "break_lock_id": None,
        "create_table": True,
        "tags": {},
        "wait_timeout": 120,
        "state": "present",
    }
    result.update(overrides)
    return result
