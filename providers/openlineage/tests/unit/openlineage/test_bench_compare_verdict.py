"""The goal verdict of ``bench/compare.py``: a median ratio is not called met when rounds disagree."""

from __future__ import annotations

import importlib.util
import sys

from conftest import REPO_ROOT


def _compare_module():
    spec = importlib.util.spec_from_file_location("bench_compare", REPO_ROOT / "bench" / "compare.py")
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
    assert compare._verdict("0.45", [0.3, 0.45, 0.7], 0.5) == "met in the median, 2/3 rounds meet it"
    assert compare._verdict("0.80", [0.2, 0.8, 2.2], 0.5) == "NOT met in the median, 1/3 rounds meet it"
    assert compare._verdict("~", [0.2], 0.5) == "n/a (within noise)"
    assert compare._verdict("0.40", [], 0.5) == "n/a"
