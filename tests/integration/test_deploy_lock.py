"""One run at a time per environment (issue 11, "Fail safe"): deploy.yml and destroy.yml take the
environment's deploy lock (an item of the DynamoDB table mlflow-deploy-locks, written with a
conditional write by mlops.mlflow_ecs.deploy_lock) after their checks and release it at the end,
failed or not.

All tests share one emulator and run in order: two deploys started together on a fresh account,
then runs against lock items written with boto3 the way another (live, killed or dead) run
leaves them. Runs that write no S3 go through a RecordingProxy, so their lock writes can be read
in order.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import run_playbook
from recording_proxy import RecordingProxy

pytestmark = pytest.mark.integration

TABLE = "mlflow-deploy-locks"
ENV = "local"
# Short progress rounds, so a waiting run polls the lock every couple of seconds.
FAST = {"mlflow_wait_interval": 2}


def lock_writes(proxy: RecordingProxy) -> list[tuple[str, str, int]]:
    """(operation, lock id, HTTP status) of every lock item write, in the order sent."""
    writes = []
    with proxy._lock:
        requests = list(proxy.requests)
    for r in requests:
        if r.service != "dynamodb" or r.operation not in ("PutItem", "DeleteItem"):
            continue
        body = r.json()
        lock_id = (
            body["Item"]["lock_id"]["S"]
            if r.operation == "PutItem"
            else body["ExpressionAttributeValues"][":me"]["S"]
        )
        writes.append((r.operation, lock_id, r.status))
    return writes


def holders_in_turn(writes) -> list[str]:
    """Replay the successful lock writes: a take only when the lock is free (or a renewal by its
    holder), a release only by its holder. Returns the holders in the order they held it."""
    holder, turns = None, []
    for operation, lock_id, status in writes:
        if status != 200:
            continue
        if operation == "PutItem":
            assert holder in (None, lock_id), f"{lock_id} took the lock held by {holder}: {writes}"
            if holder is None:
                turns.append(lock_id)
            holder = lock_id
        else:
            assert holder == lock_id, f"{lock_id} released the lock held by {holder}: {writes}"
            holder = None
    assert holder is None, f"the lock is left held by {holder}: {writes}"
    return turns


def table_created(result) -> bool:
    """Whether this run created the lock table (its take reported changed)."""
    return bool(re.search(r"Try to take the deploy lock\] \*+\n[^\n]*\nchanged:", result.stdout))


def lock_item(emu) -> dict | None:
    return (
        emu.client("dynamodb")
        .get_item(TableName=TABLE, Key={"LockID": {"S": ENV}}, ConsistentRead=True)
        .get("Item")
    )


def write_holder(emu, lock_id: str, owner: str, acquired_at: int, expires_at: int) -> None:
    """The item another run leaves while it holds the lock (or once killed)."""
    dynamodb = emu.client("dynamodb")
    if TABLE not in dynamodb.list_tables()["TableNames"]:
        dynamodb.create_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            "LockID": {"S": ENV},
            "lock_id": {"S": lock_id},
            "owner": {"S": owner},
            "acquired_at": {"N": str(acquired_at)},
            "expires_at": {"N": str(expires_at)},
        },
    )


def iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def stack_listing(emu) -> dict[str, list[str]]:
    """Names of what a deploy creates, service by service (duplicates kept)."""
    c = emu.client
    ecs = c("ecs")
    clusters = ecs.list_clusters()["clusterArns"]
    return {
        "security_groups": sorted(
            g["GroupName"]
            for g in c("ec2").describe_security_groups()["SecurityGroups"]
            if g["GroupName"].startswith(f"{ENV}-mlflow-")
        ),
        "load_balancers": sorted(
            lb["LoadBalancerName"] for lb in c("elbv2").describe_load_balancers()["LoadBalancers"]
        ),
        "target_groups": sorted(
            tg["TargetGroupName"] for tg in c("elbv2").describe_target_groups()["TargetGroups"]
        ),
        "listeners": sorted(
            str(listener["Port"])
            for lb in c("elbv2").describe_load_balancers()["LoadBalancers"]
            for listener in c("elbv2").describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])[
                "Listeners"
            ]
        ),
        "clusters": sorted(
            cl["clusterName"]
            for cl in (ecs.describe_clusters(clusters=clusters)["clusters"] if clusters else [])
            if cl["status"] == "ACTIVE"
        ),
        "services": sorted(
            arn.rsplit("/", 1)[-1]
            for cl in clusters
            for arn in ecs.list_services(cluster=cl)["serviceArns"]
        ),
        "task_definitions": sorted(
            ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"]
        ),
        "secrets": sorted(s["Name"] for s in c("secretsmanager").list_secrets()["SecretList"]),
        "log_groups": sorted(
            g["logGroupName"] for g in c("logs").describe_log_groups()["logGroups"]
        ),
        "repositories": sorted(
            r["repositoryName"] for r in c("ecr").describe_repositories()["repositories"]
        ),
    }


class FailingProxy(RecordingProxy):
    """A RecordingProxy that answers one JSON API operation with AccessDenied (400) instead of
    forwarding it: a run that fails half way, through the real HTTP path (no boto3 mock)."""

    def __init__(self, upstream: str, fail_target: str):
        self.fail_target = fail_target
        super().__init__(upstream)

    def _handler_class(self):
        base = super()._handler_class()
        fail_target = self.fail_target

        class Handler(base):
            def _forward(self) -> None:
                if self.headers.get("X-Amz-Target", "") != fail_target:
                    return super()._forward()
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                body = b'{"__type":"AccessDeniedException","message":"denied by the test"}'
                self.send_response(400)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

        return Handler


@pytest.fixture(scope="module")
def emu(emulator):
    return emulator


def deploy(emu, proxy, tmp_path, name: str, playbook="deploy", check=False, **extra):
    """Run a playbook against the emulator, through proxy when given."""
    return run_playbook(
        playbook,
        emulator=emu,
        extra_vars={
            "aws_endpoint_url": proxy.url if proxy else emu.endpoint_url,
            "mlflow_outputs_file": str(tmp_path / name / "local.json"),
            **FAST,
            **extra,
        },
        check=check,
    )


def test_two_deploys_started_together_run_one_after_the_other(emu, tmp_path, record_property):
    """On a fresh account (no lock table yet): both succeed, one waits while the other holds
    the lock (the conditional write lets one take it only once the other released it), and the
    account ends as after one deploy (nothing created twice).

    No RecordingProxy here: S3 writes with a query (PutBucketVersioning) get a 404 through it."""
    with ThreadPoolExecutor(2) as pool:
        # One outputs file for both, as two runs from one checkout would write.
        runs = [pool.submit(deploy, emu, None, tmp_path, "both") for _ in (1, 2)]
        results = [r.result() for r in runs]
    for result in results:
        assert result.rc == 0, result.tail(8000)
    lock_ids = [
        re.search(r"taken by this run \(lock id ([0-9a-f]{16})\)", r.stdout).group(1)
        for r in results
    ]
    waiting = [bool(re.search(r"Waiting for the deploy lock of local", r.stdout)) for r in results]
    assert waiting.count(True) == 1, waiting
    waiter = results[waiting.index(True)]
    first_holder_id = lock_ids[waiting.index(False)]
    first_holder = results[waiting.index(False)]
    # The waiter said who held the lock while it waited, then took it.
    text = " ".join(waiter.stdout.split())
    assert re.search(
        rf"Waiting for the deploy lock of {ENV} .*held by deploy\.yml by \S+@\S+ "
        rf"\(lock id {first_holder_id}\) since \S+Z, lease ends \S+Z",
        text,
    ), waiter.tail(8000)
    assert text.index(f"lock id {first_holder_id}") < text.index("taken by this run")
    # Both tried to create the table at once: exactly one did, the other used it.
    assert [table_created(r) for r in results].count(True) == 1
    assert first_holder.changed > 1
    # The waiter ran as a second deploy does: nothing left to change.
    assert waiter.changed == int(table_created(waiter)), waiter.tail(8000)
    listing = stack_listing(emu)
    for kind, names in listing.items():
        assert len(names) == len(set(names)), (kind, names)
    assert len(listing["load_balancers"]) == 1 and len(listing["services"]) == 1, listing
    assert len(listing["task_definitions"]) == 1, listing
    assert lock_item(emu) is None
    record_property("figure: concurrent deploys waiting for the lock", waiting.count(True))


def test_a_held_lock_refuses_at_once_naming_its_holder(emu, tmp_path):
    """mlflow_deploy_lock_wait_timeout=0 with a live holder: the run refuses before any change,
    naming the holder, when it took the lock, when its lease ends and the variable that breaks
    it; --check takes no lock and writes nothing, but reports the holder."""
    now = int(time.time())
    write_holder(emu, "0123456789abcdef", "deploy.yml by bob@ci-7", now - 60, now + 3600)
    with RecordingProxy(emu.endpoint_url) as proxy:
        refused = deploy(emu, proxy, tmp_path, "refused", mlflow_deploy_lock_wait_timeout=0)
        refused_writes = proxy.mutating_calls()
        proxy.clear()
        check = deploy(emu, proxy, tmp_path, "check", check=True)
        check_writes = proxy.mutating_calls()
    assert refused.rc != 0, refused.tail()
    message = " ".join(refused.stdout.split())
    for expected in (
        # A timeout of 0 is one try, said as such (not "Waiting ... (1 s, timeout 0 s)").
        "Not waiting (one try, timeout 0 s) for the deploy lock of local",
        "Did not wait (timeout 0 s) for the deploy lock of local",
        "held by deploy.yml by bob@ci-7 (lock id 0123456789abcdef)",
        f"since {iso(now - 60)}, lease ends {iso(now + 3600)}",
        "-e mlflow_deploy_lock_break=0123456789abcdef",
        "Nothing was changed.",
    ):
        assert expected in message, (expected, refused.tail())
    assert "Waiting for" not in message and "after 0 s" not in message, refused.tail()
    assert refused_writes == []
    assert check.rc == 0, check.tail()
    assert "The deploy lock of local is held: held by deploy.yml by bob@ci-7" in " ".join(
        check.stdout.split()
    )
    assert check_writes == []
    assert lock_item(emu)["lock_id"]["S"] == "0123456789abcdef"


def test_a_killed_runs_lock_is_taken_over_once_its_lease_ended_and_a_failed_run_releases_it(
    emu, tmp_path
):
    """A lock whose lease has ended (its run was killed) is taken over; the run then fails
    (AccessDenied on CloudWatch Logs, the logging role's first call, after the lock: the image
    checks that read ECR run before it) and still releases the lock."""
    now = int(time.time())
    write_holder(emu, "fedcba9876543210", "deploy.yml by bob@ci-7", now - 7200, now - 3600)
    target = "Logs_20140328.DescribeLogGroups"
    with FailingProxy(emu.endpoint_url, target) as proxy:
        failed = deploy(emu, proxy, tmp_path, "failed")
    assert failed.rc != 0, failed.tail()
    assert "denied by the test" in failed.stdout, failed.tail()
    text = " ".join(failed.stdout.split())
    assert "took over the deploy lock of local from deploy.yml by bob@ci-7" in text, failed.tail()
    assert "(lock id fedcba9876543210" in text and "its lease had ended at" in text
    writes = lock_writes(proxy)
    assert [w[0] for w in writes if w[2] == 200] == ["PutItem", "DeleteItem"], writes
    holders_in_turn(writes)
    assert lock_item(emu) is None


def test_destroy_breaks_a_dead_runs_lock_when_told_and_releases_its_own(emu, tmp_path):
    """A live lock of a run known to be dead is broken with -e mlflow_deploy_lock_break=<id>;
    destroy takes the lock, removes the deployment and releases the lock (no proxy: see the
    first test)."""
    now = int(time.time())
    write_holder(emu, "00000000deadbeef", "deploy.yml by bob@ci-7", now - 60, now + 3600)
    result = deploy(
        emu,
        None,
        tmp_path,
        "destroy",
        playbook="destroy",
        mlflow_deploy_lock_break="00000000deadbeef",
        mlflow_deploy_lock_wait_timeout=0,
    )
    assert result.rc == 0, result.tail(8000)
    text = " ".join(result.stdout.split())
    assert "Done (one try, timeout 0 s) for the deploy lock of local" in text, result.tail()
    assert "taken by this run" in text
    assert "(lock id 00000000deadbeef" in text, result.tail()
    assert "broken with mlflow_deploy_lock_break before its lease ended" in text
    assert lock_item(emu) is None
    listing = stack_listing(emu)
    assert listing["load_balancers"] == [] and listing["target_groups"] == [], listing
