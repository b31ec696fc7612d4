"""Print docs/cost.md's tables from playbooks/cost.yml's own estimates (no AWS call).

    .venv/bin/python tools/cost_table.py > /tmp/tables.md   # then paste into docs/cost.md

Runs the playbook for every shipped inventory (inventories/*), and for dev with each cost
option, each writing its estimate as JSON (cost_output_file); prints Markdown.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPTIONS = {
    "ARM64 (Graviton) tasks": {"ecs_cpu_architecture": "ARM64"},
    "Fargate Spot": {"ecs_capacity_provider": "FARGATE_SPOT"},
    "scale to zero out of office hours (08-20 MON-FRI)": {
        "ecs_scheduled_scaling": {"enabled": True}
    },
    "Fargate Spot and scale to zero": {
        "ecs_capacity_provider": "FARGATE_SPOT",
        "ecs_scheduled_scaling": {"enabled": True},
    },
}


def estimate(inventory: str, extra: dict, tmp: Path) -> dict:
    out = tmp / f"{inventory}-{len(list(tmp.iterdir()))}.json"
    extra_vars = {**extra, "cost_output_file": str(out)}
    subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            str(ROOT / "playbooks" / "cost.yml"),
            "-i",
            str(ROOT / "inventories" / inventory),
            "-e",
            json.dumps(extra_vars),
        ],
        cwd=ROOT,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
        check=True,
        capture_output=True,
    )
    return json.loads(out.read_text())


def main() -> None:
    inventories = sorted(
        p.name for p in (ROOT / "inventories").iterdir() if (p / "hosts.yml").exists()
    )
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        shipped = {name: estimate(name, {}, tmp) for name in inventories}
        first = next(iter(shipped.values()))
        print(f"Prices of {first['prices_as_of']} ({first['region']}).\n")
        print("| inventory | estimate (USD/month) | old stack, its README | old stack with IPv4 |")
        print("|---|---:|---:|---:|")
        for name, est in shipped.items():
            print(
                f"| `{name}` | {est['total_usd']:.2f} | {est['old_stack_usd']:.2f}"
                f" | {est['old_stack_with_ipv4_usd']:.2f} |"
            )
        print("\nBy component (USD/month):\n")
        components = list(
            dict.fromkeys(c["component"] for e in shipped.values() for c in e["components"])
        )
        print("| component | " + " | ".join(f"`{n}`" for n in shipped) + " |")
        print("|---|" + "---:|" * len(shipped))
        for component in components:
            cells = []
            for est in shipped.values():
                found = [c["monthly_usd"] for c in est["components"] if c["component"] == component]
                cells.append(f"{found[0]:.2f}" if found else "")
            print(f"| {component} | " + " | ".join(cells) + " |")
        print(
            "| **total** | "
            + " | ".join(f"**{e['total_usd']:.2f}**" for e in shipped.values())
            + " |"
        )
        base = shipped["dev"]["total_usd"]
        print("\nCost options on `dev` (USD/month):\n")
        print("| option | estimate | saves |")
        print("|---|---:|---:|")
        print(f"| none (`inventories/dev`) | {base:.2f} | |")
        for label, settings in OPTIONS.items():
            total = estimate("dev", settings, tmp)["total_usd"]
            print(f"| {label} | {total:.2f} | {base - total:.2f} |")


if __name__ == "__main__":
    main()
