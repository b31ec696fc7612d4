"""Security by default (issue 5): HTTPS, authentication and least privilege, read back.

Deploys the production inventory into the emulator with a custom domain whose Route 53 hosted
zone exists (the load_balancer role requests the certificate, validates it by DNS and creates
the alias record), the ALB restricted to one CIDR, and MLflow's authentication on (the default).
Every property is read back with boto3: security groups, listeners and TLS policy, DNS records,
every statement of every IAM policy of the two task roles, the secrets and where their values
do not appear (task definition, `ansible-playbook -v` output, files the run wrote). Then the
deployed task runs locally (docker/entrypoint.py from .venv-mlflow, with the environment and
secrets of its task definition, as tools/run_local.py builds them): 401 without or with wrong
credentials, 200 as admin, /health open. A rotation run changes the password in the secret,
forces a new ECS deployment, and the restarted server accepts only the new password. Last, a
certificate given by ARN replaces the requested one, and destroy removes the requested
certificate and the records but keeps the given certificate and the secrets (with the data).

Emulator settings (not product changes): moto issues a requested certificate
MOTO_ACM_VALIDATION_WAIT seconds after the request (2 here, 60 by default); no Docker engine,
so no image build. Tests run in order, on one emulator.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote

import emulator as emulator_tool
import pytest
from conftest import ROOT, run_playbook, start_emulator
from entrypoint_helpers import ServerProcess, free_port, http, requires_mlflow_venv

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ENV = "production"
ZONE = "example.com"
DOMAIN = f"mlflow.{ZONE}"
CIDRS = ["203.0.113.0/24"]
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
ADMIN_SECRET = f"{ENV}/mlflow/admin"
KEY_SECRET = f"{ENV}/mlflow/flask-secret-key"
EXECUTION_ROLE = f"{ENV}-mlflow-ecs-execution-role"
TASK_ROLE = f"{ENV}-mlflow-ecs-task-role"
LOG_GROUP = f"/ecs/{ENV}-mlflow-tracking"
SEARCH = "/api/2.0/mlflow/experiments/search?max_results=5"
# Only what the emulator needs (see the module docstring).
EMULATOR_VARS = {"image_build": False}
# Directories the deploy does not write (virtualenvs, git, the emulator's own state).
NOT_SCANNED = {".venv", ".venv-mlflow", ".git", ".emulator", "collections", "__pycache__"}


@pytest.fixture(scope="module")
def emu():
    previous = os.environ.get("MOTO_ACM_VALIDATION_WAIT")
    os.environ["MOTO_ACM_VALIDATION_WAIT"] = "2"
    try:
        started = start_emulator(ENV)
    finally:
        if previous is None:
            os.environ.pop("MOTO_ACM_VALIDATION_WAIT")
        else:
            os.environ["MOTO_ACM_VALIDATION_WAIT"] = previous
    yield started
    emulator_tool.stop_server(started.port)


@pytest.fixture(scope="module")
def state(emu, tmp_path_factory):
    """The hosted zone, the settings of every deploy, and what earlier tests found."""
    zone_id = (
        emu.client("route53")
        .create_hosted_zone(Name=ZONE, CallerReference=uuid.uuid4().hex)["HostedZone"]["Id"]
        .split("/")[-1]
    )
    outputs = tmp_path_factory.mktemp("outputs")
    return {
        "zone_id": zone_id,
        "outputs_dir": outputs,
        "settings": {
            **EMULATOR_VARS,
            "load_balancer_domain_name": DOMAIN,
            "load_balancer_hosted_zone_id": zone_id,
            "security_alb_ingress_cidrs": CIDRS,
            "mlflow_outputs_file": str(outputs / f"{ENV}.json"),
        },
    }


def deploy(emu, state, verbose=1, **extra):
    return run_playbook(
        "deploy",
        inventory=ENV,
        emulator=emu,
        extra_vars={**state["settings"], **extra},
        verbose=verbose,
    )


def secret_value(emu, name: str) -> str:
    return emu.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]


def admin_password(emu) -> str:
    return json.loads(secret_value(emu, ADMIN_SECRET))["password"]


def task_definition(emu) -> dict:
    return emu.client("ecs").describe_task_definition(taskDefinition=f"{ENV}-mlflow-tracking")[
        "taskDefinition"
    ]


def service(emu) -> dict:
    return emu.client("ecs").describe_services(
        cluster=f"{ENV}-mlflow-cluster", services=[f"{ENV}-mlflow-tracking"]
    )["services"][0]


def load_balancer(emu) -> dict:
    return emu.client("elbv2").describe_load_balancers(Names=[f"{ENV}-mlflow-alb"])[
        "LoadBalancers"
    ][0]


def listeners(emu) -> dict[int, dict]:
    elbv2 = emu.client("elbv2")
    found = elbv2.describe_listeners(LoadBalancerArn=load_balancer(emu)["LoadBalancerArn"])
    return {lst["Port"]: lst for lst in found["Listeners"]}


def security_group(emu, name: str) -> dict:
    (group,) = emu.client("ec2").describe_security_groups(
        Filters=[
            {"Name": "group-name", "Values": [name]},
            {"Name": "vpc-id", "Values": [emu.main_stack["VPCId"]]},
        ]
    )["SecurityGroups"]
    return group


def records(emu, state) -> dict[tuple[str, str], dict]:
    sets = emu.client("route53").list_resource_record_sets(HostedZoneId=state["zone_id"])
    return {(r["Name"], r["Type"]): r for r in sets["ResourceRecordSets"]}


def certificates(emu) -> dict[str, dict]:
    acm = emu.client("acm")
    arns = [c["CertificateArn"] for c in acm.list_certificates()["CertificateSummaryList"]]
    return {arn: acm.describe_certificate(CertificateArn=arn)["Certificate"] for arn in arns}


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def files_written_since(start: float) -> list[Path]:
    """Files under the repository modified since start (virtualenvs and .git excluded)."""
    found = []
    for directory, subdirs, files in os.walk(ROOT):
        subdirs[:] = [d for d in subdirs if d not in NOT_SCANNED]
        for name in files:
            path = Path(directory) / name
            try:
                if path.stat().st_mtime >= start:
                    found.append(path)
            except OSError:
                continue
    return found


def assert_nowhere(value: str, result, start: float, extra_files=()) -> None:
    """value is absent from the run's output and from every file the run wrote."""
    assert value not in result.stdout, "secret in ansible-playbook stdout"
    assert value not in result.stderr, "secret in ansible-playbook stderr"
    needle = value.encode()
    for path in [*files_written_since(start), *extra_files]:
        try:
            content = path.read_bytes()
        except OSError:  # removed meanwhile, or not a regular file
            continue
        assert needle not in content, f"secret written to {path}"


# ------------------------------------------------------------------------ deploy


def test_deploy_with_https_and_authentication(emu, state):
    start = time.time()
    result = deploy(emu, state)
    assert result.rc == 0, result.tail()
    state["first"], state["first_start"] = result, start
    assert f"MLflow URL:  https://{DOMAIN}" in result.stdout
    assert json.loads(Path(state["settings"]["mlflow_outputs_file"]).read_text())["mlflow_url"] == (
        f"https://{DOMAIN}"
    )


# ------------------------------------------------------------------------ network


def test_container_port_admits_only_the_load_balancer_group(emu, state):
    alb, task = (
        security_group(emu, f"{ENV}-mlflow-alb-sg"),
        security_group(emu, f"{ENV}-mlflow-ecs-task-sg"),
    )
    (rule,) = task["IpPermissions"]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 5000, 5000)
    assert [p["GroupId"] for p in rule["UserIdGroupPairs"]] == [alb["GroupId"]]
    assert not rule.get("IpRanges") and not rule.get("Ipv6Ranges")
    assert not rule.get("PrefixListIds")
    # No other group of the deployment admits the container port from anywhere.
    groups = emu.client("ec2").describe_security_groups(
        Filters=[{"Name": "tag:Environment", "Values": [ENV]}]
    )["SecurityGroups"]
    for group in groups:
        for perm in group["IpPermissions"]:
            if perm.get("FromPort", 0) <= 5000 <= perm.get("ToPort", 65535):
                assert group["GroupId"] == task["GroupId"], group["GroupName"]


def test_load_balancer_admits_only_the_cidr_list_on_the_listener_ports(emu, state):
    group = security_group(emu, f"{ENV}-mlflow-alb-sg")
    rules = sorted(
        (
            p["IpProtocol"],
            p["FromPort"],
            p["ToPort"],
            sorted(r["CidrIp"] for r in p.get("IpRanges", [])),
            p.get("Ipv6Ranges", []),
            p.get("UserIdGroupPairs", []),
        )
        for p in group["IpPermissions"]
    )
    assert rules == [("tcp", 80, 80, CIDRS, [], []), ("tcp", 443, 443, CIDRS, [], [])]
    assert load_balancer(emu)["SecurityGroups"] == [group["GroupId"]]


def test_http_only_redirects_to_https(emu, state):
    found = listeners(emu)
    assert {port: lst["Protocol"] for port, lst in found.items()} == {80: "HTTP", 443: "HTTPS"}
    (action,) = found[80]["DefaultActions"]
    assert action["Type"] == "redirect"
    assert action["RedirectConfig"]["Protocol"] == "HTTPS"
    assert action["RedirectConfig"]["Port"] == "443"
    assert action["RedirectConfig"]["StatusCode"] == "HTTP_301"


def test_https_listener_uses_the_requested_certificate_with_tls12_or_newer(emu, state):
    https = listeners(emu)[443]
    assert https["SslPolicy"] == TLS_POLICY
    (requested,) = [
        c
        for c in certificates(emu).values()
        if c["DomainName"] == DOMAIN and c["Type"] == "AMAZON_ISSUED"
    ]
    assert requested["Status"] == "ISSUED"
    assert [c["CertificateArn"] for c in https["Certificates"]] == [requested["CertificateArn"]]
    tags = emu.client("acm").list_tags_for_certificate(CertificateArn=requested["CertificateArn"])
    assert {t["Key"]: t["Value"] for t in tags["Tags"]}["Name"] == f"{ENV}-mlflow-certificate"
    state["requested_certificate"] = requested["CertificateArn"]
    # The DNS validation record the certificate asks for is in the hosted zone.
    (option,) = requested["DomainValidationOptions"]
    wanted = option["ResourceRecord"]
    record = records(emu, state)[(wanted["Name"], "CNAME")]
    assert record["ResourceRecords"] == [{"Value": wanted["Value"]}]


def test_alias_record_points_the_domain_at_the_load_balancer(emu, state):
    lb = load_balancer(emu)
    alias = records(emu, state)[(f"{DOMAIN}.", "A")]["AliasTarget"]
    assert alias["DNSName"].rstrip(".").lower() == lb["DNSName"].lower()
    assert alias["HostedZoneId"] == lb["CanonicalHostedZoneId"]


def test_mlflow_accepts_the_domain_as_host(emu, state):
    env = {
        e["name"]: e["value"]
        for e in task_definition(emu)["containerDefinitions"][0]["environment"]
    }
    assert DOMAIN in env["MLFLOW_ALLOWED_HOSTS"].split(",")


# ------------------------------------------------------------------------ least privilege


def allowed_permissions(emu) -> dict[str, set[str]]:
    """Every action the two roles may have, with the only resources it may name."""
    account = emu.client("sts").get_caller_identity()["Account"]
    secrets = {
        s["Name"]: s["ARN"] for s in emu.client("secretsmanager").list_secrets()["SecretList"]
    }
    bucket = f"arn:aws:s3:::{ENV}-mlflow-artifacts-{account}"
    repository = f"arn:aws:ecr:us-east-1:{account}:repository/mlflow-tracking"
    log_group = f"arn:aws:logs:us-east-1:{account}:log-group:{LOG_GROUP}"
    return {
        # Account-wide by AWS's design: no resource narrower than "*" exists.
        "ecr:GetAuthorizationToken": {"*"},
        "ecr:BatchCheckLayerAvailability": {repository},
        "ecr:GetDownloadUrlForLayer": {repository},
        "ecr:BatchGetImage": {repository},
        "logs:CreateLogStream": {f"{log_group}:*", f"{log_group}:log-stream:*"},
        "logs:PutLogEvents": {f"{log_group}:*", f"{log_group}:log-stream:*"},
        "secretsmanager:GetSecretValue": {
            secrets[ADMIN_SECRET],
            secrets[KEY_SECRET],
            secrets[f"{ENV}-mlflow-db-credentials"],
        },
        "s3:ListBucket": {bucket},
        "s3:GetObject": {f"{bucket}/artifacts/*"},
        "s3:PutObject": {f"{bucket}/artifacts/*"},
        "s3:DeleteObject": {f"{bucket}/artifacts/*"},
        "s3:AbortMultipartUpload": {f"{bucket}/artifacts/*"},
    }


def policy_documents(emu, role: str) -> list[tuple[str, dict]]:
    """(name, document) of every inline and attached policy of the role."""
    iam = emu.client("iam")
    documents = [
        (name, iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    ]
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(
            PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
        )["PolicyVersion"]["Document"]
        if isinstance(version, str):
            version = json.loads(unquote(version))
        documents.append((attached["PolicyName"], version))
    return documents


def test_no_managed_policy_on_either_role(emu, state):
    iam = emu.client("iam")
    for role in (EXECUTION_ROLE, TASK_ROLE):
        assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == [], role


def test_every_policy_statement_is_within_the_allowed_actions_and_resources(emu, state):
    allowed = allowed_permissions(emu)
    seen: set[str] = set()
    for role in (EXECUTION_ROLE, TASK_ROLE):
        documents = policy_documents(emu, role)
        assert documents, role
        for name, document in documents:
            for statement in as_list(document["Statement"]):
                where = f"{role}/{name}/{statement.get('Sid', '?')}"
                assert statement["Effect"] == "Allow", where
                assert "NotAction" not in statement and "NotResource" not in statement, where
                for action in as_list(statement["Action"]):
                    assert action in allowed, f"{where}: action {action} not allowed"
                    for resource in as_list(statement["Resource"]):
                        assert resource in allowed[action], f"{where}: {action} on {resource}"
                        if resource == "*":
                            assert action == "ecr:GetAuthorizationToken", where
                    seen.add(action)
    # The task needs all of these to start (pull, log, secrets) and to store artifacts.
    assert {
        "ecr:BatchGetImage",
        "logs:PutLogEvents",
        "secretsmanager:GetSecretValue",
        "s3:PutObject",
    } <= seen


def test_execution_role_reads_every_secret_the_task_definition_names(emu, state):
    arns = {
        arn
        for _name, document in policy_documents(emu, EXECUTION_ROLE)
        for statement in as_list(document["Statement"])
        if "secretsmanager:GetSecretValue" in as_list(statement["Action"])
        for arn in as_list(statement["Resource"])
    }
    (container,) = task_definition(emu)["containerDefinitions"]
    for item in container["secrets"]:
        assert ":".join(item["valueFrom"].split(":")[:7]) in arns, item["name"]


# ------------------------------------------------------------------------ authentication secrets


def test_admin_password_is_in_secrets_manager_and_nowhere_else(emu, state):
    credentials = json.loads(secret_value(emu, ADMIN_SECRET))
    password, key = credentials["password"], secret_value(emu, KEY_SECRET)
    assert credentials["username"] == "admin"
    assert len(password) >= 32 and password.isalnum()
    assert len(key) >= 32
    state["password"] = password

    (container,) = task_definition(emu)["containerDefinitions"]
    secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    arns = {s["Name"]: s["ARN"] for s in emu.client("secretsmanager").list_secrets()["SecretList"]}
    assert secrets["MLFLOW_AUTH_ADMIN_PASSWORD"] == f"{arns[ADMIN_SECRET]}:password::"
    assert secrets["MLFLOW_FLASK_SERVER_SECRET_KEY"] == arns[KEY_SECRET]
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["MLFLOW_AUTH_ENABLED"] == "true"
    assert env["MLFLOW_AUTH_ADMIN_USERNAME"] == "admin"
    assert not {"MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY"} & set(env)

    whole = json.dumps(task_definition(emu), default=str)
    for value in (password, key):
        assert value not in whole
        assert_nowhere(
            value,
            state["first"],
            state["first_start"],
            extra_files=list(state["outputs_dir"].iterdir()),
        )


def test_second_deploy_changes_nothing_and_keeps_the_password(emu, state):
    result = deploy(emu, state)
    assert result.rc == 0, result.tail()
    assert result.changed == 0, result.tail(8000)
    assert admin_password(emu) == state["password"]


def test_check_mode_on_the_deployed_account_reports_no_change(emu, state):
    result = run_playbook(
        "deploy", inventory=ENV, emulator=emu, extra_vars=state["settings"], check=True, diff=True
    )
    assert result.rc == 0, result.tail()
    assert result.changed == 0, result.tail(8000)
    assert state["password"] not in result.stdout + result.stderr


# ------------------------------------------------------------------------ the server itself


def local_task_environment(emu, workdir: Path, port: int) -> dict[str, str]:
    """The container's environment as tools/run_local.py builds it from the emulator."""
    import run_local

    clients = run_local.make_clients(emu.endpoint_url, "us-east-1")
    task = run_local.read_task(clients, f"{ENV}-mlflow-tracking", "mlflow")
    args = SimpleNamespace(
        endpoint_url=emu.endpoint_url,
        region="us-east-1",
        host="127.0.0.1",
        port=port,
        data_dir=str(workdir / "data"),
        local_db=True,  # the emulator runs no PostgreSQL: a local SQLite file instead
        db_endpoint=None,
    )
    run_local.localize(task, args)
    (workdir / "tmp").mkdir(parents=True, exist_ok=True)
    env = {name: os.environ[name] for name in run_local.PASS_THROUGH if name in os.environ}
    env.update(task.values)
    env.update({"HOME": str(workdir), "TMPDIR": str(workdir / "tmp")})
    return env


def start_server(emu, workdir: Path) -> ServerProcess:
    port = free_port()
    server = ServerProcess(local_task_environment(emu, workdir, port), workdir)
    try:
        server.wait_healthy()
    except BaseException:
        server.stop(timeout=10)
        raise
    return server


@requires_mlflow_venv
def test_server_requires_the_admin_credentials(emu, state, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("server")
    state["server_dir"] = workdir
    server = start_server(emu, workdir)
    try:
        url = server.base_url
        assert http(url + "/health").status == 200
        assert http(url + SEARCH).status == 401
        assert http(url + SEARCH, auth=("admin", "not-the-password-0000")).status == 401
        assert http(url + SEARCH, auth=("admin", state["password"])).status == 200
        # Through the custom domain (the Host the load balancer forwards) as well.
        assert http(url + SEARCH, host=DOMAIN, auth=("admin", state["password"])).status == 200
        assert state["password"] not in server.log
    finally:
        server.stop(timeout=10)


# ------------------------------------------------------------------------ rotation


def test_the_plan_of_a_rotation_shows_the_secret_and_the_deployment_only(emu, state):
    """--check --diff of a rotation (the AWX MLflow plan): the secret and the service's new
    deployment; the execution role's policy and the task definition keep the admin secret
    (they showed it removed: the check-mode answer of the secret carried no ARN)."""
    revisions = emu.client("ecs").list_task_definitions()["taskDefinitionArns"]
    password = admin_password(emu)
    result = run_playbook(
        "deploy",
        inventory=ENV,
        emulator=emu,
        extra_vars={**state["settings"], "security_auth_rotate_admin_password": True},
        check=True,
        diff=True,
    )
    assert result.rc == 0, result.tail()
    text = " ".join(result.stdout.split())
    assert '- "name": "MLFLOW_AUTH_ADMIN_PASSWORD"' not in text, result.tail(8000)
    assert '- "arn:aws:secretsmanager' not in text, result.tail(8000)
    assert result.changed == 2, result.tail(8000)  # the secret, the service (as the real run)
    assert admin_password(emu) == password
    assert emu.client("ecs").list_task_definitions()["taskDefinitionArns"] == revisions


def test_rotation_changes_the_secret_and_forces_a_deployment(emu, state):
    deployment = service(emu)["deployments"][0]["id"]
    start = time.time()
    result = deploy(emu, state, security_auth_rotate_admin_password=True)
    assert result.rc == 0, result.tail()
    new = admin_password(emu)
    assert new != state["password"] and len(new) >= 32
    assert service(emu)["deployments"][0]["id"] != deployment, "no new ECS deployment"
    assert_nowhere(new, result, start)
    assert new not in json.dumps(task_definition(emu), default=str)
    state["old_password"], state["password"] = state["password"], new

    result = deploy(emu, state, verbose=0)
    assert result.rc == 0, result.tail()
    assert result.changed == 0, result.tail(8000)
    assert admin_password(emu) == new


@requires_mlflow_venv
def test_restarted_server_accepts_only_the_rotated_password(emu, state):
    # Same data directory: the auth database still holds the old password until the server
    # starts with the rotated secret (docker/entrypoint.py updates it).
    server = start_server(emu, state["server_dir"])
    try:
        url = server.base_url
        assert http(url + SEARCH, auth=("admin", state["password"])).status == 200
        assert http(url + SEARCH, auth=("admin", state["old_password"])).status == 401
    finally:
        server.stop(timeout=10)


# ------------------------------------------------------------------ given certificate, destroy


def test_a_given_certificate_replaces_the_requested_one(emu, state):
    given = emu.client("acm").request_certificate(DomainName=DOMAIN, ValidationMethod="DNS")[
        "CertificateArn"
    ]
    state["settings"]["load_balancer_certificate_arn"] = given
    state["given_certificate"] = given
    result = deploy(emu, state, verbose=0)
    assert result.rc == 0, result.tail()
    https = listeners(emu)[443]
    assert [c["CertificateArn"] for c in https["Certificates"]] == [given]
    assert https["SslPolicy"] == TLS_POLICY
    assert (f"{DOMAIN}.", "A") in records(emu, state)


def test_destroy_removes_the_requested_certificate_and_records_but_keeps_the_secrets(emu, state):
    result = run_playbook("destroy", inventory=ENV, emulator=emu, extra_vars=state["settings"])
    assert result.rc == 0, result.tail()
    remaining = certificates(emu)
    assert state["requested_certificate"] not in remaining
    assert state["given_certificate"] in remaining, "a given certificate must never be deleted"
    assert set(records(emu, state)) == {(f"{ZONE}.", "NS"), (f"{ZONE}.", "SOA")}
    for name in (ADMIN_SECRET, KEY_SECRET):
        assert f"Secrets Manager secret {name}" in result.stdout
    assert admin_password(emu) == state["password"]
