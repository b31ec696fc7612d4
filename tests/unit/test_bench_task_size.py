"""The pure parts of tests/benchmarks/bench_task_size.py: cost per request from the prices file,
and the rule that picks the production task size (no Docker, no server)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

import bench_task_size as bench  # noqa: E402


def point(cpu, memory, workers, clients=16, req_per_s=10.0, p95_ms=300.0, errors=0, oom=0):
    p = {
        "cpu": cpu,
        "memory": memory,
        "workers": workers,
        "clients": clients,
        "requests": int(req_per_s * 30),
        "req_per_s": req_per_s,
        "p95_ms": p95_ms,
        "errors": errors,
        "oom_kills": oom,
        "alive": True,
    }
    bench.add_costs([p], bench.fargate_prices())
    return p


def test_prices_come_from_the_cost_roles_file():
    fargate = yaml.safe_load(bench.PRICES.read_text())["fargate"]["X86_64"]
    assert bench.fargate_prices() == {
        "vcpu_hour": fargate["vcpu_hour"],
        "gb_hour": fargate["gb_hour"],
    }


def test_cost_per_million_requests_is_the_hourly_task_price_over_its_hourly_requests():
    prices = {"vcpu_hour": 0.04, "gb_hour": 0.004}
    # 0.5 vCPU and 1 GB: 0.02 + 0.004 = 0.024 USD/h; 10 req/s = 36,000 requests an hour.
    assert bench.hourly_price(512, 1024, prices) == pytest.approx(0.024)
    assert bench.cost_per_million(512, 1024, 10.0, prices) == pytest.approx(0.024 / 36000 * 1e6)
    # Twice the throughput halves the cost per request; no throughput costs infinitely much.
    assert bench.cost_per_million(512, 1024, 20.0, prices) == pytest.approx(
        bench.cost_per_million(512, 1024, 10.0, prices) / 2
    )
    assert bench.cost_per_million(512, 1024, 0.0, prices) == float("inf")


def test_choice_is_the_cheapest_per_request_within_the_p95_goal_without_errors_or_oom():
    cheap_but_slow = point(256, 512, 1, req_per_s=5, p95_ms=3000)
    erroring = point(512, 1024, 1, req_per_s=40, p95_ms=200, errors=1)
    oom_killed = point(512, 1024, 2, req_per_s=40, p95_ms=200, oom=1)
    good = point(1024, 2048, 1, req_per_s=30, p95_ms=450)
    pricier = point(1024, 2048, 2, req_per_s=20, p95_ms=300)
    fewer_clients = point(256, 512, 2, clients=4, req_per_s=50, p95_ms=100)
    picked = bench.choose([cheap_but_slow, erroring, oom_killed, good, pricier, fewer_clients])
    assert picked["choice"] is good
    assert picked["qualified"] == [good, pricier]


def test_no_choice_when_none_meets_the_goal_and_the_closest_are_listed():
    slow = [
        point(256, 512, 1, p95_ms=3000),
        point(512, 1024, 1, p95_ms=900),
        point(1024, 2048, 1, p95_ms=600),
        point(1024, 2048, 2, p95_ms=700),
    ]
    picked = bench.choose(slow, p95_goal_ms=500)
    assert picked["choice"] is None
    assert [p["p95_ms"] for p in picked["closest"]] == [600, 700, 900]
    assert "NONE qualifies" in bench.choice_text(slow, 500, 16)
