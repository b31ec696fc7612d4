"""roles/ecs/tasks/probe_service.yml: when the wait for a stable service is done.

The probe's expressions rendered by Ansible's own templar, on DescribeServices answers shaped as
community.aws.ecs_service_info returns them. The emulator moves a desired count into a newly
registered range in the same call (tools/moto_server.py); AWS does it some time after, which
only these cases reach.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

PROBE = Path(__file__).resolve().parents[3] / "roles" / "ecs" / "tasks" / "probe_service.yml"


def wait_status(desired: int, running: int, move: dict) -> dict:
    [_read, tell] = yaml.safe_load(PROBE.read_text())
    service = {
        "status": "ACTIVE",
        "desiredCount": desired,
        "runningCount": running,
        "pendingCount": 0,
        "deployments": [{"status": "PRIMARY", "rolloutState": "COMPLETED"}],
        "events": [],
    }
    variables = {
        **{name: trust_as_template(value) for name, value in tell["vars"].items()},
        "_ecs_probe": {"services": [service]},
        "_ecs_desired_move": move,
    }
    templar = Templar(loader=DataLoader(), variables=variables)
    status = tell["ansible.builtin.set_fact"]["ecs_wait_status"]
    return {key: templar.template(trust_as_template(value)) for key, value in status.items()}


IN_HOURS_ON_A_STOPPED_SERVICE = {"before": 0, "min": 1, "max": 1}


@pytest.mark.parametrize(
    ("desired", "running", "move", "done"),
    [
        # Registered 1-1 on a service at 0: not done while the count has not moved yet ...
        (0, 0, IN_HOURS_ON_A_STOPPED_SERVICE, False),
        # ... nor while the task it starts is not running ...
        (1, 0, IN_HOURS_ON_A_STOPPED_SERVICE, False),
        (1, 1, IN_HOURS_ON_A_STOPPED_SERVICE, True),
        # ... and once moved, the count a scheduled action sets is the one to reach (the stop
        # action at the end of the office hours: 0 of 0).
        (0, 0, {"before": 1, "min": 1, "max": 4}, True),
        # A count already inside the range has nothing to move.
        (2, 2, {"before": 2, "min": 1, "max": 4}, True),
        # No range registered by this run: a count set outside the range stays where it is.
        (5, 5, {}, True),
        (1, 0, {}, False),
    ],
)
def test_done_once_the_registered_range_has_moved_the_count_and_its_tasks_run(
    desired, running, move, done
):
    status = wait_status(desired, running, move)
    assert status["done"] is done
    assert status["failed"] is False


def test_progress_says_what_is_still_to_move():
    progress = wait_status(0, 0, IN_HOURS_ON_A_STOPPED_SERVICE)["progress"]
    assert progress.startswith(
        "0 of 0 tasks running, 0 pending, 1 deployment(s), autoscaling range 1-1"
    )
    assert "Application Auto Scaling is still to move the desired count into it" in progress
    moved = wait_status(1, 1, IN_HOURS_ON_A_STOPPED_SERVICE)["progress"]
    assert "still to move" not in moved
