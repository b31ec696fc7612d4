from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.callback import preload_collections as plugin

COLLECTIONS = Path(__file__).resolve().parents[4] / "collections"

# A controller as ansible-playbook sets it up (Ansible's collection loader on the checkout's
# collections path), that starts one play with the strategy of argv[1] and prints the
# collections whose packages the callback loaded.
PLAY_START = """
import json, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[2]])
from ansible_collections.mlops.mlflow_ecs.plugins.callback.preload_collections import CallbackModule

class Play:
    strategy = sys.argv[1]

def loaded():
    return {m for m in sys.modules if m.count(".") == 2 and m.startswith("ansible_collections.")}

before = loaded()
CallbackModule().v2_playbook_on_play_start(Play())
print(json.dumps(sorted(loaded() - before)))
"""


def collections_loaded_by_a_play_start(strategy: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PLAY_START, strategy, str(COLLECTIONS)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_a_mitogen_play_start_loads_every_installed_collection_in_the_controller():
    loaded = collections_loaded_by_a_play_start("mitogen_linear")
    # The collections the deploy uses and ones it never imports, from the ansible package.
    for name in ("amazon.aws", "community.aws", "community.general", "awx.awx"):
        assert f"ansible_collections.{name}" in loaded


@pytest.mark.parametrize("strategy", ["linear", "ansible.builtin.free", "host_pinned"])
def test_other_strategies_load_nothing(strategy):
    assert collections_loaded_by_a_play_start(strategy) == []


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("mitogen_linear", True),
        ("mitogen_free", True),
        ("mitogen_host_pinned", True),
        ("mitogen", True),
        ("some.collection.mitogen_linear", True),
        ("linear", False),
        ("ansible.builtin.linear", False),
        ("free", False),
        ("my_mitogen_fork", False),
        ("", False),
        (None, False),
    ],
)
def test_mitogen_strategies_are_known_by_their_plugin_names(strategy, expected):
    assert plugin.uses_mitogen(strategy) is expected


class Play:
    def __init__(self, strategy):
        self.strategy = strategy


def test_the_collections_are_listed_once_per_run(monkeypatch):
    listed = []
    monkeypatch.setattr(plugin, "list_collection_dirs", lambda: listed.append(1) or iter(()))
    callback = plugin.CallbackModule()
    callback.v2_playbook_on_play_start(Play("linear"))
    assert listed == []
    callback.v2_playbook_on_play_start(Play("mitogen_linear"))
    callback.v2_playbook_on_play_start(Play("mitogen_linear"))
    assert listed == [1]
