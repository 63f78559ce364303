"""
Events per task attempt, this provider and today's (2.20.3) side by side, on the same pinned Airflow.

Runs ``ol_e2e_attempts`` (real scheduler, triggerer, api-server, LocalExecutor: mapped task, retry,
deferral, reschedule sensor, short-circuit, all_done, a task marked failed through REST, a SIGKILLed
runner) and ``ol_e2e_attempts_in_process`` (plain ``airflow dags test``) with each provider in both
modes, and prints one row per attempt: the event types its run id received, in arrival order. A cell
marked ``!`` breaks "exactly one START, then one terminal event matching the attempt's state".

    .venvs/airflow-3.3.2/bin/python bench/attempts_compare.py   # ~8 min; builds the 2.20.3 venv
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "dev"), str(ROOT / "providers/openlineage/tests/e2e")]

from harness import AirflowEnv  # noqa: E402
from receiver import Receiver  # noqa: E402
from test_attempts_e2e import (  # noqa: E402
    DAGS,
    IN_PROCESS,
    SCHEDULED,
    TERMINAL_OF,
    attempts_in_db,
    configure,
    run_in_process,
    run_scheduled,
)


def tabulate(events: list[dict], env: AirflowEnv, dag_id: str) -> dict[str, str]:
    dag_run_ol_id, attempts = attempts_in_db(env, dag_id)
    by_run: dict[str, list[str]] = defaultdict(list)
    for event in events:
        by_run[event["run"]["runId"]].append(event["eventType"])
    rows = {}
    for ol_run_id, (label, try_number, state) in sorted(attempts.items(), key=lambda item: item[1]):
        types = by_run.pop(ol_run_id, [])
        mark = "" if types == ["START", TERMINAL_OF[state]] else " !"
        rows[f"{label} try {try_number} ({state})"] = (" ".join(types) or "nothing") + mark
    rows["(DAG run)"] = " ".join(by_run.pop(dag_run_ol_id, [])) or "nothing"
    rows["(other task runs)"] = str(len(by_run))
    return rows


def main() -> None:
    upstream = (
        subprocess.run(
            ["bash", str(ROOT / "scripts/setup-upstream-venv.sh"), "3.3.2"],
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    providers = {"ours": None, "2.20.3": f"{upstream}/bin/airflow"}
    columns: dict[str, dict[str, str]] = {}
    for path, dag_id in (("scheduler", SCHEDULED), ("dags test", IN_PROCESS)):
        for mode in ("fork", "thread"):
            for name, airflow_bin in providers.items():
                with tempfile.TemporaryDirectory() as tmp:
                    env = AirflowEnv(DAGS, home=Path(tmp) / "home", airflow_bin=airflow_bin)
                    with env, Receiver("healthy") as receiver:
                        configure(env, receiver, mode)
                        if dag_id == SCHEDULED:
                            run_scheduled(env)
                        else:
                            run_in_process(env)
                        columns[f"{path} {mode} {name}"] = tabulate(list(receiver.events), env, dag_id)
                print(f"done: {path} {mode} {name}", file=sys.stderr, flush=True)
    for path in ("scheduler", "dags test"):
        heads = [c for c in columns if c.startswith(path)]
        labels = list(dict.fromkeys(label for c in heads for label in columns[c]))
        width = max(len(label) for label in labels)
        print(f"\n{path}: event types per attempt (arrival order); ! = not one START and its terminal event")
        print(" | ".join([f"{'attempt':<{width}}", *(f"{h:<24}" for h in heads)]))
        for label in labels:
            print(" | ".join([f"{label:<{width}}", *(f"{columns[h].get(label, '-'):<24}" for h in heads)]))


if __name__ == "__main__":
    main()
