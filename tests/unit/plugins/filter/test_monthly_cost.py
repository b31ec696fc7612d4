from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.mlops.mlflow_ecs.plugins.filter.monthly_cost import (
    monthly_cost,
    monthly_cost_table,
)

PRICES = yaml.safe_load(
    (Path(__file__).resolve().parents[4] / "roles/cost/files/prices-us-east-1.yml").read_text()
)


def settings(**overrides):
    base = {
        "hours_per_month": 730.0,
        "tasks": 1.0,
        "task_cpu": 1024,
        "task_memory": 2048,
        "cpu_architecture": "X86_64",
        "capacity_provider": "FARGATE",
        "ephemeral_storage_gib": 21,
        "running_hours_per_week": 168.0,
        "assign_public_ip": True,
        "alb_availability_zones": 2,
        "alb_lcus": 1.0,
        "storage_backend": "postgres",
        "db_instance_class": "db.t4g.micro",
        "db_multi_az": False,
        "db_allocated_storage": 20,
        "db_backup_retention_days": 7,
        "db_backup_gb": 5.0,
        "efs_gb": 1.0,
        "s3_gb": 10.0,
        "ecr_gb": 1.0,
        "logs_gb": 1.0,
        "log_retention_days": 7,
        "alarms": 0,
        "secrets": 3,
        "kms_keys": 0,
        "hosted_zones": 0,
        "data_transfer_out_gb": 10.0,
    }
    return base | overrides


def component(estimate, name):
    [found] = [c["monthly_usd"] for c in estimate["components"] if c["component"] == name]
    return found


def test_fargate_is_vcpu_and_gb_hours_at_the_architecture_price():
    x86 = monthly_cost(settings(), PRICES)
    assert component(x86, "Fargate X86_64 vCPU") == pytest.approx(730 * 0.04048, abs=1e-4)
    assert component(x86, "Fargate X86_64 memory") == pytest.approx(730 * 2 * 0.004445, abs=1e-4)
    arm = monthly_cost(settings(cpu_architecture="ARM64"), PRICES)
    assert component(arm, "Fargate ARM64 vCPU") == pytest.approx(730 * 0.03238, abs=1e-4)


def test_spot_applies_the_discount_and_the_schedule_the_hours():
    spot = monthly_cost(settings(capacity_provider="FARGATE_SPOT"), PRICES)
    assert component(spot, "Fargate Spot X86_64 vCPU") == pytest.approx(
        730 * 0.04048 * 0.3, abs=1e-4
    )
    office = monthly_cost(settings(running_hours_per_week=60.0), PRICES)
    assert component(office, "Fargate X86_64 vCPU") == pytest.approx(
        730 * 60 / 168 * 0.04048, abs=1e-4
    )
    # The task's public address goes with the task; the ALB's stay all month.
    assert component(office, "Public IPv4 (tasks)") == pytest.approx(
        730 * 60 / 168 * 0.005, abs=1e-4
    )
    assert component(office, "Public IPv4 (ALB)") == pytest.approx(2 * 730 * 0.005, abs=1e-4)


def test_the_alarms_of_a_target_tracking_policy_are_billed_all_month():
    names = [c["component"] for c in monthly_cost(settings(), PRICES)["components"]]
    assert "CloudWatch alarms" not in names
    # Office hours: the tasks run 60 h a week, the policy's two alarms exist all month.
    office = monthly_cost(settings(alarms=2, running_hours_per_week=60.0), PRICES)
    assert component(office, "CloudWatch alarms") == pytest.approx(2 * 0.10, abs=1e-4)
    without_price = {k: v for k, v in PRICES.items() if k != "cloudwatch_alarms"}
    with pytest.raises(AnsibleFilterError, match=r"cloudwatch_alarms\.alarm_month \(missing\)"):
        monthly_cost(settings(alarms=2), without_price)
    assert monthly_cost(settings(), without_price)["total_usd"] > 0  # no alarm, no price needed


def test_ephemeral_storage_is_billed_only_when_the_task_definition_sets_it():
    names = [c["component"] for c in monthly_cost(settings(), PRICES)["components"]]
    assert "Fargate ephemeral storage" not in names  # 21 GiB: not set, 20 GB free
    big = monthly_cost(settings(ephemeral_storage_gib=30), PRICES)
    assert component(big, "Fargate ephemeral storage") == pytest.approx(
        10 * 730 * 0.000111, abs=1e-4
    )


def test_multi_az_doubles_the_instance_and_its_storage():
    single = monthly_cost(settings(), PRICES)
    multi = monthly_cost(settings(db_multi_az=True), PRICES)
    for name in ("RDS PostgreSQL instance", "RDS storage (gp3)"):
        assert component(multi, name) == pytest.approx(2 * component(single, name))


def test_backups_beyond_the_allocated_storage_and_transfer_beyond_100_gb_are_billed():
    est = monthly_cost(settings(db_backup_gb=30.0, data_transfer_out_gb=150.0), PRICES)
    assert component(est, "RDS backups") == pytest.approx(10 * 0.095)
    assert component(est, "Data transfer out") == pytest.approx(50 * 0.09)


def test_an_unknown_instance_class_is_named():
    with pytest.raises(AnsibleFilterError, match="db.r6g.large"):
        monthly_cost(settings(db_instance_class="db.r6g.large"), PRICES)


def test_the_table_ends_with_the_total_and_the_old_stack():
    est = monthly_cost(settings(), PRICES)
    lines = monthly_cost_table(est, "production")
    assert lines[-3].startswith("TOTAL") and lines[-3].endswith(f"{est['total_usd']:.2f}")
    assert lines[-2].endswith("31.00")
    assert lines[-1].endswith("41.95")  # 31 + 3 public IPv4 x 730 h x 0.005


def test_every_missing_or_non_numeric_price_is_named_at_once():
    """A prices file edited by hand: each key the estimate needs and lacks (or holds no number
    of 0 or more in) is named by its path, not a bare KeyError or TypeError."""
    import copy

    broken = copy.deepcopy(PRICES)
    del broken["alb"]["hour"]
    broken["fargate"]["X86_64"]["vcpu_hour"] = "0.04x"
    broken["s3"]["standard_gb_month"] = -1
    del broken["fargate"]["spot_discount"]
    with pytest.raises(AnsibleFilterError) as error:
        monthly_cost(settings(capacity_provider="FARGATE_SPOT"), broken)
    message = str(error.value)
    assert "cost_prices_file" in message
    assert "alb.hour (missing)" in message
    assert "fargate.X86_64.vcpu_hour ('0.04x'" in message
    assert "s3.standard_gb_month (-1" in message
    assert "fargate.spot_discount (missing)" in message
    # A price the settings do not use may be left out (no Spot: no discount needed).
    monthly_cost(settings(), {**PRICES, "fargate": {**PRICES["fargate"], "spot_discount": None}})


@pytest.mark.parametrize(
    ("storage_type", "gb_month"), [("gp3", 0.115), ("gp2", 0.115), ("standard", 0.10)]
)
def test_rds_storage_is_priced_by_its_storage_type(storage_type, gb_month):
    estimate = monthly_cost(settings(db_storage_type=storage_type, db_multi_az=True), PRICES)
    assert component(estimate, f"RDS storage ({storage_type})") == pytest.approx(2 * 20 * gb_month)


def test_efs_provisioned_throughput_is_priced_per_mibps_month():
    efs = settings(
        storage_backend="efs", efs_throughput_mode="provisioned", efs_provisioned_mibps=10.0
    )
    estimate = monthly_cost(efs, PRICES)
    assert component(estimate, "EFS provisioned throughput") == pytest.approx(10 * 6.00)
    bursting = monthly_cost(settings(storage_backend="efs"), PRICES)
    assert "EFS provisioned throughput" not in [c["component"] for c in bursting["components"]]
    assert estimate["total_usd"] == pytest.approx(bursting["total_usd"] + 60, abs=0.01)


def test_a_provisioned_throughput_without_its_price_is_named():
    prices = yaml.safe_load(yaml.safe_dump(PRICES))
    del prices["efs"]["provisioned_mibps_month"]
    efs = settings(
        storage_backend="efs", efs_throughput_mode="provisioned", efs_provisioned_mibps=1.0
    )
    with pytest.raises(AnsibleFilterError, match=r"efs\.provisioned_mibps_month \(missing\)"):
        monthly_cost(efs, prices)
    monthly_cost(settings(storage_backend="efs"), prices)  # bursting needs no such price


@pytest.mark.parametrize("mode", ["enabled", "enhanced"])
def test_container_insights_is_shown_as_not_priced(mode):
    estimate = monthly_cost(settings(container_insights=mode), PRICES)
    [row] = [c for c in estimate["components"] if c["component"] == "Container Insights"]
    assert row["monthly_usd"] == 0 and "NOT PRICED" in row["detail"] and mode in row["detail"]
    disabled = monthly_cost(settings(), PRICES)
    assert "Container Insights" not in [c["component"] for c in disabled["components"]]
