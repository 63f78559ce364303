"""
Where a task's lineage time goes: a cProfile breakdown of the listener's task hooks, per provider and mode.

Runs the benchmark DAG (N trivial tasks, real supervisor, healthy receiver) under this provider and
2.20.3 with ``bench/profile/sitecustomize.py`` on the task runners' path: the main thread is profiled
only inside the task hooks (the critical path), threads the hooks start are profiled whole, and a
forked lineage child is profiled whole. Prints per task: hook wall time, the counts that matter (forks,
client constructions, new HTTP connections, imports), and the functions with the most cumulative
time on each side. cProfile roughly doubles Python-heavy code, so read shares, not absolute figures
(``bench/compare.py`` measures those).

``OL_BENCH_SCRIPT=profile_hooks.py bash bench/compare.sh [--tasks 10] [--modes thread,fork]``
"""

from __future__ import annotations

import argparse
import collections
import json
import pstats
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "dev"))

from harness import AirflowEnv  # noqa: E402
from receiver import Receiver  # noqa: E402

DAG_ID = "ol_bench"
COUNTED = {
    "forks": lambda f, n: n == "<built-in method posix.fork>",
    "client inits": lambda f, n: n == "__init__" and f.endswith("openlineage/client/client.py"),
    "HTTP connects": lambda f, n: n == "connect" and f.endswith("urllib3/connection.py"),
    "imports": lambda f, n: n == "_find_and_load",
}


def _label(key: tuple[str, int, str]) -> str:
    file, line, name = key
    if file == "~":
        return name
    parts = Path(file).parts
    short = (
        "/".join(parts[-3:])
        if "site-packages" not in parts
        else "/".join(parts[parts.index("site-packages") + 1 :])
    )
    return f"{short}:{line}({name})"


def _load(paths: list[Path]) -> pstats.Stats | None:
    if not paths:
        return None
    stats = pstats.Stats(str(paths[0]))
    for path in paths[1:]:
        stats.add(str(path))
    return stats


def _top(stats: pstats.Stats | None, tasks: int, limit: int) -> list[str]:
    if stats is None:
        return ["  (none)"]
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][3], reverse=True)
    out = []
    for key, (_cc, nc, _tt, ct, _callers) in rows[:limit]:
        out.append(f"  {ct / tasks * 1000:8.2f} ms {nc / tasks:7.1f}x  {_label(key)}")
    return out


def _counts(stats: pstats.Stats | None, tasks: int) -> dict[str, float]:
    found = dict.fromkeys(COUNTED, 0.0)
    if stats is None:
        return found
    for (file, _line, name), (_cc, nc, *_rest) in stats.stats.items():
        for label, match in COUNTED.items():
            if match(file, name):
                found[label] += nc / tasks
    return found


def profile_cell(venv: Path, mode: str, tasks: int) -> dict:
    out_dir = Path(tempfile.mkdtemp(prefix="ol-profile-"))
    env = AirflowEnv(
        ROOT / "bench" / "dags",
        airflow_bin=str(venv / "bin" / "airflow"),
        env={
            "OL_BENCH_TASKS": str(tasks),
            "AIRFLOW__CORE__PARALLELISM": "2",
            "OL_PROFILE_DIR": str(out_dir),
            "PYTHONPATH": str(ROOT / "bench" / "profile"),
        },
    )
    try:
        env.start_api_server()
        with Receiver("healthy") as receiver:
            env.env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(receiver.transport(timeout=300))
            env.env["AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD"] = str(mode == "thread")
            env.dags_test(DAG_ID, timeout=600)
            receiver.wait_for(2 * tasks, timeout=15)
            delivered = len(receiver.events)
    finally:
        env.__exit__(None, None, None)
    hooks: dict[str, list[float]] = {}
    imported: collections.Counter[str] = collections.Counter()
    for info in out_dir.glob("*.json"):
        record = json.loads(info.read_text())
        for name, seconds in record["hooks"]:
            hooks.setdefault(name, []).append(seconds)
        imported.update(record.get("imported_in_hooks", []))
    for listing in out_dir.glob("*.child-imports.txt"):
        imported.update(f"{name} (child)" for name in listing.read_text().split())
    return {
        "hooks": hooks,
        "main": _load(sorted(out_dir.glob("*.main.prof"))),
        "threads": _load(sorted(out_dir.glob("*.threads.prof"))),
        "child": _load(sorted(out_dir.glob("*.child.prof"))),
        "delivered": delivered,
        "imported": imported,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ours", type=Path, required=True)
    parser.add_argument("--upstream", type=Path, required=True)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--modes", default="thread,fork")
    parser.add_argument("--providers", default="upstream,ours")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--save",
        type=Path,
        help="also write each side's merged profile to SAVE-<provider>-<mode>-<side>.prof",
    )
    args = parser.parse_args()
    venvs = {"ours": args.ours, "upstream": args.upstream}
    for mode in args.modes.split(","):
        for name in args.providers.split(","):
            cell = profile_cell(venvs[name], mode, args.tasks)
            print(f"\n=== {name} / {mode}: {args.tasks} tasks, {cell['delivered']} events delivered ===")
            for hook, seconds in sorted(cell["hooks"].items()):
                print(f"{hook:26} median {statistics.median(seconds) * 1000:7.1f} ms  (n={len(seconds)})")
            for side in ("main", "threads", "child"):
                counts = _counts(cell[side], args.tasks)
                shown = ", ".join(f"{k} {v:.1f}" for k, v in counts.items())
                print(f"-- {side} (per task: {shown})")
                print("\n".join(_top(cell[side], args.tasks, args.top)))
                if args.save and cell[side] is not None:
                    cell[side].dump_stats(f"{args.save}-{name}-{mode}-{side}.prof")
            if cell["imported"]:
                print("-- modules imported during the hooks (tasks that imported each):")
                print("\n".join(f"  {n:3d}  {name}" for name, n in sorted(cell["imported"].items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
