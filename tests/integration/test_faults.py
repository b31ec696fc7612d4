"""Deploy and destroy converge in one run when AWS throttles or fails a share of the calls.

Every AWS client of the playbooks retries throttling and 5xx answers (botocore's adaptive retry
mode, `mlflow_aws_max_attempts`, passed as `aws_config` by the playbooks' module_defaults). Here
the recording proxy (tests/integration/recording_proxy.py) answers 30% of the calls (a fixed seed)
with throttling errors in each API's protocol or a bare 503, without forwarding them (a second
run at 10% exercised the same retries, in three more minutes). Deploy and destroy must each
finish in one run, and the deployed account must equal the one a fault-free deploy made (names and
key settings: ids differ).

One emulator (local inventory), in order: a fault-free deploy as reference, then for each share of
faults: a fresh account (moto reset), deploy, compare, destroy.
"""

from __future__ import annotations

import pytest
from conftest import run_playbook
from recording_proxy import RecordingProxy

pytestmark = pytest.mark.integration

ENV = "local"
# share of faulted calls -> seed of the draw (more shares: more runs of about 90 s each)
FAULT_PLANS = {0.3: 1030}


def stack_listing(emu) -> dict:
    """What a deploy made, by names and key settings (no generated ids), comparable across
    accounts."""
    c = emu.client
    ec2, elbv2, ecs, logs, iam = (c(s) for s in ("ec2", "elbv2", "ecs", "logs", "iam"))
    groups = ec2.describe_security_groups()["SecurityGroups"]
    group_names = {g["GroupId"]: g["GroupName"] for g in groups}

    def rules(permissions):
        return sorted(
            (
                p.get("IpProtocol"),
                p.get("FromPort"),
                p.get("ToPort"),
                tuple(sorted(r["CidrIp"] for r in p.get("IpRanges", []))),
                tuple(
                    sorted(
                        group_names.get(u["GroupId"], "?") for u in p.get("UserIdGroupPairs", [])
                    )
                ),
            )
            for p in permissions
        )

    clusters = ecs.list_clusters()["clusterArns"]
    services = []
    for cluster in ecs.describe_clusters(clusters=clusters)["clusters"] if clusters else []:
        if cluster["status"] != "ACTIVE":
            continue
        arns = ecs.list_services(cluster=cluster["clusterArn"])["serviceArns"]
        for s in (
            ecs.describe_services(cluster=cluster["clusterArn"], services=arns)["services"]
            if arns
            else []
        ):
            if s["status"] == "ACTIVE":
                services.append(
                    (
                        cluster["clusterName"],
                        s["serviceName"],
                        s["desiredCount"],
                        s["taskDefinition"].rsplit("/", 1)[-1],
                        s.get("launchType"),
                    )
                )
    roles = {}
    for role in iam.list_roles()["Roles"]:
        name = role["RoleName"]
        roles[name] = (
            sorted(
                p["PolicyName"]
                for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
            ),
            sorted(iam.list_role_policies(RoleName=name)["PolicyNames"]),
        )
    buckets = {}
    s3 = c("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        buckets[bucket["Name"]] = s3.get_bucket_versioning(Bucket=bucket["Name"]).get("Status")
    target_groups = elbv2.describe_target_groups()["TargetGroups"]
    task_definitions = ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"]
    definitions = []
    for arn in task_definitions:
        td = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        definitions.append(
            (
                arn.rsplit("/", 1)[-1],
                td.get("cpu"),
                td.get("memory"),
                sorted(
                    (e["name"], e["value"])
                    for d in td["containerDefinitions"]
                    for e in d.get("environment", [])
                ),
            )
        )
    return {
        "security_groups": sorted(
            (g["GroupName"], rules(g["IpPermissions"]), rules(g["IpPermissionsEgress"]))
            for g in groups
            if g["GroupName"] != "default"
        ),
        "roles": roles,
        "secrets": sorted(s["Name"] for s in c("secretsmanager").list_secrets()["SecretList"]),
        "buckets": buckets,
        "repositories": sorted(
            r["repositoryName"] for r in c("ecr").describe_repositories()["repositories"]
        ),
        "log_groups": sorted(
            (g["logGroupName"], g.get("retentionInDays"))
            for g in logs.describe_log_groups()["logGroups"]
        ),
        "load_balancers": sorted(
            (lb["LoadBalancerName"], lb["Scheme"], lb["Type"])
            for lb in elbv2.describe_load_balancers()["LoadBalancers"]
        ),
        "listeners": sorted(
            (listener["Port"], listener["Protocol"])
            for lb in elbv2.describe_load_balancers()["LoadBalancers"]
            for listener in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])[
                "Listeners"
            ]
        ),
        "target_groups": sorted(
            (tg["TargetGroupName"], tg["Port"], tg["HealthCheckPath"], tg["TargetType"])
            for tg in target_groups
        ),
        "services": sorted(services),
        "task_definitions": sorted(definitions),
    }


# What deploy makes and destroy removes (destroy keeps the data: bucket, secrets, ...).
REMOVED_BY_DESTROY = (
    "load_balancers",
    "listeners",
    "target_groups",
    "services",
    "task_definitions",
    "log_groups",
)


@pytest.fixture(scope="module")
def outputs_file(tmp_path_factory) -> str:
    """This module's own outputs file: other modules deploy the same environment name."""
    return str(tmp_path_factory.mktemp("outputs") / f"{ENV}.json")


@pytest.fixture(scope="module")
def reference(emulator, outputs_file) -> dict:
    """The account after a fault-free deploy (through the proxy too, as the faulted runs)."""
    with RecordingProxy(emulator.endpoint_url) as proxy:
        extra = {"aws_endpoint_url": proxy.url, "mlflow_outputs_file": outputs_file}
        result = run_playbook("deploy", emulator=emulator, extra_vars=extra)
    assert result.rc == 0, result.tail()
    listing = stack_listing(emulator)
    assert listing["services"] and listing["load_balancers"], listing
    return listing


@pytest.fixture(scope="module")
def faulted_runs(emulator, reference, outputs_file) -> dict:
    """For each share of faults: (deploy result, listing after it, destroy result, listing after
    it, faults injected, calls retried, faults by kind)."""
    runs = {}
    for share, seed in FAULT_PLANS.items():
        emulator.reset()
        with RecordingProxy(emulator.endpoint_url, fault_share=share, fault_seed=seed) as proxy:
            extra = {"aws_endpoint_url": proxy.url, "mlflow_outputs_file": outputs_file}
            deploy = run_playbook("deploy", emulator=emulator, extra_vars=extra)
            deployed = stack_listing(emulator)
            destroy = run_playbook("destroy", emulator=emulator, extra_vars=extra)
            destroyed = stack_listing(emulator)
            runs[share] = {
                "deploy": deploy,
                "deployed": deployed,
                "destroy": destroy,
                "destroyed": destroyed,
                "faults_injected": proxy.faults_injected,
                "calls_retried": proxy.calls_retried,
                "faults": proxy.faults(),
                "calls": len(proxy.requests),
            }
    return runs


@pytest.mark.parametrize("share", list(FAULT_PLANS))
def test_deploy_and_destroy_converge_in_one_run_under_faults(
    faulted_runs, reference, share, record_property
):
    run = faulted_runs[share]
    converged = int(run["deploy"].rc == 0) + int(run["destroy"].rc == 0)
    record_property("figure: faults injected", run["faults_injected"])
    record_property("figure: calls retried", run["calls_retried"])
    record_property("figure: runs that converged", converged)
    record_property("figure: runs under faults", 2)
    print(f"{share:.0%}: {run['faults']} of {run['calls']} calls, {run['calls_retried']} retried")
    assert run["deploy"].rc == 0, run["deploy"].tail()
    assert run["destroy"].rc == 0, run["destroy"].tail()
    # The draw did fault calls of both kinds, and every faulted call was sent again.
    assert run["faults_injected"] >= share * run["calls"] / 2, run["faults"]
    assert set(run["faults"]) == {"throttling", "unavailable"}, run["faults"]
    assert run["calls_retried"] == run["faults_injected"]


@pytest.mark.parametrize("share", list(FAULT_PLANS))
def test_deploy_under_faults_equals_a_fault_free_deploy(faulted_runs, reference, share):
    assert faulted_runs[share]["deployed"] == reference


@pytest.mark.parametrize("share", list(FAULT_PLANS))
def test_destroy_under_faults_removes_the_stack(faulted_runs, reference, share):
    destroyed = faulted_runs[share]["destroyed"]
    assert {k: destroyed[k] for k in REMOVED_BY_DESTROY} == {k: [] for k in REMOVED_BY_DESTROY}
    # ... and keeps the data, as a destroy without faults does.
    assert destroyed["buckets"] == reference["buckets"]
    assert destroyed["secrets"] == reference["secrets"]
