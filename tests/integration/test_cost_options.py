"""The ecs role's cost options against the emulator: Fargate Spot and scale to zero out of
office hours on the dev inventory; ARM64 (Graviton) where AWS allows it.

One emulator for the module, one deploy with Fargate Spot and the office-hours schedule on,
read back with boto3 (tools/moto_server.py makes moto keep a service's capacity provider
strategy, as AWS does), one deploy with both turned off again, one destroy. The ARM64 task
definition itself is checked by tests/integration/test_ecs_role.py (runtimePlatform ARM64), its
price by test_cost.py. One refused run checks every refusal before any change: Spot and the
schedule in production, Spot with ARM64 on a platform version before 1.4.0.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, run_playbook

pytestmark = pytest.mark.integration

ENV = "dev"
CLUSTER = f"{ENV}-mlflow-cluster"
SERVICE = f"{ENV}-mlflow-tracking"
FAMILY = f"{ENV}-mlflow-tracking"
RESOURCE_ID = f"service/{CLUSTER}/{SERVICE}"
ALL_DAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]


def schedule_showing(local_hour: int) -> dict:
    """Office hours 7-19 every day, in the Etc/GMT time zone whose clock shows local_hour now.

    A deploy registers what the schedule holds at its moment: 12 is well inside the hours, 2
    well outside, however long the deploy takes.
    """
    east = (local_hour - datetime.now(UTC).hour) % 24
    east = east - 24 if east > 14 else east  # Etc/GMT-14 (UTC+14) ... Etc/GMT+9 (UTC-9)
    # The POSIX sign of the Etc zones: Etc/GMT-2 is two hours east of UTC.
    zone = "UTC" if east == 0 else f"Etc/GMT{'-' if east > 0 else '+'}{abs(east)}"
    return {"enabled": True, "timezone": zone, "days": ALL_DAYS, "start_hour": 7, "stop_hour": 19}


SCHEDULE = {
    "enabled": True,
    "timezone": "Europe/Madrid",
    "days": ["MON", "TUE", "WED", "THU", "FRI"],
    "start_hour": 7,
    "stop_hour": 19,
}
EMULATOR_VARS = {"image_build": False, "ecs_wait_timeout": 120}


def inventory_with(tmp_path: Path, base: str, settings: dict) -> Path:
    """inventories/<base> copied, plus group_vars/all/zz_test.yml holding `settings`."""
    inventory = tmp_path / base
    shutil.copytree(ROOT / "inventories" / base, inventory)
    (inventory / "group_vars" / "all" / "zz_test.yml").write_text(yaml.safe_dump(settings))
    return inventory


def deploy(emu, inventory: Path, outputs: Path):
    extra = {**EMULATOR_VARS, "mlflow_outputs_file": str(outputs / f"{inventory.name}.json")}
    return run_playbook("deploy", inventory=str(inventory), emulator=emu, extra_vars=extra)


def scheduled_actions(emu) -> dict[str, dict]:
    actions = emu.client("application-autoscaling").describe_scheduled_actions(
        ServiceNamespace="ecs", ResourceId=RESOURCE_ID
    )["ScheduledActions"]
    return {a["ScheduledActionName"]: a for a in actions}


@pytest.fixture(scope="module")
def emu(emulator_factory):
    return emulator_factory(ENV)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("outputs")


@pytest.fixture(scope="module")
def deployed(emu, outputs, tmp_path_factory):
    """dev with Fargate Spot and the office-hours schedule, deployed out of office hours."""
    inventory = inventory_with(
        tmp_path_factory.mktemp("options"),
        ENV,
        {"ecs_capacity_provider": "FARGATE_SPOT", "ecs_scheduled_scaling": schedule_showing(2)},
    )
    result = deploy(emu, inventory, outputs)
    assert result.rc == 0, result.tail()
    return result


def service(emu) -> dict:
    [found] = emu.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])["services"]
    return found


def scalable_target_range(emu) -> list[tuple[int, int]]:
    targets = emu.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[RESOURCE_ID]
    )["ScalableTargets"]
    return [(t["MinCapacity"], t["MaxCapacity"]) for t in targets]


def test_spot_tasks_run_on_the_fargate_spot_capacity_provider(emu, deployed):
    svc = service(emu)
    assert svc["capacityProviderStrategy"] == [
        {"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}
    ]
    assert "launchType" not in svc  # a service has one or the other
    cluster = emu.client("ecs").describe_clusters(clusters=[CLUSTER])["clusters"][0]
    assert set(cluster["capacityProviders"]) == {"FARGATE", "FARGATE_SPOT"}
    definition = emu.client("ecs").describe_task_definition(taskDefinition=FAMILY)["taskDefinition"]
    assert definition["runtimePlatform"] == {
        "cpuArchitecture": "X86_64",
        "operatingSystemFamily": "LINUX",
    }


def test_a_deploy_out_of_office_hours_starts_no_task(emu, deployed):
    """The schedule's actions are put, and the service is created as the stop action holds it:
    no task until the next start action (not tasks running until the next stop, days at a
    weekend)."""
    actions = scheduled_actions(emu)
    assert set(actions) == {f"{SERVICE}-office-hours-start", f"{SERVICE}-office-hours-stop"}
    stop = actions[f"{SERVICE}-office-hours-stop"]
    start = actions[f"{SERVICE}-office-hours-start"]
    assert stop["Schedule"] == "cron(0 19 ? * MON,TUE,WED,THU,FRI,SAT,SUN *)"
    assert start["Schedule"] == "cron(0 7 ? * MON,TUE,WED,THU,FRI,SAT,SUN *)"
    assert stop["Timezone"] == start["Timezone"] != ""
    assert stop["ScalableTargetAction"] == {"MinCapacity": 0, "MaxCapacity": 0}
    # Without ecs_autoscaling, office hours run ecs_desired_count (1) tasks.
    assert start["ScalableTargetAction"] == {"MinCapacity": 1, "MaxCapacity": 1}
    # The module refuses to put an action on a target not registered (moto would accept it):
    # the deploy passing shows the target was registered first, as AWS requires.
    assert scalable_target_range(emu) == [(0, 0)]
    svc = service(emu)
    assert svc["desiredCount"] == 0
    text = " ".join(deployed.stdout.split())
    assert f"{SERVICE} is held at 0 tasks until the next {SERVICE}-office-hours-start" in text
    assert "Tasks: 0 until the next office-hours start (ecs_scheduled_scaling)" in text


def test_a_deploy_in_office_hours_registers_the_service_range(emu, deployed, outputs, tmp_path):
    inventory = inventory_with(
        tmp_path,
        ENV,
        {"ecs_capacity_provider": "FARGATE_SPOT", "ecs_scheduled_scaling": schedule_showing(12)},
    )
    result = deploy(emu, inventory, outputs)
    assert result.rc == 0, result.tail()
    assert scalable_target_range(emu) == [(1, 1)]
    text = " ".join(result.stdout.split())
    assert "is held at 0 tasks" not in text
    # The service the stop action held at 0 is unchanged by the deploy (the schedule owns its
    # desired count); registering the office-hours range moves it to 1 (Application Auto Scaling,
    # tools/moto_server.py), and the deploy waits for that task instead of ending with none.
    svc = service(emu)
    assert (svc["desiredCount"], svc["runningCount"]) == (1, 1)
    assert f"Done for ECS service {SERVICE} to be stable" in text, result.tail()
    assert "1 of 1 tasks running, 0 pending, 1 deployment(s), autoscaling range 1-1" in text


def test_turning_the_options_off_again_removes_what_they_set(emu, deployed, outputs, tmp_path):
    """The inventory without the options: the service back on the FARGATE launch type, its
    tasks rolled onto it, the scheduled actions and the scalable target gone."""
    before = service(emu)
    result = deploy(emu, inventory_with(tmp_path, ENV, {}), outputs)
    assert result.rc == 0, result.tail()
    svc = service(emu)
    assert not svc.get("capacityProviderStrategy")  # AWS: an empty strategy = launch type
    assert svc["deployments"][0]["id"] != before["deployments"][0]["id"]
    assert svc["desiredCount"] == 1
    assert scheduled_actions(emu) == {}
    assert scalable_target_range(emu) == []


def test_turning_the_schedule_on_out_of_office_hours_stops_the_running_tasks(
    emu, deployed, outputs, tmp_path
):
    """On a service running its tasks (the test above turned the options off), the schedule
    turned on out of office hours sets the desired count to 0 itself, as the stop action would;
    a second run changes nothing."""
    before = service(emu)
    assert before["desiredCount"] == 1
    inventory = inventory_with(tmp_path, ENV, {"ecs_scheduled_scaling": schedule_showing(2)})
    result = deploy(emu, inventory, outputs)
    assert result.rc == 0, result.tail()
    svc = service(emu)
    assert svc["desiredCount"] == 0
    assert scalable_target_range(emu) == [(0, 0)]
    again = deploy(emu, inventory, outputs)
    assert again.rc == 0, again.tail()
    assert again.changed == 0, again.tail()


def test_destroy_removes_the_scheduled_actions(emu, deployed):
    # Whatever the tests above left, the schedule's target and actions, as a deploy with the
    # schedule on leaves them, put back directly.
    autoscaling = emu.client("application-autoscaling")
    target = {
        "ServiceNamespace": "ecs",
        "ResourceId": RESOURCE_ID,
        "ScalableDimension": "ecs:service:DesiredCount",
    }
    autoscaling.register_scalable_target(**target, MinCapacity=1, MaxCapacity=1)
    for name, hour, capacity in (("start", 7, 1), ("stop", 19, 0)):
        autoscaling.put_scheduled_action(
            **target,
            ScheduledActionName=f"{SERVICE}-office-hours-{name}",
            Schedule=f"cron(0 {hour} ? * MON,TUE,WED,THU,FRI *)",
            Timezone="Europe/Madrid",
            ScalableTargetAction={"MinCapacity": capacity, "MaxCapacity": capacity},
        )
    assert len(scheduled_actions(emu)) == 2
    result = run_playbook("destroy", inventory=ENV, emulator=emu)
    assert result.rc == 0, result.tail()
    assert scheduled_actions(emu) == {}
    assert scalable_target_range(emu) == []


def test_production_refuses_spot_and_the_schedule_before_any_change(emu, tmp_path):
    """One refused run: every rule the settings break is named, and nothing is created."""
    inventory = inventory_with(
        tmp_path,
        "production",
        {
            "ecs_capacity_provider": "FARGATE_SPOT",
            "ecs_cpu_architecture": "ARM64",
            # Fargate Spot runs ARM64 tasks on platform version 1.4.0 (LATEST) or later only.
            "ecs_platform_version": "1.3.0",
            "ecs_scheduled_scaling": {**SCHEDULE, "timezone": "Europe/Madird"},
            # A manifest list without the task's platform (roles/image, image_platforms).
            "image_platforms": ["linux/amd64"],
        },
    )
    clusters_before = emu.client("ecs").list_clusters()["clusterArns"]
    result = deploy(emu, inventory, tmp_path)
    assert result.rc != 0
    out = result.stdout + result.stderr
    assert (
        "ecs_capacity_provider is FARGATE_SPOT in production; allowed: FARGATE,"
        " or FARGATE_SPOT outside production" in out
    )
    assert (
        "ecs_capacity_provider, ecs_cpu_architecture, ecs_platform_version is FARGATE_SPOT,"
        " ARM64, 1.3.0; allowed: FARGATE_SPOT on platform version LATEST, or 1.3.0 or later for"
        " X86_64 tasks and 1.4.0 or later for ARM64 tasks" in out
    )
    assert "ecs_scheduled_scaling is" in out and "allowed: off in production" in out
    # A misspelt time zone: AWS would refuse it only at PutScheduledAction, after other changes.
    assert (
        "ecs_scheduled_scaling.timezone is 'Europe/Madird'; allowed: a time zone of the IANA"
        " database" in out
    )
    assert (
        "image_platforms, ecs_cpu_architecture is [linux/amd64], ARM64; allowed: empty (one"
        " image, for the task's CPU architecture), or platforms that include the task's" in out
    )
    assert emu.client("ecs").list_clusters()["clusterArns"] == clusters_before
    assert "production-mlflow-tracking" not in str(
        emu.client("logs").describe_log_groups()["logGroups"]
    )
