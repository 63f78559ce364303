"""``bench/compare.py``'s arithmetic: exit races left out, rounds pooled, and an honest goal verdict."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def _compare_module():
    spec = importlib.util.spec_from_file_location(
        "bench_compare", Path(__file__).resolve().parents[1] / "compare.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_compare", module)
    spec.loader.exec_module(module)
    return module


def test_round_ratios_pair_each_round_and_skip_rounds_upstream_added_nothing():
    compare = _compare_module()
    assert compare._round_ratios([0.01, 0.02, 0.03], [0.02, 0.0, 0.06]) == [0.5, 0.5]


def test_verdict_says_met_only_when_every_round_meets_the_target():
    compare = _compare_module()
    assert compare._verdict("0.40", [0.3, 0.4, 0.5], 0.5) == "met"
    assert compare._verdict("0.90", [0.6, 0.9, 1.2], 0.5) == "NOT met"
    assert compare._verdict("0.45", [0.3, 0.45, 0.7], 0.5) == "met pooled, 2/3 rounds meet it"
    assert compare._verdict("0.80", [0.2, 0.8, 2.2], 0.5) == "NOT met pooled, 1/3 rounds meet it"
    assert compare._verdict("~", [0.2], 0.5) == "n/a (within noise)"
    assert compare._verdict("0.40", [], 0.5) == "n/a"


def _run(provider, mode, round_no, slots, races=None, cpu=0.0):
    return {
        "provider": provider,
        "mode": mode,
        "backend": "-" if mode == "disabled" else "healthy",
        "round": round_no,
        "durations": slots,
        "exit_race_s": races or [0.0] * len(slots),
        "task_cpu_s": cpu,
        "tasks_total": len(slots),
        "peak_rss_kib": 0,
    }


def test_the_supervisors_exit_race_sleep_is_left_out_of_a_tasks_slot():
    compare = _compare_module()
    run = _run("ours", "thread", 0, [0.10, 1.12, 0.11], races=[0.0, 1.0, 0.0])
    assert compare._slots(run) == [0.10, pytest.approx(0.12), 0.11]
    assert compare._exit_races(run) == 1


def test_added_pools_every_round_and_keeps_each_round_for_the_spread():
    compare = _compare_module()
    runs = [
        _run("ours", "disabled", 0, [0.100, 0.102, 0.104], cpu=0.3),
        _run("ours", "thread", 0, [0.110, 0.112, 0.114], cpu=0.36),
        _run("ours", "disabled", 1, [0.120, 0.122, 0.124], cpu=0.3),
        _run("ours", "thread", 1, [0.140, 0.142, 0.144], cpu=0.42),
    ]
    added = compare._added(runs, "ours", "thread", "healthy")
    assert added["wall"] == [pytest.approx(0.010), pytest.approx(0.020)]
    # pooled: median of the six thread slots (0.127) minus median of the six disabled ones (0.112)
    assert added["wall_all"] == pytest.approx(0.015)
    assert added["cpu_all"] == pytest.approx((0.36 + 0.42) / 6 - 0.6 / 6)
