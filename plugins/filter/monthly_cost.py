# Copyright: Contributors to the mlops.mlflow_ecs collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The monthly cost of a deployment, by component, from a prices file and its settings."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
---
name: monthly_cost
short_description: Monthly cost of an MLflow deployment, by component
version_added: 0.2.0
description:
  - Prices a deployment's settings (task size and platform, hours the tasks run, load balancer,
    public IPv4 addresses, database and its storage type or file system and its throughput,
    S3, logs, alarms, secrets, keys, DNS, data transfer) with a prices file such as
    C(roles/cost/files/prices-us-east-1.yml).
  - Container Insights (C(container_insights) other than V(disabled)) is shown as a row of
    0 USD marked as not priced, as AWS bills it by the metrics the tasks report.
  - Pure arithmetic, no AWS call. The role C(mlops.mlflow_ecs.cost) builds the settings from the
    deploy's own role defaults and the inventory.
  - Fails naming, by their paths in the file (for example C(alb.hour)), every price these
    settings need that the prices file lacks or that is not a number of 0 or more.
options:
  _input:
    description: The deployment's settings (see C(roles/cost/vars/main.yml), C(cost_settings)).
    type: dict
    required: true
  prices:
    description: The prices file's content.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Price the deployment
  ansible.builtin.debug:
    msg: "{{ cost_settings | mlops.mlflow_ecs.monthly_cost(cost_prices) }}"
"""

RETURN = r"""
_value:
  description:
    - C(components) (list of C(component), C(detail), C(monthly_usd)), C(total_usd), C(region),
      C(prices_as_of), and the old stack's C(old_stack_usd) and C(old_stack_with_ipv4_usd).
  type: dict
"""


def _needed_prices(s):
    """The paths of the prices file the estimate of these settings reads."""
    arch = s["cpu_architecture"]
    paths = [
        ("fargate", arch, "vcpu_hour"),
        ("fargate", arch, "gb_hour"),
        ("fargate", "ephemeral_storage_gb_hour"),
        ("fargate", "ephemeral_storage_free_gb"),
        ("alb", "hour"),
        ("alb", "lcu_hour"),
        ("public_ipv4", "hour"),
        ("s3", "standard_gb_month"),
        ("ecr", "storage_gb_month"),
        ("cloudwatch_logs", "ingestion_gb"),
        ("cloudwatch_logs", "storage_gb_month"),
        ("secrets_manager", "secret_month"),
        ("data_transfer_out", "free_gb_month"),
        ("data_transfer_out", "gb"),
        ("old_stack", "monthly_usd"),
        ("old_stack", "public_ipv4_addresses"),
    ]
    if s["capacity_provider"] == "FARGATE_SPOT":
        paths.append(("fargate", "spot_discount"))
    if s["storage_backend"] == "postgres":
        storage_type = s.get("db_storage_type", "gp3")
        paths += [
            ("rds_postgresql", "storage_gb_month", storage_type),
            ("rds_postgresql", "backup_gb_month"),
        ]
    elif s["storage_backend"] == "efs":
        paths.append(("efs", "standard_gb_month"))
        if s.get("efs_throughput_mode", "bursting") == "provisioned":
            paths.append(("efs", "provisioned_mibps_month"))
    if int(s["alarms"]):
        paths.append(("cloudwatch_alarms", "alarm_month"))
    if int(s["kms_keys"]):
        paths.append(("kms", "key_month"))
    if int(s["hosted_zones"]):
        paths.append(("route53", "hosted_zone_month"))
    return paths


def _check_prices(s, prices):
    """Name every price the estimate needs that the file lacks or that is no number >= 0."""
    problems = []
    for key in ("prices_as_of", "region"):
        if not isinstance(prices, dict) or not prices.get(key):
            problems.append(f"{key} (missing)")
    for path in _needed_prices(s):
        value = prices
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        name = ".".join(path)
        if value is None:
            problems.append(f"{name} (missing)")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            problems.append(f"{name} ({value!r}, not a number of 0 or more)")
        elif path[-1] == "spot_discount" and value >= 1:
            problems.append(f"{name} ({value!r}, not a fraction below 1)")
    if problems:
        raise AnsibleFilterError(
            "the prices file (cost_prices_file) lacks or holds no valid price for: "
            + "; ".join(problems)
        )


def _row(component, detail, usd):
    return {"component": component, "detail": detail, "monthly_usd": round(usd, 4)}


def monthly_cost(settings, prices):
    """Return {'components': [...], 'total_usd': x}: every component's monthly cost in USD."""
    s = settings
    hours = float(s["hours_per_month"])
    rows = []

    # Fargate: tasks x the hours they run x (vCPU, GB), by architecture, Spot at its discount.
    arch = s["cpu_architecture"]
    if arch not in (prices.get("fargate") or {}):
        raise AnsibleFilterError(f"no Fargate price for CPU architecture {arch}")
    _check_prices(s, prices)
    fargate = prices["fargate"]
    task_hours = float(s["tasks"]) * hours * float(s["running_hours_per_week"]) / 168.0
    vcpu = int(s["task_cpu"]) / 1024.0
    gb = int(s["task_memory"]) / 1024.0
    spot = s["capacity_provider"] == "FARGATE_SPOT"
    factor = (1.0 - float(fargate["spot_discount"])) if spot else 1.0
    kind = f"Fargate{' Spot' if spot else ''} {arch}"
    when = f"{task_hours:.0f} task-hours"
    rows.append(
        _row(
            f"{kind} vCPU",
            f"{vcpu:g} vCPU x {when}",
            task_hours * vcpu * fargate[arch]["vcpu_hour"] * factor,
        )
    )
    rows.append(
        _row(
            f"{kind} memory",
            f"{gb:g} GB x {when}",
            task_hours * gb * fargate[arch]["gb_hour"] * factor,
        )
    )
    # The task definition sets ephemeral storage only above 21 GiB (ECS's minimum when set);
    # unset, a task gets the free 20 GB.
    storage_gib = int(s["ephemeral_storage_gib"])
    free_gb = int(fargate["ephemeral_storage_free_gb"])
    extra_gb = storage_gib - free_gb if storage_gib > free_gb + 1 else 0
    if extra_gb:
        rows.append(
            _row(
                "Fargate ephemeral storage",
                f"{extra_gb} GB above {fargate['ephemeral_storage_free_gb']} x {when}",
                task_hours * extra_gb * fargate["ephemeral_storage_gb_hour"],
            )
        )

    # Application Load Balancer: always on, even when the tasks are scaled to zero.
    alb = prices["alb"]
    rows.append(_row("ALB hours", f"{hours:g} h", hours * alb["hour"]))
    lcus = float(s["alb_lcus"])
    rows.append(
        _row("ALB LCUs", f"{lcus:g} LCU x {hours:g} h (assumed)", lcus * hours * alb["lcu_hour"])
    )

    # Public IPv4 addresses: the ALB's, one per Availability Zone, and each task's.
    ipv4 = prices["public_ipv4"]["hour"]
    azs = int(s["alb_availability_zones"])
    rows.append(_row("Public IPv4 (ALB)", f"{azs} addresses x {hours:g} h", azs * hours * ipv4))
    if s["assign_public_ip"]:
        rows.append(_row("Public IPv4 (tasks)", f"1 address x {when}", task_hours * ipv4))

    # Backend store.
    backend = s["storage_backend"]
    if backend == "postgres":
        rds = prices["rds_postgresql"]
        klass = s["db_instance_class"]
        if klass not in rds["instance_hour"]:
            raise AnsibleFilterError(
                f"no RDS PostgreSQL price for {klass} in the prices file"
                f" (known: {', '.join(sorted(rds['instance_hour']))})"
            )
        copies = 2 if s["db_multi_az"] else 1
        az = "Multi-AZ" if copies == 2 else "Single-AZ"
        rows.append(
            _row(
                "RDS PostgreSQL instance",
                f"{klass} {az} x {hours:g} h",
                copies * hours * rds["instance_hour"][klass],
            )
        )
        storage = int(s["db_allocated_storage"])
        storage_type = s.get("db_storage_type", "gp3")
        rows.append(
            _row(
                f"RDS storage ({storage_type})",
                f"{storage} GB {az}"
                + (", I/O requests not priced" if storage_type == "standard" else ""),
                copies * storage * rds["storage_gb_month"][storage_type],
            )
        )
        backup = float(s["db_backup_gb"]) if int(s["db_backup_retention_days"]) > 0 else 0.0
        billed = max(0.0, backup - storage)
        rows.append(
            _row(
                "RDS backups",
                f"{backup:g} GB kept (assumed), {billed:g} beyond the free {storage} GB",
                billed * rds["backup_gb_month"],
            )
        )
    elif backend == "efs":
        efs_gb = float(s["efs_gb"])
        rows.append(
            _row(
                "EFS Standard",
                f"{efs_gb:g} GB (assumed)",
                efs_gb * prices["efs"]["standard_gb_month"],
            )
        )
        if s.get("efs_throughput_mode", "bursting") == "provisioned":
            mibps = float(s["efs_provisioned_mibps"])
            rows.append(
                _row(
                    "EFS provisioned throughput",
                    f"{mibps:g} MiB/s",
                    mibps * prices["efs"]["provisioned_mibps_month"],
                )
            )

    s3_gb = float(s["s3_gb"])
    rows.append(
        _row(
            "S3 artifacts",
            f"{s3_gb:g} GB Standard (assumed)",
            s3_gb * prices["s3"]["standard_gb_month"],
        )
    )
    ecr_gb = float(s["ecr_gb"])
    rows.append(
        _row("ECR image", f"{ecr_gb:g} GB (assumed)", ecr_gb * prices["ecr"]["storage_gb_month"])
    )

    # CloudWatch Logs: ingestion, and storage of what the retention keeps (days / 30 of a month's).
    logs = prices["cloudwatch_logs"]
    logs_gb = float(s["logs_gb"])
    kept_gb = logs_gb * min(int(s["log_retention_days"]), 30) / 30.0
    rows.append(
        _row(
            "CloudWatch Logs ingestion", f"{logs_gb:g} GB (assumed)", logs_gb * logs["ingestion_gb"]
        )
    )
    rows.append(
        _row(
            "CloudWatch Logs storage",
            f"{kept_gb:g} GB kept ({s['log_retention_days']} days)",
            kept_gb * logs["storage_gb_month"],
        )
    )

    # The target-tracking policy's alarms (the service's autoscaling, or the scalable target the
    # office-hours schedule needs): billed all month, whatever the tasks run.
    alarms = int(s["alarms"])
    if alarms:
        rows.append(
            _row(
                "CloudWatch alarms",
                f"{alarms} alarms of the target-tracking policy",
                alarms * prices["cloudwatch_alarms"]["alarm_month"],
            )
        )

    # Container Insights bills CloudWatch metrics (or observations, enhanced) by how many tasks,
    # services and containers report: shown, so the total is not taken to include it.
    insights = s.get("container_insights", "disabled")
    if insights != "disabled":
        rows.append(_row("Container Insights", f"{insights}: billed metrics, NOT PRICED here", 0.0))

    secrets = int(s["secrets"])
    rows.append(
        _row(
            "Secrets Manager",
            f"{secrets} secrets",
            secrets * prices["secrets_manager"]["secret_month"],
        )
    )
    keys = int(s["kms_keys"])
    if keys:
        rows.append(_row("KMS", f"{keys} customer managed keys", keys * prices["kms"]["key_month"]))
    zones = int(s["hosted_zones"])
    if zones:
        rows.append(
            _row("Route 53", f"{zones} hosted zone", zones * prices["route53"]["hosted_zone_month"])
        )

    dto = prices["data_transfer_out"]
    out_gb = float(s["data_transfer_out_gb"])
    billed_out = max(0.0, out_gb - float(dto["free_gb_month"]))
    rows.append(
        _row(
            "Data transfer out",
            f"{out_gb:g} GB (assumed), {billed_out:g} beyond the free {dto['free_gb_month']}",
            billed_out * dto["gb"],
        )
    )

    total = sum(r["monthly_usd"] for r in rows)
    old = prices["old_stack"]
    old_ipv4 = int(old["public_ipv4_addresses"]) * hours * ipv4
    return {
        "components": rows,
        "total_usd": round(total, 2),
        "prices_as_of": str(prices["prices_as_of"]),
        "region": prices["region"],
        "old_stack_usd": float(old["monthly_usd"]),
        "old_stack_with_ipv4_usd": round(float(old["monthly_usd"]) + old_ipv4, 2),
    }


LINE = "{:<30} {:<62} {:>9}"


def monthly_cost_table(estimate, environment):
    """The estimate as lines of a table: one per component, the total, the old stack's figures."""
    lines = [LINE.format("component", "what (usage assumptions: cost_* variables)", "USD/month")]
    lines += [
        LINE.format(r["component"], r["detail"], f"{r['monthly_usd']:.2f}")
        for r in estimate["components"]
    ]
    lines.append(
        LINE.format(
            "TOTAL",
            f"{environment}: {estimate['region']} prices of {estimate['prices_as_of']}",
            f"{estimate['total_usd']:.2f}",
        )
    )
    lines.append(
        LINE.format(
            "old stack, its README", "without public IPv4", f"{estimate['old_stack_usd']:.2f}"
        )
    )
    lines.append(
        LINE.format(
            "old stack, with IPv4",
            "its ALB's 2 and its task's 1 public IPv4",
            f"{estimate['old_stack_with_ipv4_usd']:.2f}",
        )
    )
    return lines


class FilterModule:
    def filters(self):
        return {"monthly_cost": monthly_cost, "monthly_cost_table": monthly_cost_table}
