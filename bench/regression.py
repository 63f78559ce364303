"""
The regression run of the emission issue: misbehaving extractors against today's design and ours.

Today's provider (2.20.3) runs extraction in the forked child (fork mode) or in the abandonable
thread (thread mode). When an extractor that loops on supervisor calls (``Variable.get``,
``BaseHook.get_connection``, a ~5 MB Variable) is cut off at the deadline, the task's own later
supervisor calls can read answers meant for lineage, and the task fails. This runs the e2e suite's
24-task misbehaving-extractor DAG (``tests/e2e/dags/ol_e2e.py``: each task checks the values its own
Variable / XCom / Connection calls return) under both providers, both modes, on the same Airflow, and
prints how many tasks failed and the worst slot time.

    bash bench/regression.sh [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "dev"))
sys.path.insert(0, str(ROOT / "providers" / "openlineage" / "tests" / "e2e"))

from e2e_support import BIG_VALUE, MODES, configure_lineage, seeded_airflow  # noqa: E402
from receiver import Receiver  # noqa: E402

DAG_ID = "ol_e2e_misbehaving"
DURATION = re.compile(r"(?:Workload|Task) finished.*?duration=([0-9.]+)")


def _run(env, mode: str | None, timeout: int, dag_timeout: float) -> dict:
    with Receiver("healthy") as receiver:
        if mode is None:
            configure_lineage(env, disabled="True")
        else:
            configure_lineage(
                env,
                transport=json.dumps(receiver.transport()),
                execute_in_thread=MODES[mode],
                execution_timeout=str(timeout),
            )
        result = env.dags_test(DAG_ID, timeout=dag_timeout)
    states = env.task_states(DAG_ID)
    run_id = env.query(f"SELECT run_id FROM dag_run WHERE dag_id = '{DAG_ID}' ORDER BY id DESC LIMIT 1")[0][0]
    run_states = dict(
        env.query(
            "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?", (DAG_ID, run_id)
        )
    )
    durations = [float(d) for d in DURATION.findall(result.stdout)]
    supervisor_errors = [
        line for line in result.stdout.splitlines() if re.search(r"\[(error|critical)\s*\]", line)
    ]
    return {
        "mode": mode or "disabled",
        "tasks": len(run_states),
        "failed": sorted(t for t, s in run_states.items() if s == "failed"),
        "stuck": sorted(t for t, s in run_states.items() if s not in ("success", "failed")),
        "max_slot_seconds": max(durations) if durations else None,
        "error_lines": len(supervisor_errors),
        "all_states_seen": len(states),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ours", type=Path, default=ROOT / ".venvs" / "airflow-3.3.2")
    parser.add_argument(
        "--upstream", type=Path, default=ROOT / ".venvs" / "bench-upstream-2.20.3-airflow-3.3.2"
    )
    parser.add_argument("--timeout", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--dag-timeout",
        type=float,
        default=300,
        help="seconds before a run is cut off (tasks left are stuck)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "regression.json")
    args = parser.parse_args()
    began = time.monotonic()
    rows = []
    envs = {}
    try:
        for name, venv in (("upstream", args.upstream), ("ours", args.ours)):
            env = seeded_airflow(
                Path(tempfile.mkdtemp(prefix=f"ol-regression-{name}-")),
                {"big_value": BIG_VALUE},
                airflow_bin=str(venv / "bin" / "airflow"),
            )
            env.env["AIRFLOW__CORE__PARALLELISM"] = "4"
            env.start_api_server()
            envs[name] = env
        for _ in range(args.repeat):
            for mode in (None, "fork", "thread"):
                for name in ("upstream", "ours"):
                    print(f"[{time.monotonic() - began:5.0f}s] {name} {mode or 'disabled'}", flush=True)
                    rows.append({"provider": name, **_run(envs[name], mode, args.timeout, args.dag_timeout)})
    finally:
        for env in envs.values():
            env.__exit__(None, None, None)
    print()
    header = ("provider", "mode", "tasks", "failed", "stuck", "max slot s", "error lines")
    print("{:9} {:9} {:>5} {:>6} {:>5} {:>10} {:>11}".format(*header))
    for row in rows:
        slot = row["max_slot_seconds"] or float("nan")
        print(
            f"{row['provider']:9} {row['mode']:9} {row['tasks']:>5} {len(row['failed']):>6} "
            f"{len(row['stuck']):>5} {slot:>10.1f} {row['error_lines']:>11}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"seconds": round(time.monotonic() - began), "rows": rows}, indent=1))
    print(f"raw: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
