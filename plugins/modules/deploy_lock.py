#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the mlops.mlflow_ecs collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: deploy_lock
version_added: 0.1.0
short_description: Take, renew or release a lease lock held in a DynamoDB table
description:
  - A lock that lives in AWS, so that two runs from different machines (a laptop, a CI runner,
    AWX) never change one deployment at the same time. The lock of O(name) is one item of the
    DynamoDB table O(table) (partition key C(LockID), a string), written with a conditional
    write. Taking it succeeds only when no item exists, when the holder's lease has ended, when
    the caller already holds it (a renewal), or when the caller names the holder's O(lock_id)
    in O(break_lock_id). Two callers can never both take it.
  - A holder that is killed cannot release the lock; its lease (O(lease) seconds from the last
    take or renewal) ends and the next caller takes the lock over. The lease is compared with
    the caller's clock, so the machines taking the lock need clocks within a few seconds of
    each other (NTP).
  - O(state=present) tries once to take the lock and does not wait. RV(acquired) says whether
    the caller holds it, RV(holder) who does. The caller decides whether to wait and retry.
    When the table does not exist and O(create_table=true), it is created first (on-demand
    capacity, so it costs nothing while no lock is taken), and waited for at most
    O(wait_timeout) seconds. Two callers creating it at once is fine.
  - O(state=absent) releases the lock only when O(lock_id) holds it; another holder's lock is
    never deleted.
  - In check mode the lock is only read. RV(free) says whether a take would succeed; nothing
    is written and no table is created.
options:
  table:
    description:
      - Name of the DynamoDB table holding the locks (one item per lock).
    type: str
    required: true
  name:
    description:
      - Name of the lock (the item's C(LockID)), for example the environment's name.
    type: str
    required: true
  lock_id:
    description:
      - Identifier of the caller's run, unique per run (for example a random hex string). The
        caller renews and releases the lock with the same value.
    type: str
    required: true
  owner:
    description:
      - Who holds the lock, shown to the callers that find it taken, for example
        V(deploy.yml by alice@laptop). Never put a secret here.
    type: str
    default: ""
  lease:
    description:
      - Seconds after a take or renewal at which the lock counts as abandoned and can be taken
        over. Longer than the longest stretch of the caller's run between two renewals.
    type: int
    default: 3600
  break_lock_id:
    description:
      - With O(state=present), take the lock even from the holder whose lock id is this value
        (a run known to be dead, before its lease ends). A lock held by any other id is not
        taken.
    type: str
  create_table:
    description:
      - With O(state=present), create the table when it does not exist.
    type: bool
    default: true
  tags:
    description:
      - Tags of the table when the module creates it. An existing table's tags are not changed.
    type: dict
    default: {}
  wait_timeout:
    description:
      - Seconds to wait for a table being created (by this call or another) to become active.
    type: int
    default: 120
  state:
    description:
      - V(present) takes (or renews) the lock for O(lock_id); V(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Needs C(dynamodb:GetItem), C(dynamodb:PutItem),
    C(dynamodb:DeleteItem) and C(dynamodb:DescribeTable) on the table, and
    C(dynamodb:CreateTable) and C(dynamodb:TagResource) to create it.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - MLOps platform team (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Try to take the deploy lock of the production environment
  mlops.mlflow_ecs.deploy_lock:
    table: mlflow-deploy-locks
    name: production
    lock_id: "{{ run_id }}"
    owner: "deploy.yml by {{ lookup('ansible.builtin.env', 'USER') }}"
    lease: 3600
  register: lock

- name: Stop when another run holds it
  ansible.builtin.fail:
    msg: "Held by {{ lock.holder.owner }} since {{ lock.holder.acquired_at }}"
  when: not lock.acquired

- name: Release the lock at the end of the run
  mlops.mlflow_ecs.deploy_lock:
    table: mlflow-deploy-locks
    name: production
    lock_id: "{{ run_id }}"
    state: absent
"""

RETURN = r"""
acquired:
  description:
    - Whether the caller holds the lock after the call. Always V(false) with O(state=absent) and
      in check mode.
  returned: always
  type: bool
free:
  description:
    - Whether O(lock_id) could take the lock when the call began (no holder, an ended lease,
      the caller's own lock, or the holder named in O(break_lock_id)).
  returned: always
  type: bool
released:
  description: Whether the call deleted the caller's lock (O(state=absent)).
  returned: always
  type: bool
table_created:
  description: Whether the call created the table.
  returned: always
  type: bool
replaced:
  description:
    - Another run's lock this call took over (its lease had ended, or O(break_lock_id) named
      it), as it was before the call, with the keys of RV(holder); empty otherwise.
  returned: always
  type: dict
holder:
  description:
    - The lock's holder after the call (with O(state=present)) or before it (with
      O(state=absent) and in check mode); empty when no item exists.
  returned: always
  type: dict
  contains:
    lock_id:
      description: The holder's run identifier (the value O(break_lock_id) takes).
      type: str
      sample: 3f9c2a1b7d4e
    owner:
      description: Who holds it (O(owner) of the holder).
      type: str
      sample: deploy.yml by alice@laptop
    acquired_at:
      description: When the holder took the lock, ISO 8601 UTC.
      type: str
      sample: "2026-11-30T08:15:00Z"
    expires_at:
      description: When the holder's lease ends, ISO 8601 UTC.
      type: str
      sample: "2026-11-30T09:15:00Z"
    expired:
      description: Whether the lease has ended (anyone may take the lock).
      type: bool
"""

import calendar
import time

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
)
from ansible_collections.mlops.mlflow_ecs.plugins.module_utils.modules import (
    MlflowEcsAWSModule,
    run_state_module,
)

KEY = "LockID"


class DeployLockError(Exception):
    """Bad input, or a table that does not become usable."""


def validate_params(params):
    for option in ("table", "name", "lock_id"):
        if not (params.get(option) or "").strip():
            raise DeployLockError(f"{option} must not be empty")
    if params.get("lease") is not None and params["lease"] < 1:
        raise DeployLockError(f"lease must be at least 1 second, got {params['lease']}")
    if params.get("wait_timeout") is not None and params["wait_timeout"] < 0:
        raise DeployLockError(f"wait_timeout must be 0 or more, got {params['wait_timeout']}")
    if params.get("break_lock_id") is not None and not params["break_lock_id"].strip():
        raise DeployLockError("break_lock_id must not be empty when set")


ISO = "%Y-%m-%dT%H:%M:%SZ"


def iso(epoch):
    return time.strftime(ISO, time.gmtime(int(epoch)))


def item_to_holder(item, now):
    """The holder as returned to the caller, from a DynamoDB item (low-level attribute values)."""
    if not item:
        return {}
    expires = int(item["expires_at"]["N"])
    return {
        "lock_id": item["lock_id"]["S"],
        "owner": item.get("owner", {}).get("S", ""),
        "acquired_at": iso(item["acquired_at"]["N"]),
        "expires_at": iso(expires),
        "expired": expires <= now,
    }


def is_free(holder, lock_id, break_lock_id):
    """Whether lock_id may take the lock from this holder (take_lock's condition, in Python)."""
    return (
        not holder
        or holder["expired"]
        or holder["lock_id"] == lock_id
        or (break_lock_id is not None and holder["lock_id"] == break_lock_id)
    )


@AWSRetry.jittered_backoff()
def _get_item(client, table, name):
    return client.get_item(TableName=table, Key={KEY: {"S": name}}, ConsistentRead=True)


def get_holder(client, params, now):
    """The lock's holder, {} when the lock or the table does not exist; None without a table."""
    try:
        item = _get_item(client, params["table"], params["name"]).get("Item")
    except is_boto3_error_code("ResourceNotFoundException"):
        return None
    return item_to_holder(item, now)


def take_condition(lock_id, break_lock_id, now):
    """ConditionExpression and values of the take: the check and the write are one atomic call."""
    expression = "attribute_not_exists(#key) OR expires_at <= :now OR lock_id = :me"
    values = {":now": {"N": str(now)}, ":me": {"S": lock_id}}
    if break_lock_id is not None:
        expression += " OR lock_id = :broken"
        values[":broken"] = {"S": break_lock_id}
    return expression, values


@AWSRetry.jittered_backoff()
def _put_item(client, **kwargs):
    return client.put_item(**kwargs)


def take_lock(client, params, holder, now):
    """Write the lock item for params' lock_id; False when another holder won the race."""
    lock_id, break_lock_id = params["lock_id"], params.get("break_lock_id")
    expression, values = take_condition(lock_id, break_lock_id, now)
    renewal = bool(holder) and holder["lock_id"] == lock_id and not holder["expired"]
    acquired_at = calendar.timegm(time.strptime(holder["acquired_at"], ISO)) if renewal else now
    item = {
        KEY: {"S": params["name"]},
        "lock_id": {"S": lock_id},
        "owner": {"S": params.get("owner") or ""},
        "acquired_at": {"N": str(acquired_at)},
        "expires_at": {"N": str(now + params["lease"])},
    }
    try:
        _put_item(
            client,
            TableName=params["table"],
            Item=item,
            ConditionExpression=expression,
            ExpressionAttributeNames={"#key": KEY},
            ExpressionAttributeValues=values,
        )
    except is_boto3_error_code("ConditionalCheckFailedException"):
        return False
    return True


@AWSRetry.jittered_backoff()
def _create_table(client, **kwargs):
    return client.create_table(**kwargs)


def create_table(client, params):
    """Create the table (on demand); True when this call created it, False when another did."""
    kwargs = dict(
        TableName=params["table"],
        AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    if params.get("tags"):
        kwargs["Tags"] = ansible_dict_to_boto3_tag_list(params["tags"])
    try:
        _create_table(client, **kwargs)
    except is_boto3_error_code("ResourceInUseException"):
        return False
    return True


def wait_for_table(client, table, timeout, sleep=time.sleep, clock=time.monotonic):
    """Wait until the table is ACTIVE, at most timeout seconds."""
    deadline = clock() + timeout
    status = "unknown"
    while True:
        try:
            status = client.describe_table(TableName=table)["Table"]["TableStatus"]
        except is_boto3_error_code("ResourceNotFoundException"):
            status = "not found"
        if status == "ACTIVE":
            return
        if clock() >= deadline:
            raise DeployLockError(
                f"DynamoDB table {table} was not ACTIVE after {timeout} s (status {status}); "
                "check it in the DynamoDB console, or raise wait_timeout"
            )
        sleep(2)


def result(
    acquired=False,
    free=False,
    released=False,
    table_created=False,
    holder=None,
    changed=False,
    replaced=None,
):
    return dict(
        changed=changed,
        acquired=acquired,
        free=free,
        released=released,
        table_created=table_created,
        holder=holder or {},
        replaced=replaced or {},
    )


def ensure_present(client, params, check_mode, clock=time.time):
    now = int(clock())
    holder = get_holder(client, params, now)
    table_created = False
    if holder is None:
        if check_mode:
            return result(free=True, holder={})
        if not params["create_table"]:
            raise DeployLockError(
                f"DynamoDB table {params['table']} does not exist (create_table=false)"
            )
        table_created = create_table(client, params)
        wait_for_table(client, params["table"], params["wait_timeout"])
        now = int(clock())
        holder = get_holder(client, params, now) or {}
    free = is_free(holder, params["lock_id"], params.get("break_lock_id"))
    if check_mode or not free:
        return result(free=free, holder=holder, table_created=table_created, changed=table_created)
    acquired = take_lock(client, params, holder, now)
    after = get_holder(client, params, int(clock())) or {}
    # Another run's lock this call took over (its lease ended, or it was broken by name).
    replaced = holder if acquired and holder and holder["lock_id"] != params["lock_id"] else {}
    return result(
        acquired=acquired,
        free=free,
        holder=after,
        table_created=table_created,
        changed=acquired or table_created,
        replaced=replaced,
    )


@AWSRetry.jittered_backoff()
def _delete_item(client, **kwargs):
    return client.delete_item(**kwargs)


def ensure_absent(client, params, check_mode, clock=time.time):
    now = int(clock())
    holder = get_holder(client, params, now)
    if not holder or holder["lock_id"] != params["lock_id"]:
        return result(holder=holder, free=is_free(holder or {}, params["lock_id"], None))
    if check_mode:
        return result(holder=holder, free=True, released=True, changed=True)
    try:
        _delete_item(
            client,
            TableName=params["table"],
            Key={KEY: {"S": params["name"]}},
            ConditionExpression="lock_id = :me",
            ExpressionAttributeValues={":me": {"S": params["lock_id"]}},
        )
    except is_boto3_error_code("ConditionalCheckFailedException"):
        # Taken over between the read and the delete (its lease had ended): not ours any more.
        return result(holder=get_holder(client, params, int(clock())) or {}, free=False)
    return result(holder=holder, free=True, released=True, changed=True)


def main():
    argument_spec = dict(
        table=dict(type="str", required=True),
        name=dict(type="str", required=True),
        lock_id=dict(type="str", required=True),
        owner=dict(type="str", default=""),
        lease=dict(type="int", default=3600),
        break_lock_id=dict(type="str"),
        create_table=dict(type="bool", default=True),
        tags=dict(type="dict", default={}),
        wait_timeout=dict(type="int", default=120),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = MlflowEcsAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    run_state_module(
        module,
        "dynamodb",
        validate_params,
        ensure_present,
        ensure_absent,
        DeployLockError,
        failure=(
            f"Failed to {'take' if p['state'] == 'present' else 'release'} the lock {p['name']} "
            f"in DynamoDB table {p['table']}"
        ),
    )


if __name__ == "__main__":
    main()
