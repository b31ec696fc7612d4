from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.callback import preload_collections as plugin

# The directory holding ansible_collections/mlops/mlflow_ecs: the checkout's collections/ link, or
# the tree ansible-test installs the built collection into.
# (Not resolved: in the checkout, mlflow_ecs is a link to the repository root.)
COLLECTIONS_ROOT = Path(plugin.__file__).parents[5]

# A controller set up as ansible-playbook sets it up (Ansible's collection loader over the search
# paths of argv[2:]), that starts one play with the strategy of argv[1] and prints which
# collections' packages the callback imported, and every collection Ansible finds.
PLAY_START = """
import json, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader(sys.argv[2:])
from ansible_collections.mlops.mlflow_ecs.plugins.callback.preload_collections import CallbackModule

class Play:
    strategy = sys.argv[1]

def imported():
    return {m for m in sys.modules if m.count(".") == 2 and m.startswith("ansible_collections.")}

before = imported()
CallbackModule().v2_playbook_on_play_start(Play())
by_callback = imported() - before
lister_imported = "ansible.collections.list" in sys.modules
from ansible.collections.list import list_collections
try:
    installed = sorted(f"ansible_collections.{name}" for name in list_collections())
except Exception as err:
    installed = repr(err)
print(json.dumps({
    "imported": sorted(by_callback),
    "installed": installed,
    "imported_before": sorted(before),
    "lister_imported": lister_imported,
}))
"""


def play_start(strategy: str, *search_paths: Path) -> dict:
    paths = [*map(str, search_paths), str(COLLECTIONS_ROOT)]
    result = subprocess.run(
        [sys.executable, "-c", PLAY_START, strategy, *paths],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_a_mitogen_play_start_imports_every_installed_collection_in_the_controller():
    seen = play_start("mitogen_linear")
    # amazon.aws runs most of the deploy's modules; it is installed wherever the collection is.
    assert "ansible_collections.amazon.aws" in seen["imported"]
    not_yet_imported = set(seen["installed"]) - set(seen["imported_before"])
    assert not_yet_imported
    assert not_yet_imported <= set(seen["imported"])


@pytest.mark.parametrize("strategy", ["linear", "ansible.builtin.free", "host_pinned"])
def test_other_strategies_import_nothing(strategy):
    seen = play_start(strategy)
    assert seen["imported"] == []
    # Not even Ansible's collection lister, which brings ansible-galaxy's modules (about 0.1 s).
    assert seen["lister_imported"] is False


def test_a_collection_that_cannot_be_listed_is_left_to_mitogen(tmp_path):
    # A runtime.yml that is not YAML: the callback neither raises nor retries (mitogen fails the
    # tasks that run modules, with or without it).
    broken = tmp_path / "ansible_collections" / "zz" / "broken"
    (broken / "meta").mkdir(parents=True)
    (broken / "meta" / "runtime.yml").write_text("requires_ansible: [unclosed\n")
    (broken / "galaxy.yml").write_text("namespace: zz\nname: broken\nversion: 1.0.0\n")
    seen = play_start("mitogen_linear", tmp_path)
    assert "ansible_collections.zz.broken" not in seen["imported"]
    assert "error parsing collection metadata" in seen["installed"]  # as Ansible's listing does


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


def test_the_collections_are_listed_once_per_run_even_when_listing_fails(monkeypatch):
    from ansible.collections import list as collection_list

    listed = []

    def list_collection_dirs():
        listed.append(1)
        raise ValueError("meta/runtime.yml is not YAML")

    monkeypatch.setattr(collection_list, "list_collection_dirs", list_collection_dirs)
    callback = plugin.CallbackModule()
    callback.v2_playbook_on_play_start(Play("linear"))
    assert listed == []
    callback.v2_playbook_on_play_start(Play("mitogen_linear"))
    callback.v2_playbook_on_play_start(Play("mitogen_linear"))
    assert listed == [1]
