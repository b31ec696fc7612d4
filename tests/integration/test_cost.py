"""playbooks/cost.yml: the monthly cost of an inventory, from its settings and the prices file.

No emulator: the estimate makes no AWS call. The playbook runs once per shipped inventory and
once per cost option on dev (all at once, in threads); the dev figure is checked against a sum
made here by hand from roles/cost/files/prices-us-east-1.yml.
"""

from __future__ import annotations

import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, PlaybookResult, run_playbook

pytestmark = pytest.mark.integration

PRICES = yaml.safe_load((ROOT / "roles" / "cost" / "files" / "prices-us-east-1.yml").read_text())
SHIPPED = sorted(p.name for p in (ROOT / "inventories").iterdir() if (p / "hosts.yml").exists())
OPTIONS = {
    "arm64": {"ecs_cpu_architecture": "ARM64"},
    "spot": {"ecs_capacity_provider": "FARGATE_SPOT"},
    "office_hours": {"ecs_scheduled_scaling": {"enabled": True}},
}
# Settings that change what a deploy pays for besides the options: priced, or shown unpriced.
PRICED_SETTINGS = {
    "dev+throughput": (
        "dev",
        {
            "storage_efs_throughput_mode": "provisioned",
            "storage_efs_provisioned_throughput_mibps": 5,
            "ecs_container_insights": "enhanced",
        },
    ),
    "staging+magnetic": ("staging", {"storage_db_storage_type": "standard"}),
}
TOTAL = re.compile(r'"TOTAL\s+(\S+): us-east-1 prices of (\S+)\s+(\d+\.\d\d)"')
OLD = re.compile(r'"old stack, (its README|with IPv4)\s+.*?\s(\d+\.\d\d)"')


def inventory_with(tmp_path: Path, name: str, base: str, settings: dict) -> Path:
    inventory = tmp_path / name
    shutil.copytree(ROOT / "inventories" / base, inventory)
    (inventory / "group_vars" / "all" / "zz_test.yml").write_text(yaml.safe_dump(settings))
    return inventory


def refused_estimate(tmp_path: Path, settings: dict) -> tuple[str, PlaybookResult]:
    """cost.yml on dev with `settings`: it must fail and print no total. Returns its output on
    one line (for messages folded by the callback) and the result."""
    inventory = inventory_with(tmp_path, "bad", "dev", settings)
    result = run_playbook("cost", inventory=str(inventory))
    assert result.rc != 0, result.tail()
    assert not TOTAL.search(result.stdout), result.tail()
    return " ".join(result.stdout.split()), result


@pytest.fixture(scope="module")
def estimates(tmp_path_factory) -> dict[str, dict]:
    """Every shipped inventory and dev with each option: printed total, old stack, JSON."""
    tmp = tmp_path_factory.mktemp("cost")
    runs = {name: (name, {}) for name in SHIPPED}
    runs |= {f"dev+{option}": ("dev", settings) for option, settings in OPTIONS.items()}
    runs |= PRICED_SETTINGS

    def estimate(name):
        base, settings = runs[name]
        out = tmp / f"{name}.json"
        inventory = inventory_with(tmp, name, base, {**settings, "cost_output_file": str(out)})
        result = run_playbook("cost", inventory=str(inventory))
        assert result.rc == 0, result.tail()
        total = TOTAL.search(result.stdout)
        assert total, result.tail()
        return {
            "environment": total.group(1),
            "prices_as_of": total.group(2),
            "total": float(total.group(3)),
            "old": {m.group(1): float(m.group(2)) for m in OLD.finditer(result.stdout)},
            "json": yaml.safe_load(out.read_text()),
            "stdout": result.stdout,
        }

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(runs, pool.map(estimate, runs), strict=True))


def by_hand_dev() -> float:
    """inventories/dev (one x86 task all month of its CPU and memory, EFS, login on, its log
    retention) with the role's default usage assumptions, priced from the prices file."""
    dev = yaml.safe_load((ROOT / "inventories/dev/group_vars/all/main.yml").read_text())
    vcpu, gb = dev["ecs_task_cpu"] / 1024, dev["ecs_task_memory"] / 1024
    days = dev["logging_retention_days"]
    assert dev["storage_backend"] == "efs"
    p, hours = PRICES, 730
    fargate = vcpu * hours * p["fargate"]["X86_64"]["vcpu_hour"]
    fargate += gb * hours * p["fargate"]["X86_64"]["gb_hour"]
    alb = hours * p["alb"]["hour"] + 1 * hours * p["alb"]["lcu_hour"]
    ipv4 = (2 + 1) * hours * p["public_ipv4"]["hour"]  # the ALB's two and the task's one
    efs = 1 * p["efs"]["standard_gb_month"]
    s3 = 10 * p["s3"]["standard_gb_month"]
    ecr = 1 * p["ecr"]["storage_gb_month"]
    logs = 1 * p["cloudwatch_logs"]["ingestion_gb"]
    logs += 1 * days / 30 * p["cloudwatch_logs"]["storage_gb_month"]
    secrets = 2 * p["secrets_manager"]["secret_month"]  # admin credentials, Flask key
    return fargate + alb + ipv4 + efs + s3 + ecr + logs + secrets  # 10 GB out: free


def test_the_printed_total_is_the_sum_of_the_prices(estimates):
    dev = estimates["dev"]
    assert dev["total"] == pytest.approx(by_hand_dev(), abs=0.01)
    assert dev["json"]["total_usd"] == dev["total"]
    assert dev["prices_as_of"] == str(PRICES["prices_as_of"])
    assert sum(c["monthly_usd"] for c in dev["json"]["components"]) == pytest.approx(
        dev["total"], abs=0.01
    )


def test_every_shipped_inventory_is_priced_next_to_the_old_stack(estimates):
    for name in SHIPPED:
        found = estimates[name]
        assert found["environment"] == name
        assert found["old"] == {
            "its README": 31.0,
            # its ALB's two public IPv4 addresses and its task's one, all month
            "with IPv4": round(31 + 3 * 730 * PRICES["public_ipv4"]["hour"], 2),
        }
        components = {c["component"] for c in found["json"]["components"]}
        assert {"ALB hours", "Public IPv4 (ALB)", "S3 artifacts"} <= components, name
    # The settings drive the figures: RDS where the inventory says postgres, EFS in dev.
    assert "RDS PostgreSQL instance" in str(estimates["production"]["json"])
    assert "RDS PostgreSQL instance" not in str(estimates["dev"]["json"])
    assert "EFS Standard" in str(estimates["dev"]["json"])


@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_each_cost_option_lowers_the_estimate(estimates, option, record_property):
    saved = estimates["dev"]["total"] - estimates[f"dev+{option}"]["total"]
    record_property(f"figure: dev monthly USD saved by {option}", round(saved, 2))
    assert saved > 0, (option, estimates[f"dev+{option}"]["stdout"][-3000:])


def test_the_alarms_of_the_target_tracking_policy_come_with_the_schedule(estimates):
    """Scale to zero needs a scalable target with a target-tracking policy (roles/ecs): its two
    CloudWatch alarms are billed all month; without the option there is no policy."""
    alarms = {
        name: [c for c in found["json"]["components"] if c["component"] == "CloudWatch alarms"]
        for name, found in estimates.items()
    }
    assert alarms["dev+office_hours"] == [
        {
            "component": "CloudWatch alarms",
            "detail": "2 alarms of the target-tracking policy",
            "monthly_usd": 2 * PRICES["cloudwatch_alarms"]["alarm_month"],
        }
    ]
    assert [name for name, found in alarms.items() if found] == ["dev+office_hours"]


def test_the_storage_settings_a_deploy_pays_for_are_priced(estimates):
    """storage_efs_provisioned_throughput_mibps and storage_db_storage_type reach the estimate
    (they were priced as bursting EFS and gp3 storage); Container Insights is shown unpriced."""

    def rows(name):
        return {c["component"]: c for c in estimates[name]["json"]["components"]}

    throughput = rows("dev+throughput")
    assert throughput["EFS provisioned throughput"]["monthly_usd"] == pytest.approx(
        5 * PRICES["efs"]["provisioned_mibps_month"]
    )
    assert estimates["dev+throughput"]["total"] == pytest.approx(
        estimates["dev"]["total"] + 5 * PRICES["efs"]["provisioned_mibps_month"], abs=0.01
    )
    assert throughput["Container Insights"]["monthly_usd"] == 0
    assert "enhanced: billed metrics, NOT PRICED" in throughput["Container Insights"]["detail"]
    assert "EFS provisioned throughput" not in rows("dev")
    assert "Container Insights" not in rows("dev")

    magnetic, gp3 = rows("staging+magnetic"), rows("staging")
    storage = PRICES["rds_postgresql"]["storage_gb_month"]
    assert "RDS storage (standard)" in magnetic and "RDS storage (standard)" not in gp3
    assert magnetic["RDS storage (standard)"]["monthly_usd"] == pytest.approx(
        gp3["RDS storage (gp3)"]["monthly_usd"] / storage["gp3"] * storage["standard"]
    )


def test_usage_assumptions_that_are_not_numbers_of_0_or_more_are_refused(tmp_path):
    """A negative or non-numeric assumption would print a meaningless (even negative) total."""
    text, result = refused_estimate(tmp_path, {"cost_s3_gb": -5000, "cost_tasks": "abc"})
    assert "cost_tasks is 'abc'; allowed: a number of 0 or more" in text, result.tail()
    assert "cost_s3_gb is '-5000'; allowed: a number of 0 or more" in text


def test_a_month_of_0_hours_is_refused(tmp_path):
    """0 hours would price every hourly component (Fargate, ALB, RDS, IPv4) at nothing."""
    text, result = refused_estimate(tmp_path, {"cost_hours_per_month": 0})
    message = "cost_hours_per_month is '0'; allowed: more than 0 and at most 744"
    assert message in text, result.tail()


def test_a_run_without_an_environments_inventory_names_what_it_lacks():
    """-i localhost, (or no inventory): a message naming the variables and -i, as deploy.yml's,
    instead of a templating error."""
    result = run_playbook("cost", inventory="localhost,")
    assert result.rc != 0
    text = " ".join(result.stdout.split())
    assert "mlflow_env and aws_region not set: this run has no environment's inventory" in text, (
        result.tail()
    )
    assert "Run the playbook with one, e.g. -i inventories/production" in text
    assert "is undefined" not in result.stdout + result.stderr


def test_settings_a_deploy_refuses_by_their_argument_spec_are_refused_here_too(tmp_path):
    """A misspelt key of ecs_scheduled_scaling, or a choice in the wrong case, fails a deploy's
    argument spec check: the estimate refuses them by name instead of pricing something else."""
    text, result = refused_estimate(
        tmp_path,
        {
            "ecs_scheduled_scaling": {"enabled": True, "stop_hours": 18},
            "ecs_cpu_architecture": "arm64",
        },
    )
    assert "stop_hours" in text and "ecs_scheduled_scaling" in text, result.tail()
    assert "ecs_cpu_architecture" in text and "arm64" in text, result.tail()


@pytest.mark.parametrize("value", ["on", True])
def test_a_dictionary_setting_given_another_kind_of_value_is_refused_by_name(tmp_path, value):
    """As deploy.yml refuses it (roles/mlflow/tasks/settings.yml), for the roles cost.yml prices
    but does not apply: before, a string failed inside a template naming no setting."""
    text, result = refused_estimate(tmp_path, {"ecs_autoscaling": value})
    kind = "a string" if isinstance(value, str) else "true/false"
    assert f"ecs_autoscaling (ecs role) must be a dictionary; got {kind}" in text, result.tail()


def test_a_role_state_is_refused_naming_the_playbooks_that_set_it(tmp_path):
    """cost.yml prices what deploy.yml would create: a role state from the inventory is refused
    as a deploy refuses it, and the message names cost.yml too (it named only deploy.yml)."""
    text, result = refused_estimate(tmp_path, {"logging_state": "absent"})
    assert "logging_state is set, but the playbook sets every role's state" in text, result.tail()
    assert "cost.yml prices what a deploy would create" in text


def test_a_misspelt_setting_is_refused_by_name(tmp_path):
    """ecs_desired_cont would be ignored and the estimate priced for ecs_desired_count's default."""
    text, result = refused_estimate(tmp_path, {"ecs_desired_cont": 3})
    assert "ecs_desired_cont (ecs role): not a setting of that role" in text, result.tail()


def test_prices_of_another_region_are_named_as_such(tmp_path):
    """The prices file is us-east-1's: an inventory in eu-west-1 gets the estimate with a
    warning naming both regions, not silently as eu-west-1's."""
    inventory = inventory_with(tmp_path, "eu", "dev", {"aws_region": "eu-west-1"})
    result = run_playbook("cost", inventory=str(inventory))
    assert result.rc == 0, result.tail()
    text = " ".join(result.stdout.split())
    assert (
        "WARNING: aws_region is eu-west-1, but the prices file (cost_prices_file) holds us-east-1"
        in text
    )
    assert TOTAL.search(result.stdout)
