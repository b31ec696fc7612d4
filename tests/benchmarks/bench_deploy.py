#!/usr/bin/env python3
"""Deploy overhead: full deploy, no-op re-deploy, --check --diff and destroy against the emulator.

    python tests/benchmarks/bench_deploy.py [--runs 3] [--strategies default,mitogen]
                                            [--inventory local] [--output-dir DIR] [--json]
    python tests/benchmarks/bench_deploy.py --simulate-aws [--runs 1] [--rds-seconds 60]
                                            [--alb-seconds 25] [--ecs-seconds 15]

Not part of pytest: it prints figures. Each run starts from an empty emulator account (one moto
server, tools/emulator.py, reset before the run: main stack and pushed image only) and runs, in
order, through the recording proxy (tests/integration/recording_proxy.py):

  full      playbooks/deploy.yml on the empty account
  no-op     playbooks/deploy.yml again (changed=0 expected)
  check     playbooks/deploy.yml --check --diff on the deployed account
  destroy   playbooks/destroy.yml

First, unless --no-reference, it measures what one task costs on this machine (a debug task, a
ping module run, an amazon.aws module making one call to the emulator), so that figures taken on
different machines or days can be compared. For each phase and Ansible strategy it prints the
median over the runs of the wall time and of the CPU time of ansible-playbook and its workers
(user + sys of the waited-for children,
resource.getrusage(RUSAGE_CHILDREN) deltas: the emulator is a child that is never waited for
while the script runs, so its CPU is not counted), the tasks run (ok + failed in the recap, a
changed task is also ok), the tasks skipped, the AWS calls made and how many of them may change
AWS (RecordedRequest.mutating). The issue's goals (no-op <= 8 s, full <= 15 s, destroy <= 8 s on
a 2-core machine, local inventory) are printed next to the medians, never asserted.

--simulate-aws times the first deploy of the production inventory (RDS PostgreSQL) with the
proxy's readiness delays (RecordingProxy(ready_after=...)): the RDS instance is `creating`, with
no endpoint, for --rds-seconds after CreateDBInstance, the load balancer `provisioning` for
--alb-seconds after CreateLoadBalancer, and the ECS service runs no task until --ecs-seconds after
CreateService, counted from when the load balancer is active. On AWS these are 5-10 min, 2-3 min
and 1-3 min; the defaults scale them down about six times. It prints the first deploy's wall time
next to the longest single wait, the lower bound of any order of the deploy's steps.

Strategies: `default` is Ansible's own (linear); `mitogen` is mitogen_linear from PyPI
`mitogen` (ANSIBLE_STRATEGY=mitogen_linear, ANSIBLE_STRATEGY_PLUGINS= the directory
tools/mitogen_strategy.py prints, as for `make deploy MITOGEN=1` and the tests).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "tools"))

import emulator as emulator_tool  # noqa: E402
from conftest import run_playbook, start_emulator  # noqa: E402
from mitogen_strategy import strategy_env as ansible_strategy_env  # noqa: E402
from recording_proxy import RecordingProxy  # noqa: E402

# phase -> (playbook, check and diff)
PHASES = {
    "full": ("deploy", False),
    "no-op": ("deploy", False),
    "check": ("deploy", True),
    "destroy": ("destroy", False),
}
# Issue 12's goals on a 2-core machine, local inventory (seconds of wall time).
GOALS = {"full": 15.0, "no-op": 8.0, "destroy": 8.0}
# The machine's own speed, to compare figures taken on different machines or days: what one task
# of each kind costs, from a playbook of REFERENCE_TASKS such tasks less the same playbook empty.
REFERENCE_KINDS = {
    "controller": "ansible.builtin.debug: {msg: reference}",
    "module": "ansible.builtin.ping: {}",
    "aws module": "amazon.aws.aws_caller_info: {}",
}
REFERENCE_TASKS = 10


def strategy_env(name: str) -> dict[str, str]:
    """The environment of one strategy, from tools/mitogen_strategy.py ("default" names Ansible's
    linear strategy explicitly: tests/conftest.py's own default for playbook runs is mitogen's)."""
    if name == "default":
        return ansible_strategy_env("linear")
    if name == "mitogen":
        try:
            return ansible_strategy_env("mitogen_linear")
        except ImportError as err:
            raise SystemExit(f"strategy mitogen: {err}; pip install mitogen==0.3.54") from err
    raise ValueError(f"unknown strategy {name!r} (default, mitogen)")


@dataclass
class Measure:
    phase: str
    strategy: str
    wall_s: float
    cpu_s: float
    tasks: int
    skipped: int
    changed: int
    calls: int
    mutating: int
    mutating_calls: list[str] = field(default_factory=list)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_phase(
    phase: str,
    strategy: str,
    *,
    proxy: RecordingProxy,
    emulator,
    inventory: str,
    extra_vars: dict,
    log: Path | None = None,
) -> Measure:
    playbook, check = PHASES[phase]
    proxy.clear()
    cpu0, wall0 = children_cpu(), time.perf_counter()
    result = run_playbook(
        playbook,
        inventory=inventory,
        emulator=emulator,
        extra_vars={"aws_endpoint_url": proxy.url, **extra_vars},
        check=check,
        diff=check,
        env=strategy_env(strategy),
    )
    wall, cpu = time.perf_counter() - wall0, children_cpu() - cpu0
    if log is not None:
        log.write_text(result.stdout + result.stderr)
    if result.rc != 0:
        raise RuntimeError(f"{phase} ({strategy}) failed:\n{result.tail()}")
    recap = result.recap
    signed = [r for r in proxy.requests if r.service]
    mutating = proxy.mutating_calls()
    return Measure(
        phase=phase,
        strategy=strategy,
        wall_s=wall,
        cpu_s=cpu,
        tasks=recap["ok"] + recap["failed"],
        skipped=recap["skipped"],
        changed=recap["changed"],
        calls=len(signed),
        mutating=len(mutating),
        mutating_calls=sorted(set(mutating)),
    )


def reference_playbook(directory: Path, kind: str | None) -> str:
    """A playbook of REFERENCE_TASKS tasks of `kind` (none: empty), its path without `.yml` (for
    run_playbook). AWS modules reach the emulator through the inventory's own settings."""
    lines = [
        "- name: Reference",
        "  hosts: localhost",
        "  gather_facts: false",
        "  module_defaults:",
        "    group/mlops.mlflow_ecs.aws:",
        '      region: "{{ aws_region }}"',
        '      endpoint_url: "{{ aws_endpoint_url }}"',
        '      access_key: "{{ aws_access_key_id }}"',
        '      secret_key: "{{ aws_secret_access_key }}"',
        "  tasks:",
    ]
    if kind is None:
        lines.append("    - {name: nothing, ansible.builtin.meta: noop}")
    else:
        task = REFERENCE_KINDS[kind]
        lines += [f"    - name: task {i}\n      {task}" for i in range(REFERENCE_TASKS)]
    path = directory / f"reference-{(kind or 'empty').replace(' ', '-')}"
    path.with_suffix(".yml").write_text("\n".join(lines) + "\n")
    return str(path)


def reference_costs(strategy: str, emulator, directory: Path) -> dict[str, tuple[float, float]]:
    """{kind: (wall s, CPU s) of one task}, for one strategy."""
    times = {}
    for kind in [None, *REFERENCE_KINDS]:
        playbook = reference_playbook(directory, kind)
        cpu0, wall0 = children_cpu(), time.perf_counter()
        result = run_playbook(playbook, emulator=emulator, env=strategy_env(strategy))
        times[kind] = (time.perf_counter() - wall0, children_cpu() - cpu0)
        if result.rc != 0:
            raise RuntimeError(f"reference playbook {kind} ({strategy}) failed:\n{result.tail()}")
    base_wall, base_cpu = times.pop(None)
    return {
        kind: ((wall - base_wall) / REFERENCE_TASKS, (cpu - base_cpu) / REFERENCE_TASKS)
        for kind, (wall, cpu) in times.items()
    }


def print_reference(costs: dict[str, dict[str, tuple[float, float]]]) -> None:
    print()
    print(f"this machine's cost of one task (a playbook of {REFERENCE_TASKS} less the same empty):")
    print(f"{'strategy':<9} " + " ".join(f"{kind + ' s':>16}" for kind in REFERENCE_KINDS))
    for strategy, by_kind in costs.items():
        cells = " ".join(
            f"{by_kind[k][0]:>7.2f} (CPU {by_kind[k][1]:.2f})".rjust(16) for k in REFERENCE_KINDS
        )
        print(f"{strategy:<9} {cells}")
    print(
        "controller: debug (no module runs); module: ansible.builtin.ping; aws module: "
        "amazon.aws.aws_caller_info, one STS call to the emulator"
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_table(results: list[Measure], strategies: list[str], runs: int) -> None:
    print()
    print(
        f"{'phase':<8} {'strategy':<9} {'wall s':>7} {'(min-max)':>12} {'CPU s':>6} "
        f"{'tasks':>5} {'skipped':>7} {'changed':>7} {'calls':>5} {'mutating':>8} {'goal s':>6}"
    )
    print("-" * 92)
    for phase in PHASES:
        for strategy in strategies:
            ms = [m for m in results if m.phase == phase and m.strategy == strategy]
            if not ms:
                continue
            walls = [m.wall_s for m in ms]
            spread = f"({min(walls):.1f}-{max(walls):.1f})"
            goal = GOALS.get(phase)
            verdict = ""
            if goal is not None:
                verdict = f"{goal:>6.0f} {'met' if median(walls) <= goal else 'NOT met'}"
            print(
                f"{phase:<8} {strategy:<9} {median(walls):>7.1f} "
                f"{spread:>12} {median([m.cpu_s for m in ms]):>6.1f} "
                f"{median([m.tasks for m in ms]):>5.0f} {median([m.skipped for m in ms]):>7.0f} "
                f"{median([m.changed for m in ms]):>7.0f} {median([m.calls for m in ms]):>5.0f} "
                f"{median([m.mutating for m in ms]):>8.0f} {verdict}"
            )
    print(
        f"\nmedians of {runs} run(s); wall and CPU (user+sys of ansible-playbook and its workers) "
        "in seconds; calls: signed AWS calls through the proxy; mutating: calls that may change AWS"
    )
    noop = sorted({c for m in results if m.phase == "no-op" for c in m.mutating_calls})
    print(f"mutating calls of the no-op re-deploys: {', '.join(noop) or 'none'}")


def print_simulation(results: list[Measure], strategies: list[str], ready_after: dict) -> None:
    print()
    print(
        "simulated first deploy on AWS: RDS available {rds:.0f} s after CreateDBInstance, ALB "
        "active {alb:.0f} s after CreateLoadBalancer, ECS tasks running {ecs:.0f} s after "
        "CreateService (once the ALB is active)".format(**ready_after)
    )
    longest = max(ready_after.values())
    print(f"{'strategy':<9} {'first deploy s':>14} {'(min-max)':>12} {'longest wait s':>14}")
    for strategy in strategies:
        walls = [m.wall_s for m in results if m.strategy == strategy]
        if walls:
            spread = f"({min(walls):.1f}-{max(walls):.1f})"
            print(f"{strategy:<9} {median(walls):>14.1f} {spread:>12} {longest:>14.0f}")
    print(
        "the longest single wait is the lower bound of any order; the same deploy without the "
        "delays is the `full` phase of a run without --simulate-aws"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, help="runs per strategy (3; 1 with --simulate-aws)")
    parser.add_argument("--strategies", default="default,mitogen")
    parser.add_argument(
        "--inventory", help="inventories/<name> (default: local; production with --simulate-aws)"
    )
    parser.add_argument("--phases", default=",".join(PHASES), help="subset, in this order")
    parser.add_argument("--json", action="store_true", help="print every measure as JSON too")
    parser.add_argument(
        "--no-reference",
        action="store_true",
        help="skip the per-task reference costs of this machine (about 30 s per strategy)",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        help="keep each playbook run's output there (<run>-<strategy>-<phase>.log), e.g. to read "
        "its per-task times (the profile_tasks callback of ansible.cfg)",
    )
    simulation = parser.add_argument_group(
        "simulated AWS waits",
        "--simulate-aws times the first deploy only (default inventory production: RDS), with "
        "the recording proxy making the slow resources ready as late as AWS does (scaled down)",
    )
    simulation.add_argument("--simulate-aws", action="store_true")
    simulation.add_argument("--rds-seconds", type=float, default=60.0)
    simulation.add_argument("--alb-seconds", type=float, default=25.0)
    simulation.add_argument("--ecs-seconds", type=float, default=15.0)
    simulation.add_argument(
        "--wait-interval", type=int, default=2, help="mlflow_wait_interval of the simulated runs"
    )
    args = parser.parse_args()
    if args.runs is None:
        args.runs = 1 if args.simulate_aws else 3
    strategies = args.strategies.split(",")
    phases = ["full"] if args.simulate_aws else args.phases.split(",")
    inventory = args.inventory or ("production" if args.simulate_aws else "local")
    for strategy in strategies:
        strategy_env(strategy)
    if args.output_dir:
        args.output_dir.mkdir(parents=True, exist_ok=True)
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases {sorted(unknown)}; known: {', '.join(PHASES)}")
    ready_after = (
        {"rds": args.rds_seconds, "alb": args.alb_seconds, "ecs": args.ecs_seconds}
        if args.simulate_aws
        else {}
    )

    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, inventory {inventory}",
        flush=True,
    )
    # The inventories are named after their environment (mlflow_env).
    emu = start_emulator(inventory)
    results: list[Measure] = []
    reference: dict[str, dict[str, tuple[float, float]]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
            if not (args.no_reference or args.simulate_aws):
                emu.reset()
                for strategy in strategies:
                    reference[strategy] = reference_costs(strategy, emu, Path(tmp))
            extra_vars = {}
            if inventory != "local":
                # No Docker engine here: the emulator holds the pushed image (tools/emulator.py).
                extra_vars["image_build"] = False
            if args.simulate_aws:
                extra_vars["mlflow_wait_interval"] = args.wait_interval
            for run in range(1, args.runs + 1):
                # Strategies alternate within a run, so that a busy spell of the machine does not
                # fall on one strategy only.
                for strategy in strategies:
                    emu.reset()
                    # Each run writes its own outputs file: the first deploy creates its directory.
                    outputs = Path(tmp) / f"{run}-{strategy}" / "outputs.json"
                    extra_vars["mlflow_outputs_file"] = str(outputs)
                    with RecordingProxy(emu.endpoint_url, ready_after=ready_after) as proxy:
                        for phase in phases:
                            log = None
                            if args.output_dir:
                                log = args.output_dir / f"{run}-{strategy}-{phase}.log"
                            m = run_phase(
                                phase,
                                strategy,
                                proxy=proxy,
                                emulator=emu,
                                inventory=inventory,
                                extra_vars=extra_vars,
                                log=log,
                            )
                            results.append(m)
                            print(
                                f"# run {run} {strategy:<8} {phase:<8} wall {m.wall_s:6.1f} s  "
                                f"CPU {m.cpu_s:6.1f} s  tasks {m.tasks:3d}  "
                                f"changed {m.changed:3d}  calls {m.calls:4d}  "
                                f"mutating {m.mutating:3d}",
                                flush=True,
                            )
                        if ready_after:
                            waits = ", ".join(
                                f"{k} {v:.0f} s" for k, v in proxy.readiness_waits().items()
                            )
                            print(f"#   waits applied: {waits}", flush=True)
    finally:
        emulator_tool.stop_server(emu.port)
    if args.simulate_aws:
        print_simulation(results, strategies, ready_after)
    else:
        print_table(results, strategies, args.runs)
    if reference:
        print_reference(reference)
    print(f"# load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        print(json.dumps([asdict(m) for m in results], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
