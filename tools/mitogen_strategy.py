"""Where mitogen's Ansible strategy plugins are (README, "Faster runs with mitogen").

One place for the path that `make deploy MITOGEN=1` (Makefile STRATEGY_ENV), the tests'
playbook runs (tests/conftest.py) and the deploy benchmark (tests/benchmarks/bench_deploy.py)
give ansible-playbook as ANSIBLE_STRATEGY_PLUGINS:

    .venv/bin/python tools/mitogen_strategy.py     # prints the directory
"""

from __future__ import annotations

from pathlib import Path


def strategy_plugins() -> Path:
    """The directory of mitogen's strategy plugins (mitogen_linear, ...) in this virtualenv.

    Raises ImportError when mitogen is not installed (requirements.txt pins it)."""
    import ansible_mitogen

    return Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"


def strategy_env(name: str) -> dict[str, str]:
    """The environment that makes ansible-playbook use strategy `name` (linear, mitogen_*)."""
    if name == "linear":
        return {"ANSIBLE_STRATEGY": "linear"}
    return {"ANSIBLE_STRATEGY": name, "ANSIBLE_STRATEGY_PLUGINS": str(strategy_plugins())}


if __name__ == "__main__":
    print(strategy_plugins())
