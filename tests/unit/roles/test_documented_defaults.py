"""A role's documented defaults are the ones it uses.

Each role keeps its defaults in defaults/main.yml and states them twice more for users: in
meta/argument_specs.yml (``ansible-doc``, the argument-spec check) and in its README's table, and
the collection's README repeats the common ones. Where defaults/main.yml holds a plain value (no
template: those derive from other roles' facts and are described in words), the spec and the
READMEs must state that value; a table row reads ``| `name` | `value` | ...``, or several names
and as many values separated by commas.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
ROLES = sorted(p.parent.parent.name for p in ROOT.glob("roles/*/defaults/main.yml"))
ROW = re.compile(r"^\|\s*((?:`[a-z0-9_]+`(?:,\s*)?)+)\s*\|\s*((?:`[^`]*`(?:,\s*)?)+)\s*\|")


def plain_defaults(role: str) -> dict:
    """defaults/main.yml's values that are not templates (nor contain one)."""
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}
    return {name: value for name, value in defaults.items() if "{{" not in repr(value)}


def table_defaults(markdown: str) -> list[tuple[str, str]]:
    """(name, stated default) for each table row naming variables and as many defaults."""
    rows = []
    for line in markdown.splitlines():
        match = ROW.match(line)
        if not match:
            continue
        names = re.findall(r"`([^`]*)`", match.group(1))
        values = re.findall(r"`([^`]*)`", match.group(2))
        if len(names) == len(values):
            rows.extend(zip(names, values, strict=True))
    return rows


def same(stated: str, value) -> bool:
    try:
        parsed = yaml.safe_load(stated)
    except yaml.YAMLError:
        parsed = stated
    return parsed == value or stated == str(value)


@pytest.mark.parametrize("role", ROLES)
def test_the_argument_spec_states_the_default_the_role_uses(role):
    spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    wrong = {
        name: (options[name].get("default"), value)
        for name, value in plain_defaults(role).items()
        if name in options and options[name].get("default") != value
    }
    assert wrong == {}, "argument_specs.yml default != defaults/main.yml (spec, used)"


@pytest.mark.parametrize("role", ROLES)
def test_the_role_readme_states_the_default_the_role_uses(role):
    defaults = plain_defaults(role)
    rows = [
        (n, v)
        for n, v in table_defaults((ROOT / "roles" / role / "README.md").read_text())
        if n in defaults
    ]
    assert rows, f"roles/{role}/README.md has no table of the defaults"
    wrong = {
        name: (stated, defaults[name]) for name, stated in rows if not same(stated, defaults[name])
    }
    assert wrong == {}, "README default != defaults/main.yml (stated, used)"


def test_the_collection_readme_states_the_defaults_the_roles_use():
    defaults = {}
    for role in ROLES:
        defaults.update(plain_defaults(role))
    rows = [(n, v) for n, v in table_defaults((ROOT / "README.md").read_text()) if n in defaults]
    assert len(rows) >= 10, "README.md's table of common settings was not found"
    wrong = {
        name: (stated, defaults[name]) for name, stated in rows if not same(stated, defaults[name])
    }
    assert wrong == {}, "README.md default != the role's defaults/main.yml (stated, used)"


def test_a_drifted_default_is_found():
    """The comparison the tests above rely on: a stated 512 is not a used 1024, 'true' is true."""
    assert not same("512", 1024)
    assert same("true", True) and same('""', "") and same("[]", [])
    assert table_defaults("| `a`, `b` | `1`, `x` | text |\n| `c` | `1`, `2` | text |") == [
        ("a", "1"),
        ("b", "x"),
    ]
