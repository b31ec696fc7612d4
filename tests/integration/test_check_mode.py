"""`--check --diff` never changes anything, and reports what was changed by hand.

Every AWS call of the playbook runs goes through the recording proxy
(tests/integration/recording_proxy.py), which tells the calls that may change AWS. One emulator
(local inventory) for the whole module, in order: check on an empty account, deploy, check on
the deployed environment, deploy again (writes nothing but its deploy lock), five changes by
hand with boto3, check (reports each one, changes nothing), deploy (puts each one back).
"""

from __future__ import annotations

import re

import pytest
from conftest import run_playbook
from recording_proxy import RecordingProxy
from test_settings import account_listing

pytestmark = pytest.mark.integration

ENV = "local"
CLUSTER = f"{ENV}-mlflow-cluster"
SERVICE = f"{ENV}-mlflow-tracking"
LOG_GROUP = f"/ecs/{ENV}-mlflow-tracking"
TARGET_GROUP = f"{ENV}-mlflow-tg"
TASK_SECURITY_GROUP = f"{ENV}-mlflow-ecs-task-sg"
TASK_ROLE = f"{ENV}-mlflow-ecs-task-role"

# The hand changes: what each one sets, and the text the check run's diff must show for it.
DRIFT_CIDR = "198.51.100.7/32"
DRIFT_DESIRED_COUNT = 3
DRIFT_RETENTION_DAYS = 30
DRIFT_HEALTH_CHECK_PATH = "/drifted-by-hand"
DRIFT_POLICY_NAME = f"{ENV}-drift-by-hand"


@pytest.fixture(scope="module")
def proxy(emulator, tmp_path_factory):
    with RecordingProxy(emulator.endpoint_url) as recording:
        yield recording


@pytest.fixture(scope="module")
def outputs_file(tmp_path_factory) -> str:
    """This module's own outputs file: other modules deploy the same environment name."""
    return str(tmp_path_factory.mktemp("outputs") / f"{ENV}.json")


def run_through(proxy, emulator, outputs_file: str, *, check: bool = False):
    proxy.clear()
    return run_playbook(
        "deploy",
        emulator=emulator,
        extra_vars={"aws_endpoint_url": proxy.url, "mlflow_outputs_file": outputs_file},
        check=check,
        diff=check,
    )


def check_run(proxy, emulator, outputs_file, record_property):
    result = run_through(proxy, emulator, outputs_file, check=True)
    mutating = proxy.mutating_calls()
    record_property("figure: check runs", 1)
    record_property("figure: mutating calls in check runs", len(mutating))
    assert result.rc == 0, result.tail()
    assert proxy.requests, "no AWS call went through the proxy"
    assert mutating == [], f"check mode called {mutating}"
    return result


def task_outputs(stdout: str) -> dict[str, str]:
    """The output of each task of a run (its diff included), by task name."""
    sections = re.split(r"^TASK \[", stdout, flags=re.M)[1:]
    out: dict[str, str] = {}
    for section in sections:
        name, _, body = section.partition("]")
        out[name.strip()] = out.get(name.strip(), "") + body
    return out


def changed_outputs(stdout: str) -> dict[str, str]:
    return {n: b for n, b in task_outputs(stdout).items() if re.search(r"^changed:", b, re.M)}


# ---------------------------------------------------------------------------------- empty account


def test_check_on_an_empty_account_creates_nothing(emulator, proxy, outputs_file, record_property):
    before = account_listing(emulator)
    result = check_run(proxy, emulator, outputs_file, record_property)
    assert account_listing(emulator) == before
    # The run did read the account: it is a real check, not a run that skipped everything.
    assert result.changed > 0, result.tail()


# ------------------------------------------------------------------------------- deployed account


@pytest.fixture(scope="module")
def deployed(emulator, proxy, outputs_file):
    result = run_through(proxy, emulator, outputs_file)
    assert result.rc == 0, result.tail()
    return result


def test_check_on_the_deployed_environment_reports_no_change(
    emulator, proxy, outputs_file, deployed, record_property
):
    before = account_listing(emulator)
    result = check_run(proxy, emulator, outputs_file, record_property)
    assert result.changed == 0, changed_outputs(result.stdout)
    assert account_listing(emulator) == before


# ------------------------------------------------------------------------- no-op re-deploy

# The deploy lock's own bookkeeping (mlops.mlflow_ecs.deploy_lock on the DynamoDB table
# mlflow-deploy-locks): the only calls a re-deploy of an unchanged environment may make that
# could change AWS. One conditional PutItem takes the lock, one DeleteItem releases it.
LOCK_TABLE = "mlflow-deploy-locks"
LOCK_WRITES = [("dynamodb", "PutItem", LOCK_TABLE), ("dynamodb", "DeleteItem", LOCK_TABLE)]


def table_name(request) -> str:
    """The DynamoDB table a call names ("" for other services)."""
    return request.json().get("TableName", "") if request.service == "dynamodb" else ""


def test_redeploy_of_the_deployed_environment_writes_only_its_deploy_lock(
    emulator, proxy, outputs_file, deployed, record_property
):
    before = account_listing(emulator)
    result = run_through(proxy, emulator, outputs_file)
    writes = [
        (r.service, r.operation or f"{r.method} {r.path}", table_name(r))
        for r in proxy.requests
        if r.mutating
    ]
    record_property("figure: no-op re-deploy AWS calls", len(proxy.requests))
    record_property("figure: no-op re-deploy mutating calls", len(writes))
    assert result.rc == 0, result.tail()
    assert result.changed == 0, changed_outputs(result.stdout)
    # It did read the account: every resource was compared, not skipped.
    assert len(proxy.requests) > 50, proxy.operations()
    assert writes == LOCK_WRITES, f"the no-op re-deploy called {writes}"
    assert account_listing(emulator) == before


# ------------------------------------------------------------------------------ changes by hand


def _task_security_group(emulator) -> dict:
    return emulator.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [TASK_SECURITY_GROUP]}]
    )["SecurityGroups"][0]


def _target_group(emulator) -> dict:
    return emulator.client("elbv2").describe_target_groups(Names=[TARGET_GROUP])["TargetGroups"][0]


def _service(emulator) -> dict:
    return emulator.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])[
        "services"
    ][0]


def _retention(emulator) -> int | None:
    groups = emulator.client("logs").describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]
    return next(g for g in groups if g["logGroupName"] == LOG_GROUP).get("retentionInDays")


def _attached_policies(emulator) -> list[str]:
    return [
        p["PolicyName"]
        for p in emulator.client("iam").list_attached_role_policies(RoleName=TASK_ROLE)[
            "AttachedPolicies"
        ]
    ]


def _ingress_cidrs(emulator) -> list[str]:
    return [
        r["CidrIp"]
        for perm in _task_security_group(emulator)["IpPermissions"]
        for r in perm.get("IpRanges", [])
    ]


@pytest.fixture(scope="module")
def deployed_values(emulator, deployed) -> dict:
    """What the deploy set, read before the hand changes."""
    return {
        "ingress": _ingress_cidrs(emulator),
        "desired_count": _service(emulator)["desiredCount"],
        "retention": _retention(emulator),
        "health_check_path": _target_group(emulator)["HealthCheckPath"],
        "attached_policies": _attached_policies(emulator),
    }


@pytest.fixture(scope="module")
def hand_changes(emulator, deployed_values) -> None:
    ec2, ecs, logs, elbv2, iam = (
        emulator.client(s) for s in ("ec2", "ecs", "logs", "elbv2", "iam")
    )
    ec2.authorize_security_group_ingress(
        GroupId=_task_security_group(emulator)["GroupId"],
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": DRIFT_CIDR}],
            }
        ],
    )
    ecs.update_service(cluster=CLUSTER, service=SERVICE, desiredCount=DRIFT_DESIRED_COUNT)
    logs.put_retention_policy(logGroupName=LOG_GROUP, retentionInDays=DRIFT_RETENTION_DAYS)
    elbv2.modify_target_group(
        TargetGroupArn=_target_group(emulator)["TargetGroupArn"],
        HealthCheckPath=DRIFT_HEALTH_CHECK_PATH,
    )
    policy = iam.create_policy(
        PolicyName=DRIFT_POLICY_NAME,
        PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",'
        ' "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}',
    )["Policy"]
    iam.attach_role_policy(RoleName=TASK_ROLE, PolicyArn=policy["Arn"])
    # The changes took: the check run below has something to find.
    assert DRIFT_CIDR in _ingress_cidrs(emulator)
    assert _service(emulator)["desiredCount"] == DRIFT_DESIRED_COUNT
    assert _retention(emulator) == DRIFT_RETENTION_DAYS
    assert _target_group(emulator)["HealthCheckPath"] == DRIFT_HEALTH_CHECK_PATH
    assert DRIFT_POLICY_NAME in _attached_policies(emulator)


@pytest.fixture(scope="module")
def drift_check(emulator, proxy, outputs_file, hand_changes):
    """The check run after the hand changes (its mutating calls are asserted by its test)."""
    before = account_listing(emulator)
    result = run_through(proxy, emulator, outputs_file, check=True)
    return result, proxy.mutating_calls(), before, account_listing(emulator)


def test_check_after_hand_changes_changes_nothing(drift_check, record_property):
    result, mutating, before, after = drift_check
    record_property("figure: check runs", 1)
    record_property("figure: mutating calls in check runs", len(mutating))
    assert result.rc == 0, result.tail()
    assert mutating == [], f"check mode called {mutating}"
    assert after == before


# drift -> (the task that reports it, the text its diff or message shows). Where a module reports
# no diff, the role reads and compares in check mode and says what the next deploy changes.
DRIFTS = {
    "ingress rule on the task security group": (
        "Ensure the task security group allows the container port only from the ALB group",
        DRIFT_CIDR,
    ),
    "service desired count": (
        "Ensure the ECS service runs the task definition and is stable",
        f'"desiredCount": {DRIFT_DESIRED_COUNT}',
    ),
    "log retention": (
        "Report the retention the next deploy sets (check mode)",
        f"keeps events {DRIFT_RETENTION_DAYS} days",
    ),
    "target group health check path": (
        "Report the target group changes a real run would make",
        "health_check_path",
    ),
    "policy attached to the task role": (
        "Report the managed policies the next deploy detaches from the roles (check mode)",
        DRIFT_POLICY_NAME,
    ),
}


@pytest.mark.parametrize("drift", list(DRIFTS))
def test_check_reports_each_hand_change_in_its_diff(drift_check, drift):
    result, _, _, _ = drift_check
    assert result.rc == 0, result.tail()
    task, text = DRIFTS[drift]
    changed = changed_outputs(result.stdout)
    named = {name: out for name, out in changed.items() if text in out and task in name}
    assert named, f"{drift}: no changed task {task!r} shows {text!r}; changed tasks: {changed}"


# ------------------------------------------------------------------------------ deploy puts back


@pytest.fixture(scope="module")
def redeployed(emulator, proxy, outputs_file, drift_check):
    result = run_through(proxy, emulator, outputs_file)
    assert result.rc == 0, result.tail()
    return result


def test_deploy_puts_every_hand_change_back(emulator, deployed_values, redeployed):
    assert DRIFT_CIDR not in _ingress_cidrs(emulator)
    assert sorted(_ingress_cidrs(emulator)) == sorted(deployed_values["ingress"])
    assert _service(emulator)["desiredCount"] == deployed_values["desired_count"]
    assert _retention(emulator) == deployed_values["retention"]
    assert _target_group(emulator)["HealthCheckPath"] == deployed_values["health_check_path"]
    assert _attached_policies(emulator) == deployed_values["attached_policies"]
