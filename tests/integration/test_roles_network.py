"""The logging, security and load_balancer roles on their own, against the emulator.

tests/integration/playbooks/roles_network.yml reads the main stack's VPC and subnets and applies
the three roles in order (state present) or in reverse order (state absent). Every resource is
read back with boto3 and compared, property by property, with ../shared/spec/old-stack.md (the
ALB no longer opens port 5000). The scenario follows amazon.aws's pattern: check mode on an empty
account creates nothing, the real run creates, a second run and a check-mode run change nothing,
absent removes everything, a second absent changes nothing; then the same for HTTPS (+ OIDC).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import ROOT, PlaybookResult, ansible_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ENV = "production"
PLAYBOOK = ROOT / "tests" / "integration" / "playbooks" / "roles_network.yml"
TAGS = {"Environment": ENV, "Application": "mlflow", "ManagedBy": "mlops.mlflow_ecs"}

LOG_GROUP = f"/ecs/{ENV}-mlflow-tracking"
ALB_SG = f"{ENV}-mlflow-alb-sg"
TASK_SG = f"{ENV}-mlflow-ecs-task-sg"
EXECUTION_ROLE = f"{ENV}-mlflow-ecs-execution-role"
TASK_ROLE = f"{ENV}-mlflow-ecs-task-role"
ALB = f"{ENV}-mlflow-alb"
TG = f"{ENV}-mlflow-tg"
EXECUTION_POLICY = f"{ENV}-mlflow-ecs-execution-policy"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
OIDC_SECRET = "oidc-client-secret-never-logged-7f3a"


def tags_of(boto_tags: list[dict]) -> dict:
    return {t["Key"]: t["Value"] for t in boto_tags}


def run(
    emu, *, state="present", check=False, diff=False, verbose=0, **extra
) -> tuple[PlaybookResult, dict]:
    """Run the test playbook; return its result and the facts the roles published."""
    fd, outputs = tempfile.mkstemp(prefix="roles_network_", suffix=".json")
    os.close(fd)
    extra_vars = {
        "aws_endpoint_url": emu.endpoint_url,
        "roles_network_env": ENV,
        "roles_network_state": state,
        "roles_network_outputs_file": outputs,
        **extra,
    }
    cmd = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        str(PLAYBOOK),
        "-i",
        "localhost,",
        "-e",
        json.dumps(extra_vars),
    ]
    cmd += ["--check"] if check else []
    cmd += ["--diff"] if diff else []
    cmd += ["-" + "v" * verbose] if verbose else []
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=ansible_env(), capture_output=True, text=True, timeout=900
        )
        result = PlaybookResult(proc.returncode, proc.stdout, proc.stderr)
        assert result.rc == 0, result.tail()
        facts = json.loads(Path(outputs).read_text() or "{}")
    finally:
        Path(outputs).unlink(missing_ok=True)
    return result, facts


def leftovers(emu) -> dict[str, list[str]]:
    """Every resource of the three roles still in the account, by kind."""
    ec2, iam, logs = emu.client("ec2"), emu.client("iam"), emu.client("logs")
    elbv2, tagging = emu.client("elbv2"), emu.client("resourcegroupstaggingapi")
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [ALB_SG, TASK_SG]}]
    )["SecurityGroups"]
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    return {
        "tagged": [
            r["ResourceARN"]
            for r in tagging.get_resources(TagFilters=[{"Key": "Environment", "Values": [ENV]}])[
                "ResourceTagMappingList"
            ]
        ],
        "security_groups": [g["GroupName"] for g in groups],
        "roles": [r for r in roles if r in (EXECUTION_ROLE, TASK_ROLE)],
        "log_groups": [
            g["logGroupName"]
            for g in logs.describe_log_groups(logGroupNamePrefix="/ecs/")["logGroups"]
        ],
        "load_balancers": [
            lb["LoadBalancerName"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]
        ],
        "target_groups": [
            tg["TargetGroupName"] for tg in elbv2.describe_target_groups()["TargetGroups"]
        ],
    }


NOTHING = {
    "tagged": [],
    "security_groups": [],
    "roles": [],
    "log_groups": [],
    "load_balancers": [],
    "target_groups": [],
}


def security_group(emu, name: str) -> dict:
    (group,) = emu.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [name]}]
    )["SecurityGroups"]
    return group


def load_balancer(emu) -> dict:
    return emu.client("elbv2").describe_load_balancers(Names=[ALB])["LoadBalancers"][0]


def target_group(emu) -> dict:
    return emu.client("elbv2").describe_target_groups(Names=[TG])["TargetGroups"][0]


def listeners(emu) -> dict[int, dict]:
    elbv2 = emu.client("elbv2")
    found = elbv2.describe_listeners(LoadBalancerArn=load_balancer(emu)["LoadBalancerArn"])
    return {lst["Port"]: lst for lst in found["Listeners"]}


@pytest.fixture(scope="module")
def emu(emulator_factory):
    return emulator_factory(ENV)


# --- an account where nothing was ever deployed -------------------------------------------


def test_check_mode_on_an_empty_account_creates_nothing(emu):
    emu.reset()
    check, facts = run(emu, check=True, diff=True)
    assert check.changed >= 6, check.tail()  # log group, 2 groups, 2 roles, ALB, target group
    assert f"would create target group {TG}" in check.stdout
    assert leftovers(emu) == NOTHING
    # Facts exist for later roles; ids nobody can know yet are empty, role ARNs are predicted.
    assert facts["security_alb_security_group_id"] == ""
    assert facts["load_balancer_target_group_arn"] == ""
    assert facts["security_task_role_arn"].endswith(f":role/{TASK_ROLE}")


# --- HTTP deployment, the old stack's parity -----------------------------------------------


@pytest.fixture(scope="module")
def deployed(emu):
    emu.reset()
    result, facts = run(emu)
    assert result.changed > 0
    return facts


def test_log_group(emu, deployed):
    (group,) = emu.client("logs").describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]
    assert group["logGroupName"] == LOG_GROUP
    assert group["retentionInDays"] == 7
    assert "kmsKeyId" not in group
    tags = emu.client("logs").list_tags_log_group(logGroupName=LOG_GROUP)["tags"]
    assert tags == {**TAGS, "Name": LOG_GROUP}
    assert deployed["logging_log_group_name"] == LOG_GROUP
    assert deployed["logging_log_group_arn"] == group["arn"].removesuffix(":*")


def test_alb_security_group_opens_only_the_listener_port_to_the_internet(emu, deployed):
    group = security_group(emu, ALB_SG)
    assert group["VpcId"] == emu.main_stack["VPCId"]
    assert tags_of(group["Tags"]) == {**TAGS, "Name": ALB_SG}
    (rule,) = group["IpPermissions"]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 80, 80)
    assert [r["CidrIp"] for r in rule["IpRanges"]] == ["0.0.0.0/0"]
    assert not rule.get("UserIdGroupPairs") and not rule.get("Ipv6Ranges")
    opened = {p for r in group["IpPermissions"] for p in range(r["FromPort"], r["ToPort"] + 1)}
    assert 5000 not in opened
    (egress,) = group["IpPermissionsEgress"]
    assert egress["IpProtocol"] == "-1"
    assert [r["CidrIp"] for r in egress["IpRanges"]] == ["0.0.0.0/0"]
    assert deployed["security_alb_security_group_id"] == group["GroupId"]


def test_task_security_group_admits_only_the_alb_on_the_container_port(emu, deployed):
    alb, task = security_group(emu, ALB_SG), security_group(emu, TASK_SG)
    assert task["VpcId"] == emu.main_stack["VPCId"]
    assert tags_of(task["Tags"]) == {**TAGS, "Name": TASK_SG}
    (rule,) = task["IpPermissions"]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 5000, 5000)
    assert [p["GroupId"] for p in rule["UserIdGroupPairs"]] == [alb["GroupId"]]
    assert not rule.get("IpRanges") and not rule.get("Ipv6Ranges")
    (egress,) = task["IpPermissionsEgress"]
    assert egress["IpProtocol"] == "-1"
    assert [r["CidrIp"] for r in egress["IpRanges"]] == ["0.0.0.0/0"]
    assert deployed["security_task_security_group_id"] == task["GroupId"]


def test_execution_role_trusts_ecs_tasks_with_the_execution_policy(emu, deployed):
    iam = emu.client("iam")
    role = iam.get_role(RoleName=EXECUTION_ROLE)["Role"]
    assert role["AssumeRolePolicyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    # No managed policy (AmazonECSTaskExecutionRolePolicy allows Resource "*"): the role's own
    # inline policy (repository, log group, secrets; see test_security.py).
    assert iam.list_attached_role_policies(RoleName=EXECUTION_ROLE)["AttachedPolicies"] == []
    assert iam.list_role_policies(RoleName=EXECUTION_ROLE)["PolicyNames"] == [EXECUTION_POLICY]
    assert tags_of(role["Tags"]) == {**TAGS, "Name": EXECUTION_ROLE}
    assert deployed["security_execution_role_arn"] == role["Arn"]


def test_task_role_trusts_only_this_accounts_tasks_and_grants_nothing(emu, deployed):
    iam = emu.client("iam")
    account = emu.client("sts").get_caller_identity()["Account"]
    role = iam.get_role(RoleName=TASK_ROLE)["Role"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account}},
    }
    assert iam.list_attached_role_policies(RoleName=TASK_ROLE)["AttachedPolicies"] == []
    assert iam.list_role_policies(RoleName=TASK_ROLE)["PolicyNames"] == []
    assert tags_of(role["Tags"]) == {**TAGS, "Name": TASK_ROLE}
    assert deployed["security_task_role_arn"] == role["Arn"]


def test_load_balancer(emu, deployed):
    lb = load_balancer(emu)
    assert (lb["Scheme"], lb["Type"]) == ("internet-facing", "application")
    subnets = sorted(az["SubnetId"] for az in lb["AvailabilityZones"])
    assert subnets == sorted([emu.main_stack["PublicSubnet1Id"], emu.main_stack["PublicSubnet2Id"]])
    assert lb["SecurityGroups"] == [security_group(emu, ALB_SG)["GroupId"]]
    elbv2 = emu.client("elbv2")
    tags = elbv2.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]
    assert tags_of(tags) == {**TAGS, "Name": ALB}
    attributes = tags_of(
        elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]
    )
    # moto reports the idle timeout only once it was set; AWS's default is 60 s.
    assert attributes.get("idle_timeout.timeout_seconds", "60") == "60"
    assert attributes["deletion_protection.enabled"] == "false"
    assert deployed["load_balancer_arn"] == lb["LoadBalancerArn"]
    assert deployed["load_balancer_dns_name"] == lb["DNSName"]
    assert deployed["load_balancer_zone_id"] == lb["CanonicalHostedZoneId"]
    assert deployed["load_balancer_url"] == f"http://{lb['DNSName']}"


def test_target_group_health_check(emu, deployed):
    tg = target_group(emu)
    assert (tg["Protocol"], tg["Port"], tg["TargetType"]) == ("HTTP", 5000, "ip")
    assert tg["VpcId"] == emu.main_stack["VPCId"]
    assert tg["HealthCheckProtocol"] == "HTTP"
    assert tg["HealthCheckPath"] == "/health"
    assert tg["HealthCheckIntervalSeconds"] == 30
    assert tg["HealthCheckTimeoutSeconds"] == 5
    assert tg["HealthyThresholdCount"] == 2
    assert tg["UnhealthyThresholdCount"] == 3
    assert tg["Matcher"] == {"HttpCode": "200"}
    elbv2 = emu.client("elbv2")
    attributes = tags_of(
        elbv2.describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])["Attributes"]
    )
    assert attributes["deregistration_delay.timeout_seconds"] == "30"
    tags = elbv2.describe_tags(ResourceArns=[tg["TargetGroupArn"]])["TagDescriptions"][0]["Tags"]
    assert tags_of(tags) == {**TAGS, "Name": TG}
    assert deployed["load_balancer_target_group_arn"] == tg["TargetGroupArn"]


def test_http_listener_forwards_to_the_target_group(emu, deployed):
    found = listeners(emu)
    assert {port: lst["Protocol"] for port, lst in found.items()} == {80: "HTTP"}
    (action,) = found[80]["DefaultActions"]
    assert action["Type"] == "forward"
    assert action["TargetGroupArn"] == target_group(emu)["TargetGroupArn"]


def test_second_run_changes_nothing(emu, deployed):
    result, facts = run(emu)
    assert result.changed == 0, result.tail()
    assert facts == deployed


def test_check_diff_on_the_deployed_account_changes_nothing(emu, deployed):
    result, facts = run(emu, check=True, diff=True)
    assert result.changed == 0, result.tail()
    assert f"target group {TG} is up to date" in result.stdout
    # Later roles get the same wiring in check mode as in a real run.
    assert facts == deployed


def test_check_mode_reports_a_target_group_change_without_making_it(emu, deployed):
    result, _ = run(emu, check=True, load_balancer_health_check_interval=15)
    assert result.changed == 1, result.tail()
    assert "would update target group" in result.stdout
    assert "health_check_interval_seconds" in result.stdout
    assert target_group(emu)["HealthCheckIntervalSeconds"] == 30


def test_absent_removes_everything_and_a_second_absent_changes_nothing(emu, deployed):
    assert all(leftovers(emu)[kind] for kind in NOTHING), "deployment incomplete"
    first, facts = run(emu, state="absent")
    assert first.changed >= 7, first.tail()  # ALB, TG, 2 roles, 2 groups, log group
    assert leftovers(emu) == NOTHING
    assert set(facts.values()) == {""}
    # The same as an absent on an account where nothing was ever deployed.
    second, _ = run(emu, state="absent")
    assert second.changed == 0, second.tail()


# --- HTTPS, KMS-encrypted logs, IAM statements, then OIDC ----------------------------------


@pytest.fixture(scope="module")
def https(emu):
    emu.reset()
    certificate = emu.client("acm").request_certificate(
        DomainName="mlflow.example.com", ValidationMethod="DNS"
    )["CertificateArn"]
    key = emu.client("kms").create_key(Description="MLflow logs")["KeyMetadata"]["Arn"]
    settings = {
        "roles_network_certificate_arn": certificate,
        "roles_network_kms_key_arn": key,
        "security_execution_role_policy_statements": [
            {
                "Sid": "ReadMlflowSecrets",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": ["arn:aws:secretsmanager:us-east-1:123456789012:secret:mlflow/*"],
            }
        ],
        "security_task_role_policy_statements": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": "arn:aws:s3:::mlflow-artifacts/*",
            }
        ],
    }
    result, facts = run(emu, **settings)
    assert result.changed > 0
    return {"settings": settings, "facts": facts, "certificate": certificate, "key": key}


def test_https_listener_uses_the_certificate_and_a_tls12_policy(emu, https):
    found = listeners(emu)
    assert {port: lst["Protocol"] for port, lst in found.items()} == {80: "HTTP", 443: "HTTPS"}
    assert found[443]["SslPolicy"] == TLS_POLICY
    assert [c["CertificateArn"] for c in found[443]["Certificates"]] == [https["certificate"]]
    (action,) = found[443]["DefaultActions"]
    assert (action["Type"], action["TargetGroupArn"]) == (
        "forward",
        target_group(emu)["TargetGroupArn"],
    )
    assert https["facts"]["load_balancer_url"] == f"https://{load_balancer(emu)['DNSName']}"


def test_http_only_redirects_to_https(emu, https):
    (action,) = listeners(emu)[80]["DefaultActions"]
    assert action["Type"] == "redirect"
    assert action["RedirectConfig"] == {
        "Protocol": "HTTPS",
        "Port": "443",
        "Host": "#{host}",
        "Path": "/#{path}",
        "Query": "#{query}",
        "StatusCode": "HTTP_301",
    }


def test_alb_security_group_opens_http_and_https_only(emu, https):
    group = security_group(emu, ALB_SG)
    ports = sorted((r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in group["IpPermissions"])
    assert ports == [("tcp", 80, 80), ("tcp", 443, 443)]
    for rule in group["IpPermissions"]:
        assert [r["CidrIp"] for r in rule["IpRanges"]] == ["0.0.0.0/0"]


def test_log_group_is_encrypted_with_the_key(emu, https):
    (group,) = emu.client("logs").describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]
    assert group["kmsKeyId"] == https["key"]


def test_inline_policies_hold_the_given_statements(emu, https):
    iam = emu.client("iam")
    for role, policy, key in [
        (EXECUTION_ROLE, EXECUTION_POLICY, "security_execution_role"),
        (TASK_ROLE, f"{ENV}-mlflow-ecs-task-policy", "security_task_role"),
    ]:
        assert iam.list_role_policies(RoleName=role)["PolicyNames"] == [policy]
        document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
        given = https["settings"][f"{key}_policy_statements"]
        # The execution role's own statements come first, the given ones are appended.
        assert document["Statement"][-len(given) :] == given
    assert iam.list_attached_role_policies(RoleName=EXECUTION_ROLE)["AttachedPolicies"] == []


def test_https_second_run_changes_nothing(emu, https):
    result, _ = run(emu, **https["settings"])
    assert result.changed == 0, result.tail()


def test_oidc_authenticates_everything_but_the_health_check(emu, https):
    oidc = {
        "issuer": "https://login.example.com",
        "authorization_endpoint": "https://login.example.com/authorize",
        "token_endpoint": "https://login.example.com/token",
        "user_info_endpoint": "https://login.example.com/userinfo",
        "client_id": "mlflow",
        "client_secret": OIDC_SECRET,
    }
    result, _ = run(emu, verbose=1, roles_network_oidc=oidc, **https["settings"])
    assert result.changed > 0, result.tail()
    assert OIDC_SECRET not in result.stdout + result.stderr

    https_listener = listeners(emu)[443]
    (default,) = https_listener["DefaultActions"]
    assert default["Type"] == "fixed-response"
    assert default["FixedResponseConfig"]["StatusCode"] == "403"
    rules = emu.client("elbv2").describe_rules(ListenerArn=https_listener["ListenerArn"])["Rules"]
    by_priority = {r["Priority"]: r for r in rules if not r["IsDefault"]}
    assert sorted(by_priority) == ["1", "2"]
    tg_arn = target_group(emu)["TargetGroupArn"]
    health, everything = by_priority["1"], by_priority["2"]
    assert health["Conditions"][0]["PathPatternConfig"]["Values"] == ["/health"]
    (health_action,) = health["Actions"]
    assert (health_action["Type"], health_action["TargetGroupArn"]) == ("forward", tg_arn)
    assert everything["Conditions"][0]["PathPatternConfig"]["Values"] == ["/*"]
    actions = sorted(everything["Actions"], key=lambda a: a["Order"])
    assert [a["Type"] for a in actions] == ["authenticate-oidc", "forward"]
    config = actions[0]["AuthenticateOidcConfig"]
    assert (config["Issuer"], config["ClientId"]) == (oidc["issuer"], oidc["client_id"])
    assert actions[1]["TargetGroupArn"] == tg_arn

    # No idempotence check here: moto 5.2 returns the OIDC client secret, which AWS never does,
    # and amazon.aws compares the rule without it, so on the emulator the rule always differs.


def test_https_absent_removes_everything(emu, https):
    result, _ = run(emu, state="absent")
    assert result.changed >= 7, result.tail()
    assert leftovers(emu) == NOTHING
