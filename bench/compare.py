"""
Side-by-side benchmark: this provider against apache-airflow-providers-openlineage 2.20.3.

Both run the same workload on the same pinned Airflow (3.3.2), interleaved in one run: a DAG of N
trivial tasks under the real Task SDK supervisor (api-server + ``dags test --use-executor``), for
{lineage disabled, fork, thread} x {receiver healthy, receiver hung}. The hung receiver accepts each
request and never answers; the transport's own timeout is 300 s, so only the provider bounds the
wait (``execution_timeout`` = 3 s by default).

Per cell: time each task holds its worker slot (the supervisor's workload duration) added over the
disabled baseline of the same provider (p50, p95, max), DAG-run wall time, peak RSS of the task
runners, and task events delivered / expected. Prints a table with the ratio ours / upstream per
cell and writes the raw numbers as JSON.

Run it with ``bash bench/compare.sh`` (builds both venvs first); see ``--help``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "dev"))
sys.path.insert(0, str(ROOT / "bench"))

from harness import AirflowEnv  # noqa: E402
from receiver import Receiver  # noqa: E402
from sampler import PeakRssSampler  # noqa: E402

DAG_ID = "ol_bench"
DURATION = re.compile(r"(?:Workload|Task) finished.*?duration=([0-9.]+)")


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _db_time(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(str(value).replace(" ", "T"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class Lane:
    """One provider's Airflow environment (its own venv, AIRFLOW_HOME, DB and api-server)."""

    def __init__(self, name: str, venv: Path, tasks: int, parallelism: int) -> None:
        self.name = name
        self.env = AirflowEnv(
            ROOT / "bench" / "dags",
            airflow_bin=str(venv / "bin" / "airflow"),
            env={
                "OL_BENCH_TASKS": str(tasks),
                "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            },
        )
        self.env.start_api_server()

    def run(self, mode: str | None, backend: str, timeout: int, tasks: int) -> dict:
        """One DAG run; ``mode`` None = lineage disabled."""
        for key in [k for k in self.env.env if k.startswith("AIRFLOW__OPENLINEAGE__")]:
            del self.env.env[key]
        with Receiver("hung" if backend == "hung" else "healthy", max_hang=60) as receiver:
            if mode is None:
                self.env.env["AIRFLOW__OPENLINEAGE__DISABLED"] = "True"
            else:
                self.env.env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(receiver.transport(timeout=300))
                self.env.env["AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD"] = str(mode == "thread")
                self.env.env["AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT"] = str(timeout)
            started = time.monotonic()
            with PeakRssSampler() as sampler:
                result = self.env.dags_test(DAG_ID, timeout=900)
            cli_seconds = time.monotonic() - started
            if mode is not None and backend == "healthy":
                receiver.wait_for(2 * tasks, timeout=15)
            task_events = [
                e for e in receiver.events if e.get("job", {}).get("name", "").startswith(f"{DAG_ID}.")
            ]
            requests = receiver.requests
        durations = [float(d) for d in DURATION.findall(result.stdout)]
        start, end, state = self.env.query(
            "SELECT start_date, end_date, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1",
            (DAG_ID,),
        )[0]
        states = self.env.task_states(DAG_ID)
        return {
            "provider": self.name,
            "mode": mode or "disabled",
            "backend": backend if mode else "-",
            "durations": durations,
            "dag_run_seconds": (_db_time(end) - _db_time(start)).total_seconds(),
            "dag_run_state": state,
            "tasks_succeeded": sum(1 for s in states.values() if s == "success"),
            "tasks_total": tasks,
            "cli_seconds": round(cli_seconds, 1),
            "peak_rss_kib": sorted(sampler.peaks.values()),
            "events_delivered": len(task_events),
            "requests_received": requests,
            "events_expected": 0 if mode is None else 2 * tasks,
        }

    def close(self) -> None:
        self.env.__exit__(None, None, None)


def _summary(run: dict, baseline: dict) -> dict:
    d, b = run["durations"], baseline["durations"]
    added = {
        name: _percentile(d, q) - _percentile(b, q) for name, q in (("p50", 0.5), ("p95", 0.95), ("max", 1.0))
    }
    rss = run["peak_rss_kib"]
    return {
        **added,
        "dag_s": run["dag_run_seconds"],
        "rss_mib": (max(rss) / 1024) if rss else float("nan"),
        "events": f"{run['events_delivered']}/{run['events_expected']}",
        "ok": f"{run['tasks_succeeded']}/{run['tasks_total']}",
    }


NOISE_FLOOR = 0.3  # seconds: run-to-run noise of one workload; smaller differences are not ratios


def _ratio(ours: float, theirs: float) -> str:
    if theirs != theirs or ours != ours or theirs < NOISE_FLOOR or ours < 0:
        return "  n/a"
    return f"{ours / theirs:5.2f}"


def _print_table(runs: list[dict], args: argparse.Namespace) -> None:
    baselines = {r["provider"]: r for r in runs if r["mode"] == "disabled"}
    print()
    print(
        f"{args.tasks} tasks, execution_timeout={args.timeout}s, parallelism={args.parallelism}; "
        f"added = workload seconds over the same provider with lineage disabled"
    )
    header = (
        f"{'backend':8} {'mode':7} {'provider':9} {'p50+s':>6} {'p95+s':>6} {'max+s':>6} "
        f"{'DAG s':>6} {'RSS MiB':>8} {'events':>8} {'tasks ok':>8}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        if run["mode"] == "disabled":
            rss = run["peak_rss_kib"]
            rss_mib = max(rss) / 1024 if rss else float("nan")
            blank = ""
            print(
                f"{'-':8} {'off':7} {run['provider']:9} {blank:>6} {blank:>6} {blank:>6} "
                f"{run['dag_run_seconds']:6.1f} {rss_mib:8.1f} {'-':>8} {run['tasks_succeeded']:>8}"
            )
    cells = sorted({(r["backend"], r["mode"]) for r in runs if r["mode"] != "disabled"})
    for backend, mode in cells:
        pair = {r["provider"]: r for r in runs if (r["backend"], r["mode"]) == (backend, mode)}
        summaries = {name: _summary(run, baselines[name]) for name, run in pair.items()}
        for name, s in summaries.items():
            print(
                f"{backend:8} {mode:7} {name:9} {s['p50']:6.2f} {s['p95']:6.2f} {s['max']:6.2f} "
                f"{s['dag_s']:6.1f} {s['rss_mib']:8.1f} {s['events']:>8} {s['ok']:>8}"
            )
        if {"ours", "upstream"} <= summaries.keys():
            o, u = summaries["ours"], summaries["upstream"]
            print(
                f"{backend:8} {mode:7} {'ratio':9} {_ratio(o['p50'], u['p50']):>6} "
                f"{_ratio(o['p95'], u['p95']):>6} {_ratio(o['max'], u['max']):>6} "
                f"{_ratio(o['dag_s'], u['dag_s']):>6} {_ratio(o['rss_mib'], u['rss_mib']):>8}"
            )
    print(f"(ratio = ours / upstream; n/a where a figure is below the {NOISE_FLOOR}s noise floor)")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ours", type=Path, default=ROOT / ".venvs" / "airflow-3.3.2")
    parser.add_argument(
        "--upstream", type=Path, default=ROOT / ".venvs" / "bench-upstream-2.20.3-airflow-3.3.2"
    )
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--timeout", type=int, default=3, help="[openlineage] execution_timeout")
    parser.add_argument("--parallelism", type=int, default=4)
    parser.add_argument("--backends", default="healthy,hung")
    parser.add_argument("--modes", default="fork,thread")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "compare.json")
    args = parser.parse_args()

    began = time.monotonic()
    lanes = {
        "upstream": Lane("upstream", args.upstream, args.tasks, args.parallelism),
        "ours": Lane("ours", args.ours, args.tasks, args.parallelism),
    }
    runs: list[dict] = []
    try:
        plan = [(None, "-")] + [
            (mode, backend) for backend in args.backends.split(",") for mode in args.modes.split(",")
        ]
        for mode, backend in plan:
            for name in ("upstream", "ours"):  # interleaved: each cell back to back
                print(
                    f"[{time.monotonic() - began:6.0f}s] {name}: {mode or 'disabled'} / {backend}", flush=True
                )
                runs.append(lanes[name].run(mode, backend, args.timeout, args.tasks))
    finally:
        for lane in lanes.values():
            lane.close()
    _print_table(runs, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "machine": {
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                    "cpus": __import__("os").cpu_count(),
                },
                "args": {k: str(v) for k, v in vars(args).items()},
                "seconds": round(time.monotonic() - began, 1),
                "runs": runs,
                "median_baseline": {
                    r["provider"]: statistics.median(r["durations"]) if r["durations"] else None
                    for r in runs
                    if r["mode"] == "disabled"
                },
            },
            indent=1,
        )
    )
    print(f"raw numbers: {args.out}  ({time.monotonic() - began:.0f}s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
