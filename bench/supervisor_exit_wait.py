"""
How often Airflow's supervisor sleeps min_heartbeat_interval after a task runner exited, per mode.

The Task SDK supervisor loops on ``select()`` over the runner's sockets. When the last socket reaches
EOF while the runner is not yet reapable (the kernel closes the descriptors a moment before the exit
becomes visible to ``waitpid``), its next ``select()`` has nothing to watch and sleeps for the rest of
``[workers] min_heartbeat_interval`` (5 s by default) before it notices the exit. This counts, per
case, the runners whose exit was missed that way, with Airflow's default interval, on LocalExecutor
(20 independent no-op tasks, parallelism 4, ``execution_timeout = 3``). One command:

    .venvs/airflow-3.3.2/bin/python bench/supervisor_exit_wait.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "dev"))

from harness import AirflowEnv  # noqa: E402
from receiver import Receiver  # noqa: E402

DAGS = ROOT / "providers" / "openlineage" / "tests" / "e2e" / "dags_celery"
DAG_ID = "ol_celery_fanout"
CASES = [
    ("disabled", "-"),
    ("fork", "healthy"),
    ("thread", "healthy"),
    ("fork", "hung"),
    ("thread", "hung"),
]


def run_case(mode: str, backend: str) -> tuple[int, int, list[float]]:
    """(runners traced, runners whose exit was missed at EOF, the sleeps that followed)."""
    with tempfile.TemporaryDirectory(prefix="ol-exit-wait-") as out:
        env = {
            "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "5",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "PYTHONPATH": str(Path(__file__).resolve().parent / "hook_timer"),
            "OL_EXIT_WAIT_DIR": out,
        }
        receiver = Receiver(backend if backend != "-" else "healthy", max_hang=30)
        with receiver:
            if mode == "disabled":
                env["AIRFLOW__OPENLINEAGE__DISABLED"] = "True"
            else:
                env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(receiver.transport())
                env["AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD"] = str(mode == "thread")
                env["AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT"] = "3"
            with AirflowEnv(DAGS, env=env) as airflow:
                airflow.start_api_server()
                airflow.dags_test(DAG_ID, timeout=600)
        lines = [p.read_text().splitlines() for p in Path(out).glob("*.log")]
    missed = [line for log in lines for line in log if line == "not reapable at eof"]
    sleeps = [float(line.split()[1]) for log in lines for line in log if line.startswith("slept")]
    return len(lines), len(missed), sleeps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    totals: dict[tuple[str, str], list[int]] = {case: [0, 0] for case in CASES}
    sleeps: dict[tuple[str, str], list[float]] = {case: [] for case in CASES}
    for round_no in range(args.rounds):
        order = CASES[:]
        random.shuffle(order)
        for case in order:
            traced, missed, slept = run_case(*case)
            totals[case][0] += traced
            totals[case][1] += missed
            sleeps[case] += slept
            print(f"round {round_no + 1} {case[0]:8} {case[1]:7}: {missed}/{traced} exits missed", flush=True)
    print(f"\n{'mode':8} {'backend':8} {'missed at EOF':>14} {'share':>6} {'median sleep s':>15}")
    for case in CASES:
        traced, missed = totals[case]
        slept = sorted(sleeps[case])
        median = f"{slept[len(slept) // 2]:.2f}" if slept else "-"
        share = f"{missed / traced:.0%}" if traced else "-"
        print(f"{case[0]:8} {case[1]:8} {f'{missed}/{traced}':>14} {share:>6} {median:>15}")


if __name__ == "__main__":
    main()
