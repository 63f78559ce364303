"""
The scheduler with DAG-run lineage against a hung backend, a healthy one, and lineage disabled.

The real scheduler (LocalExecutor, SQLite) runs the e2e suite's 50 catch-up DAG runs
(``ol_e2e_fifty_runs``: DAG-run events only; the scheduler completes their empty task itself).
Per case: the scheduler's loop durations (its own "Ran scheduling loop in N ms" DEBUG lines) while the
runs are processed (p50, p95, max), the time until all 50 runs finished, the scheduler's peak RSS and
thread count, and the DAG-run events the receiver got.

The loop durations move by tens of milliseconds between identical rounds on a 2-core machine, so
the cost is also measured directly (``bench/scheduler_hooks/sitecustomize.py`` in the scheduler):
the wall and CPU time of every ``on_dag_run_*`` listener call on the loop's thread (what lineage
adds to a loop synchronously), and the CPU the emitter's thread spends per event (since 2.21.0 in
the scheduler's DAG-run helper process, outside the loop's interpreter; building,
redaction, serialisation, sending; the work that shares the GIL with the loop). With ``--rounds``
above 1 the cases are interleaved and each round's loop p50/p95 is paired with that round's
disabled case. One command:

    .venvs/airflow-3.3.2/bin/python bench/scheduler_loop.py --rounds 3
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "dev"))

from harness import AirflowEnv  # noqa: E402
from receiver import Receiver  # noqa: E402

DAGS = ROOT / "providers" / "openlineage" / "tests" / "e2e" / "dags"
DAG_ID = "ol_e2e_fifty_runs"
LOOP = re.compile(r"Ran scheduling loop in ([0-9.]+) ms")


def _status(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _percentile(values: list[float], share: float) -> float | None:
    ordered = sorted(values)
    return ordered[int(share * (len(ordered) - 1))] if ordered else None


def _hook_costs(directory: Path) -> dict:
    """The scheduler's DAG-run hook calls (wall, CPU) and the emitter's CPU per item, in ms."""
    hook_wall, hook_cpu, emitter_cpu = [], [], []
    for path in directory.glob("*.txt"):
        for line in path.read_text().splitlines():
            kind, *fields = line.split()
            if kind == "hook":
                hook_wall.append(float(fields[1]))
                hook_cpu.append(float(fields[2]))
            elif kind == "emitter":
                emitter_cpu.append(float(fields[0]))
    return {
        "hook_calls": len(hook_wall),
        "hook_ms_p50": _percentile(hook_wall, 0.5),
        "hook_ms_p95": _percentile(hook_wall, 0.95),
        "hook_ms_max": max(hook_wall, default=None),
        "hook_ms_total": round(sum(hook_wall), 2),
        "hook_cpu_ms_total": round(sum(hook_cpu), 2),
        "emitter_items": len(emitter_cpu),
        "emitter_cpu_ms_p50": _percentile(emitter_cpu, 0.5),
        "emitter_cpu_ms_total": round(sum(emitter_cpu), 1),
    }


def _case(backend: str, keep_profile: Path | None = None) -> dict:
    with (
        Receiver("hung" if backend == "hung" else "healthy", max_hang=600) as receiver,
        AirflowEnv(DAGS) as env,
        tempfile.TemporaryDirectory(prefix="ol-sched-hooks-") as hooks_dir,
    ):
        env.env["PYTHONPATH"] = str(ROOT / "bench" / "scheduler_hooks")
        env.env["OL_SCHED_HOOKS_DIR"] = hooks_dir
        if keep_profile is not None:
            env.env["OL_SCHED_PROFILE"] = "1"
        if backend == "disabled":
            env.env["AIRFLOW__OPENLINEAGE__DISABLED"] = "True"
        else:
            env.env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(receiver.transport(timeout=300))
            env.env["AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT"] = "3"
        env.env["AIRFLOW__SCHEDULER__MAX_DAGRUNS_TO_CREATE_PER_LOOP"] = "50"
        env.env["AIRFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG"] = "50"
        env.run(["dags", "reserialize"], timeout=120)
        env.run(["dags", "unpause", DAG_ID], timeout=60)
        # The loop-duration lines are DEBUG lines of the scheduler's runner: only that logger logs at
        # DEBUG. At a global DEBUG level Airflow's listener manager logs three lines per hook call
        # (~0.5 ms, Airflow's cost, only with a listener) and the OpenLineage client logs at DEBUG.
        env.env["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "INFO"
        env.env["AIRFLOW__LOGGING__NAMESPACE_LEVELS"] = "airflow.jobs.scheduler_job_runner=DEBUG"
        scheduler = env._spawn(["scheduler"], "scheduler.log")
        started = time.monotonic()
        peak_rss = threads = done = 0
        while time.monotonic() - started < 600:
            done = sum(
                1
                for (state,) in env.query("SELECT state FROM dag_run WHERE dag_id = ?", (DAG_ID,))
                if state in ("success", "failed")
            )
            peak_rss = max(peak_rss, _status(scheduler.pid, "VmHWM"))
            threads = max(threads, _status(scheduler.pid, "Threads"))
            if done >= 50:
                break
            time.sleep(0.25)
        all_done = time.monotonic() - started
        log = (env.home / "scheduler.log").read_text(errors="replace")
        loops = [float(ms) for ms in LOOP.findall(log)]
        if backend == "healthy":
            receiver.wait_for(100, timeout=30)
        env._terminate_gracefully(scheduler)
        events = len([e for e in receiver.events if e["job"]["name"] == DAG_ID])
        requests = receiver.requests
        costs = _hook_costs(Path(hooks_dir))
        if keep_profile is not None:
            for found in Path(hooks_dir).glob("emitter-*.prof"):
                keep_profile.write_bytes(found.read_bytes())
            for found in Path(hooks_dir).glob("hooks-*.prof"):
                keep_profile.with_name(keep_profile.stem + "-hooks.prof").write_bytes(found.read_bytes())
    ordered = sorted(loops)
    return {
        **costs,
        "backend": backend,
        "runs_done": done,
        "seconds_to_all_done": round(all_done, 1),
        "loops": len(loops),
        "loop_ms_p50": statistics.median(loops) if loops else None,
        "loop_ms_p95": ordered[int(0.95 * (len(ordered) - 1))] if loops else None,
        "loop_ms_max": max(loops) if loops else None,
        "peak_rss_mib": round(peak_rss / 1024, 1),
        "max_threads": threads,
        "events_received": events,
        "requests": requests,
    }


def _print_direct_costs(rows: list[dict]) -> None:
    print()
    print(
        "On the loop's thread, per on_dag_run_* listener call (wall ms), and the emitter's CPU per event"
        " (in the DAG-run helper process):"
    )
    print(
        f"{'backend':9} {'calls':>5} {'hook p50':>8} {'p95':>6} {'max':>6} {'ms/loop':>7} "
        f"{'emitter items':>13} {'CPU p50 ms':>10} {'CPU ms/loop':>11}"
    )
    for r in rows:
        if r["backend"] == "disabled":
            continue
        loops = max(1, r["loops"])
        print(
            f"{r['backend']:9} {r['hook_calls']:>5} {r['hook_ms_p50'] or 0:>8.3f} "
            f"{r['hook_ms_p95'] or 0:>6.3f} {r['hook_ms_max'] or 0:>6.2f} "
            f"{r['hook_ms_total'] / loops:>7.3f} {r['emitter_items']:>13} "
            f"{r['emitter_cpu_ms_p50'] or 0:>10.2f} {r['emitter_cpu_ms_total'] / loops:>11.2f}"
        )


def _print_paired(rows: list[dict]) -> None:
    """Each case's loop p50/p95 minus the disabled case of the same round: median (min..max)."""
    rounds = [rows[i : i + 3] for i in range(0, len(rows), 3)]
    if len(rounds) < 2:
        return
    print()
    print("Loop p50 / p95 added over the same round's disabled case, median over rounds (min..max):")
    for backend in ("hung", "healthy"):
        for key in ("loop_ms_p50", "loop_ms_p95"):
            diffs = [
                next(r[key] for r in group if r["backend"] == backend)
                - next(r[key] for r in group if r["backend"] == "disabled")
                for group in rounds
            ]
            print(
                f"  {backend:8} {key[8:]}: {statistics.median(diffs):+6.1f} ms "
                f"({min(diffs):+.1f}..{max(diffs):+.1f})"
            )


def _profile_emitter(path: Path) -> int:
    """The emitter's CPU per DAG-run event, by function (healthy backend, one case)."""
    import pstats

    path.parent.mkdir(parents=True, exist_ok=True)
    row = _case("healthy", keep_profile=path)
    print(f"emitter items: {row['emitter_items']}, CPU p50 {row['emitter_cpu_ms_p50']} ms (under cProfile)")
    if not path.exists():
        print("no profile was written")
        return 1
    stats = pstats.Stats(str(path))
    stats.sort_stats("cumulative").print_stats(40)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scheduler_loop.json")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the three cases, interleaved")
    parser.add_argument(
        "--profile-emitter",
        type=Path,
        help="one healthy case only, the emitter's work under cProfile; its stats are printed and kept here",
    )
    args = parser.parse_args()
    if args.profile_emitter:
        return _profile_emitter(args.profile_emitter)
    rows = [_case(backend) for _ in range(args.rounds) for backend in ("disabled", "hung", "healthy")]
    print()
    print(
        f"{'backend':9} {'runs':>4} {'all done s':>10} {'loops':>5} {'loop p50 ms':>11} {'p95 ms':>7} "
        f"{'max ms':>7} {'RSS MiB':>8} {'threads':>7} {'events':>6}"
    )
    for r in rows:
        print(
            f"{r['backend']:9} {r['runs_done']:>4} {r['seconds_to_all_done']:>10.1f} {r['loops']:>5} "
            f"{r['loop_ms_p50'] or 0:>11.1f} {r['loop_ms_p95'] or 0:>7.1f} {r['loop_ms_max'] or 0:>7.1f} "
            f"{r['peak_rss_mib']:>8.1f} {r['max_threads']:>7} {r['events_received']:>6}"
        )
    _print_direct_costs(rows)
    _print_paired(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1))
    print(f"raw: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
