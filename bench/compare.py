"""
Side-by-side benchmark: this provider against apache-airflow-providers-openlineage 2.20.3.

Both run the same workload on the same pinned Airflow (3.3.2): a DAG of N trivial tasks under the real
Task SDK supervisor (api-server + ``dags test --use-executor``, LocalExecutor), for lineage {disabled,
fork, thread} x receiver {healthy, hung}. ``--parallelism`` is 1 by default: tasks run one after
another, as in a chain, so a task's slot time is its own and not its neighbour's (with two runners,
their supervisors, the scheduler and the api-server on 2 cores, one task's slot moved by ~30 ms with
who ran beside it). The hung receiver accepts each request and never answers; the transport's own
timeout is 300 s, so only the provider bounds the wait (``execution_timeout`` = 3 s by default).

Made to be trusted on a noisy machine:

* Healthy cells run ``--rounds`` times (default 5). Each round runs every (provider, mode) cell,
  lineage disabled included, in a freshly shuffled order, so drift and neighbours hit all cells alike.
* Per run and task: the time the task held its worker slot (the supervisor's ``Workload finished``
  duration, float seconds), less the supervisor's exit-race sleep: Airflow's supervisor sometimes
  misses a runner's exit at EOF and sleeps the rest of ``[workers] min_heartbeat_interval`` (1 s
  here), with lineage or without. ``hook_timer/supervisor_exit_probe.py`` measures each such sleep;
  the "exit races" column counts them per cell, so a mode that provoked more would show. Beside it,
  the CPU (user + system) of the task-runner process tree (the LocalExecutor worker's ``cutime +
  cstime``: the runner and its reaped lineage children), and the peak RSS of the task runners.
* "Added" is a cell's figure over the same provider's lineage-disabled runs. The headline pools the
  rounds (median over all of the cell's tasks minus the median over all disabled tasks); the spread
  beside it is per round (that round's cell minus that round's disabled run, min..max).
* A ratio ours / upstream is printed only where upstream's added figure stands above its own noise
  (twice the robust standard error of the median over its rounds, from the MAD); else ``~``. The
  healthy-path goals are printed last (thread <= 0.5x 2.20.3's thread mode, fork <= 2.20.3's thread
  mode, task-runner CPU <= 2.20.3's in both modes), with each round's ratio beside the pooled one.
  ``--report results.json`` re-prints a saved run.
* Hung cells run ``--hung-rounds`` times (default 1): the added slot time must stay within one
  ``execution_timeout``.

Run it with ``bash bench/compare.sh`` (builds both venvs first); see ``--help``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "dev"))
sys.path.insert(0, str(ROOT / "bench"))

from harness import AirflowEnv  # noqa: E402
from receiver import Receiver  # noqa: E402
from sampler import WorkloadSampler  # noqa: E402

sys.path.insert(0, str(ROOT / "bench" / "hook_timer"))
from supervisor_exit_probe import exit_race_sleeps  # noqa: E402

DAG_ID = "ol_bench"
WORKLOAD = re.compile(r"Workload finished.*?duration=([0-9.]+).*?workload_id=([0-9a-f-]+)")
PROVIDERS = ("upstream", "ours")
SINGLE_RUN_NOISE = 0.3  # seconds: what one run of one cell can be off by (the hung cells run once)


class Lane:
    """One provider's Airflow environment (its own venv, AIRFLOW_HOME, DB and api-server)."""

    def __init__(self, name: str, venv: Path, tasks: int, parallelism: int) -> None:
        self.name = name
        self.tasks = tasks
        self.env = AirflowEnv(
            ROOT / "bench" / "dags",
            airflow_bin=str(venv / "bin" / "airflow"),
            env={"OL_BENCH_TASKS": str(tasks), "AIRFLOW__CORE__PARALLELISM": str(parallelism)},
        )
        self.env.start_api_server()

    def run(self, mode: str, backend: str, timeout: int, cpu_probe: bool = False) -> dict:
        """One DAG run; ``mode`` "disabled" = lineage off."""
        for key in [k for k in self.env.env if k.startswith("AIRFLOW__OPENLINEAGE__")]:
            del self.env.env[key]
        with Receiver("hung" if backend == "hung" else "healthy", max_hang=60) as receiver:
            if mode == "disabled":
                self.env.env["AIRFLOW__OPENLINEAGE__DISABLED"] = "True"
            else:
                self.env.env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(receiver.transport(timeout=300))
                self.env.env["AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD"] = str(mode == "thread")
                self.env.env["AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT"] = str(timeout)
            timer_dir = tempfile.mkdtemp(prefix="ol-hook-timer-")
            exit_dir = tempfile.mkdtemp(prefix="ol-exit-wait-")
            self.env.env["OL_HOOK_TIMER_DIR"] = timer_dir
            self.env.env["OL_EXIT_WAIT_DIR"] = exit_dir
            probe_dir = tempfile.mkdtemp(prefix="ol-cpu-probe-")
            self.env.env["OL_CPU_PROBE_DIR"] = probe_dir if cpu_probe else ""
            self.env.env["PYTHONPATH"] = str(ROOT / "bench" / "hook_timer")
            with WorkloadSampler() as sampler:
                result = self.env.dags_test(DAG_ID, timeout=900)
            hooks = _hook_totals(Path(timer_dir))
            if mode != "disabled" and backend == "healthy":
                receiver.wait_for(2 * self.tasks, timeout=15)
            task_events = [
                e for e in receiver.events if e.get("job", {}).get("name", "").startswith(f"{DAG_ID}.")
            ]
        states = self.env.task_states(DAG_ID)
        workloads = WORKLOAD.findall(result.stdout)
        sleeps = exit_race_sleeps(exit_dir)
        shutil.rmtree(exit_dir, ignore_errors=True)
        probed = _cpu_probe_totals(Path(probe_dir))
        return {
            "provider": self.name,
            "mode": mode,
            "backend": backend if mode != "disabled" else "-",
            "durations": [float(d) for d, _ in workloads],
            "exit_race_s": [sleeps.get(w, 0.0) for _, w in workloads],
            "cpu_probe_s": probed,
            "hook_seconds": hooks,
            "task_cpu_s": sampler.task_cpu_seconds,
            "peak_rss_kib": max(sampler.peaks.values(), default=0),
            "tasks_succeeded": sum(1 for s in states.values() if s == "success"),
            "tasks_total": self.tasks,
            "events_delivered": len(task_events),
            "events_expected": 0 if mode == "disabled" else 2 * self.tasks,
        }

    def close(self) -> None:
        self.env.__exit__(None, None, None)


def _hook_totals(directory: Path) -> list[dict[str, float]]:
    """Per task runner: seconds each listener task hook held its main thread (bench/hook_timer)."""
    runners = []
    for path in directory.glob("*.json"):
        runners.append(json.loads(path.read_text()))
        path.unlink()
    directory.rmdir()
    return runners


def _cpu_probe_totals(directory: Path) -> dict[str, float]:
    """CPU seconds per probed function, summed over the run's processes (bench/hook_timer/cpu_probe.py)."""
    totals: dict[str, float] = {}
    for path in directory.glob("*.json"):
        for label, seconds in json.loads(path.read_text()).items():
            totals[label] = totals.get(label, 0.0) + seconds
    shutil.rmtree(directory, ignore_errors=True)
    return totals


def _print_cpu_probe(runs: list[dict]) -> None:
    """Per task: CPU ms of each probed function (ours only), median over rounds."""
    labels = sorted({label for r in runs for label in r.get("cpu_probe_s") or {}})
    if not labels:
        return
    print()
    print("CPU ms per task by function (ours; thread_time, waits excluded; nested probes counted in each):")
    for mode in ("fork", "thread"):
        cell = [r for r in runs if (r["provider"], r["mode"], r["backend"]) == ("ours", mode, "healthy")]
        if not cell:
            continue
        for label in labels:
            per_round = [r["cpu_probe_s"].get(label, 0.0) / max(1, r["tasks_total"]) * 1000 for r in cell]
            print(f"  {mode:7} {label:32} {statistics.median(per_round):6.2f}")


def _hooks_per_task(run: dict, hook: str | None = None) -> float:
    """Median seconds the task hooks (or one of them) held a runner's main thread (0 where none ran)."""
    runners = run.get("hook_seconds") or [{}]
    return statistics.median(
        r.get(hook, 0.0) if hook else sum(v for k, v in r.items() if not k.startswith("phase:"))
        for r in runners
    )


def _slots(run: dict) -> list[float]:
    """Each task's slot seconds less the supervisor's exit-race sleep (see supervisor_exit_probe)."""
    sleeps = run.get("exit_race_s") or [0.0] * len(run["durations"])
    return [d - s for d, s in zip(run["durations"], sleeps, strict=True)]


def _exit_races(run: dict) -> int:
    """Tasks whose exit the supervisor missed at EOF and slept on (an Airflow race, any mode)."""
    return sum(1 for s in run.get("exit_race_s") or [] if s > 0)


def _per_task(run: dict) -> tuple[float, float]:
    """(median slot seconds without the exit race, CPU seconds per task) of one run."""
    return statistics.median(_slots(run) or [float("nan")]), run["task_cpu_s"] / max(1, run["tasks_total"])


def _runner_hooks(run: dict) -> list[float]:
    """Per task runner of a run: seconds its listener task hooks held the main thread."""
    runners = run.get("hook_seconds") or [{}]
    return [sum(v for k, v in r.items() if not k.startswith("phase:")) for r in runners]


def _added(runs: list[dict], provider: str, mode: str, backend: str) -> dict:
    """
    This cell's per-task figures over the same provider's disabled runs.

    ``wall`` / ``cpu`` / ``hooks`` (one value per round: the cell minus that round's disabled run) give
    the spread; the headline (``*_all``) pools the rounds: the median over every task of the cell minus
    the median over every task of the disabled runs (CPU: total over tasks). Pooling 5 x 20 tasks
    resolves a few ms where one round's 20 tasks, ~±15 ms apart on a busy 2-core machine, do not.
    """
    wall, cpu, rss, p_max, p_max_clean, hooks = [], [], [], [], [], []
    cells, bases = [], []
    for round_no in sorted({r["round"] for r in runs}):
        same = [r for r in runs if r["round"] == round_no and r["provider"] == provider]
        base = next((r for r in same if r["mode"] == "disabled"), None)
        cell = next((r for r in same if (r["mode"], r["backend"]) == (mode, backend)), None)
        if base is None or cell is None:
            continue
        cells.append(cell)
        bases.append(base)
        (bw, bc), (cw, cc) = _per_task(base), _per_task(cell)
        wall.append(cw - bw)
        cpu.append(cc - bc)
        rss.append((cell["peak_rss_kib"] - base["peak_rss_kib"]) / 1024)
        p_max.append(max(cell["durations"], default=float("nan")) - bw)
        p_max_clean.append(max(_slots(cell), default=float("nan")) - bw)
        if "hook_seconds" in cell:
            hooks.append(_hooks_per_task(cell) - _hooks_per_task(base))
    added: dict = {
        "wall": wall,
        "cpu": cpu,
        "rss": rss,
        "max": p_max,
        "max_clean": p_max_clean,
        "hooks": hooks,
    }
    if cells:
        added["wall_all"] = _median_of(cells, _slots) - _median_of(bases, _slots)
        added["cpu_all"] = _cpu_per_task(cells) - _cpu_per_task(bases)
        if hooks:
            added["hooks_all"] = _median_of(cells, _runner_hooks) - _median_of(bases, _runner_hooks)
    return added


def _median_of(runs: list[dict], values: Callable[[dict], list[float]]) -> float:
    return statistics.median(v for run in runs for v in values(run))


def _cpu_per_task(runs: list[dict]) -> float:
    return sum(r["task_cpu_s"] for r in runs) / max(1, sum(r["tasks_total"] for r in runs))


def _ms(rounds: list[float], headline: float | None = None) -> str:
    """The headline figure (the median over rounds where none is given) and the rounds' min..max."""
    if not rounds:
        return "n/a"
    med = (statistics.median(rounds) if headline is None else headline) * 1000
    return f"{med:+6.1f} ({min(rounds) * 1000:+.0f}..{max(rounds) * 1000:+.0f})"


def _noise(values: list[float]) -> float:
    """Twice the robust standard error of a median over rounds (1.2533 x 1.4826 x MAD / sqrt(n))."""
    if len(values) < 2:
        return SINGLE_RUN_NOISE
    med = statistics.median(values)
    mad = statistics.median(abs(v - med) for v in values)
    return 2 * 1.2533 * 1.4826 * mad / len(values) ** 0.5


def _ratio(ours: float | None, theirs: float | None, theirs_rounds: list[float]) -> str:
    """ours / theirs, or '~' where theirs is not above the noise of its rounds (zero included)."""
    if ours is None or theirs is None or not theirs_rounds:
        return "n/a"
    if theirs <= _noise(theirs_rounds):
        return "~"
    return f"{ours / theirs:.2f}"


def _print_tables(runs: list[dict], args: argparse.Namespace) -> None:
    print()
    print(
        f"{args.tasks} tasks x {args.rounds} rounds (healthy) / {args.hung_rounds} (hung), "
        f"execution_timeout={args.timeout}s, parallelism={args.parallelism}; per task, added over the "
        "same provider with lineage disabled: pooled over rounds (per round min..max)"
    )
    print()
    for provider in PROVIDERS:
        base = [r for r in runs if r["provider"] == provider and r["mode"] == "disabled"]
        slots = [_per_task(r)[0] * 1000 for r in base]
        cpus = [_per_task(r)[1] * 1000 for r in base]
        if slots:
            print(
                f"disabled baseline {provider:9}: slot {statistics.median(slots):6.1f} ms "
                f"({min(slots):.0f}..{max(slots):.0f}), CPU {statistics.median(cpus):6.1f} ms/task, "
                f"RSS {statistics.median(r['peak_rss_kib'] for r in base) / 1024:.1f} MiB"
            )
    print()
    header = (
        f"{'backend':8} {'mode':7} {'provider':9} {'slot +ms':>22} {'CPU +ms/task':>22} "
        f"{'hooks ms':>20} {'RSS +MiB':>9} {'max slot +s':>11} {'exit races':>10} {'events':>10} "
        f"{'tasks ok':>9}"
    )
    print(header)
    print("-" * len(header))
    cells = [("healthy", m) for m in args.modes.split(",")] + [("hung", m) for m in args.modes.split(",")]
    for backend, mode in cells:
        if backend not in args.backends.split(","):
            continue
        added = {p: _added(runs, p, mode, backend) for p in PROVIDERS}
        for provider in PROVIDERS:
            cell_runs = [
                r for r in runs if (r["provider"], r["mode"], r["backend"]) == (provider, mode, backend)
            ]
            if not cell_runs:
                continue
            a = added[provider]
            delivered = sum(r["events_delivered"] for r in cell_runs)
            events = f"{delivered}/{sum(r['events_expected'] for r in cell_runs)}"
            ok = f"{sum(r['tasks_succeeded'] for r in cell_runs)}/{sum(r['tasks_total'] for r in cell_runs)}"
            max_slot = f"{max(a['max']):.2f}" if a["max"] else "n/a"
            races = f"{sum(_exit_races(r) for r in cell_runs)}/{sum(len(r['durations']) for r in cell_runs)}"
            rss = f"{statistics.median(a['rss']):+.1f}" if a["rss"] else "n/a"
            print(
                f"{backend:8} {mode:7} {provider:9} {_ms(a['wall'], a.get('wall_all')):>22} "
                f"{_ms(a['cpu'], a.get('cpu_all')):>22} {_ms(a['hooks'], a.get('hooks_all')):>20} "
                f"{rss:>9} {max_slot:>11} {races:>10} {events:>10} {ok:>9}"
            )
        o, u = added["ours"], added["upstream"]
        print(
            f"{backend:8} {mode:7} {'ratio':9} {_ratio(o.get('wall_all'), u.get('wall_all'), u['wall']):>22} "
            f"{_ratio(o.get('cpu_all'), u.get('cpu_all'), u['cpu']):>22} "
            f"{_ratio(o.get('hooks_all'), u.get('hooks_all'), u['hooks']):>20}"
        )
    print(
        "(ratio = ours / upstream of the pooled figures; '~' where upstream's figure is not above twice its"
        " robust standard error over rounds; hooks ms = time the listener's task hooks hold the"
        " runner's main thread, measured in the runner, the low-noise core of the slot figure; slot"
        " leaves out the supervisor's exit-race sleep of [workers] min_heartbeat_interval, an Airflow"
        " race counted per cell under 'exit races'; max slot is the raw worst task, that sleep included)"
    )
    _print_hook_breakdown(runs)
    _print_cpu_probe(runs)
    _print_goals(runs, args)


def _print_hook_breakdown(runs: list[dict]) -> None:
    """Per hook: median ms a task runner's main thread spent in it, median over rounds."""
    hooks = sorted({h for r in runs for runner in r.get("hook_seconds") or [] for h in runner})
    if not hooks:
        return
    print()
    print(
        "Main-thread ms per task runner by hook, and phases of the runner (startup: fork to first hook;"
        " execute: between the hooks; tail: last hook to exit), median over tasks, then over rounds:"
    )
    names = " ".join(f"{h.replace('on_task_instance_', '').replace('phase:', ''):>16}" for h in hooks)
    print(f"{'mode':7} {'provider':9} {names}")
    for mode in ("disabled", "fork", "thread"):
        for provider in PROVIDERS:
            key = (provider, mode, "-" if mode == "disabled" else "healthy")
            cell = [r for r in runs if (r["provider"], r["mode"], r["backend"]) == key]
            if not cell:
                continue
            figures = [statistics.median(_hooks_per_task(r, h) for r in cell) * 1000 for h in hooks]
            print(f"{mode:7} {provider:9} " + " ".join(f"{f:16.1f}" for f in figures))


def _round_ratios(ours: list[float], theirs: list[float]) -> list[float]:
    """ours / upstream of each round (rounds where upstream added nothing measurable are left out)."""
    return [o / t for o, t in zip(ours, theirs, strict=False) if t > 0]


def _verdict(ratio: str, per_round: list[float], target: float) -> str:
    """Met by every round, by none, or by some: the pooled figure alone would hide a noisy cell."""
    if ratio in ("~", "n/a") or not per_round:
        return "n/a (within noise)" if ratio == "~" else "n/a"
    meeting = sum(1 for value in per_round if value <= target)
    if meeting == len(per_round):
        return "met"
    if meeting == 0:
        return "NOT met"
    pooled_says = "met" if float(ratio) <= target else "NOT met"
    return f"{pooled_says} pooled, {meeting}/{len(per_round)} rounds meet it"


def _print_goals(runs: list[dict], args: argparse.Namespace) -> None:
    """The healthy-path targets: thread <= 0.5x upstream thread, fork <= upstream thread, CPU <= upstream."""
    upstream_thread = _added(runs, "upstream", "thread", "healthy")
    upstream_fork = _added(runs, "upstream", "fork", "healthy")
    rows = [
        ("slot, thread: ours / upstream thread", "thread", "wall", upstream_thread, 0.5),
        ("slot, fork: ours / upstream thread", "fork", "wall", upstream_thread, 1.0),
        ("hooks, thread: ours / upstream thread", "thread", "hooks", upstream_thread, 0.5),
        ("hooks, fork: ours / upstream thread", "fork", "hooks", upstream_thread, 1.0),
        ("CPU, thread: ours / upstream thread", "thread", "cpu", upstream_thread, 1.0),
        ("CPU, fork: ours / upstream fork", "fork", "cpu", upstream_fork, 1.0),
    ]
    print()
    print(f"{'healthy-path goal':40} {'ratio':>6} {'per round':>11} {'target':>7}  verdict")
    for label, mode, field, theirs, target in rows:
        ours = _added(runs, "ours", mode, "healthy")
        ratio = _ratio(ours.get(f"{field}_all"), theirs.get(f"{field}_all"), theirs[field])
        per_round = _round_ratios(ours[field], theirs[field])
        spread = f"{min(per_round):.2f}..{max(per_round):.2f}" if per_round else "n/a"
        verdict = _verdict(ratio, per_round, target)
        print(f"{label:40} {ratio:>6} {spread:>11} {'<= ' + str(target):>7}  {verdict}")
    print(
        "(ratio: of the figures pooled over rounds; per round: ours / upstream within each round, the"
        " cells having run side by side; 'met' only where every round meets the target too, 'NOT met'"
        " where none does)"
    )
    for mode in args.modes.split(","):
        hung = _added(runs, "ours", mode, "hung")
        worst = max(hung["max"], default=float("nan"))
        clean = max(hung["max_clean"], default=float("nan"))
        print(
            f"hung, {mode}: worst task added {worst:.2f} s, {clean:.2f} s without the exit-race sleep"
            f" (execution_timeout {args.timeout} s)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ours", type=Path, default=ROOT / ".venvs" / "airflow-3.3.2")
    parser.add_argument(
        "--upstream", type=Path, default=ROOT / ".venvs" / "bench-upstream-2.20.3-airflow-3.3.2"
    )
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the healthy cells")
    parser.add_argument("--hung-rounds", type=int, default=1, help="rounds of the hung cells")
    parser.add_argument("--timeout", type=int, default=3, help="[openlineage] execution_timeout")
    parser.add_argument("--parallelism", type=int, default=1, help="tasks at once (1: one after another)")
    parser.add_argument("--backends", default="healthy,hung")
    parser.add_argument("--modes", default="fork,thread")
    parser.add_argument("--seed", type=int, default=13, help="seed of the per-round shuffle")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "compare.json")
    parser.add_argument(
        "--cpu-probe", action="store_true", help="also time the provider's own functions' CPU (ours)"
    )
    parser.add_argument("--report", type=Path, help="print the tables of a saved run (its JSON) and exit")
    args = parser.parse_args()
    if args.report:
        saved = json.loads(args.report.read_text())
        for key, value in saved["args"].items():
            if key in ("tasks", "rounds", "hung_rounds", "timeout", "parallelism"):
                setattr(args, key, int(value))
            elif key in ("modes", "backends"):
                setattr(args, key, value)
        _print_tables(saved["runs"], args)
        return 0

    began = time.monotonic()
    shuffle = random.Random(args.seed)
    modes = args.modes.split(",")
    lanes = {name: Lane(name, getattr(args, name), args.tasks, args.parallelism) for name in PROVIDERS}
    runs: list[dict] = []
    plan: list[tuple[int, str, str, str]] = []
    backends = args.backends.split(",")
    for round_no in range(max(args.rounds, args.hung_rounds)):
        cells = [(p, "disabled", "-") for p in PROVIDERS]
        if "healthy" in backends and round_no < args.rounds:
            cells += [(p, m, "healthy") for p in PROVIDERS for m in modes]
        if "hung" in backends and round_no < args.hung_rounds:
            cells += [(p, m, "hung") for p in PROVIDERS for m in modes]
        shuffle.shuffle(cells)
        plan += [(round_no, *cell) for cell in cells]
    try:
        for index, (round_no, provider, mode, backend) in enumerate(plan, 1):
            print(
                f"[{time.monotonic() - began:6.0f}s] {index}/{len(plan)} round {round_no + 1}: "
                f"{provider} {mode} {backend}",
                flush=True,
            )
            run = lanes[provider].run(mode, backend, args.timeout, cpu_probe=args.cpu_probe)
            run["round"] = round_no
            runs.append(run)
    finally:
        for lane in lanes.values():
            lane.close()
    _print_tables(runs, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "machine": {
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                },
                "args": {k: str(v) for k, v in vars(args).items()},
                "seconds": round(time.monotonic() - began, 1),
                "runs": runs,
            },
            indent=1,
        )
    )
    print(f"raw numbers: {args.out}  ({time.monotonic() - began:.0f}s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
