"""
What handing the lineage context to child processes costs the task runner's main thread per attempt:
``ChildLineageContext.install`` + ``remove`` (three environment variables, one small JSON), timed in
rounds, wall and CPU side by side. Run: ``.venvs/airflow-3.3.2/bin/python bench/child_context_bench.py``.
"""

from __future__ import annotations

import datetime as dt
import time
from types import SimpleNamespace

from airflow.providers.openlineage.describe.events import TaskRunIdentity
from airflow.providers.openlineage.task_runner.child_context import ChildLineageContext

WHEN = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
ROUNDS, PER_ROUND = 5, 20_000


def main() -> None:
    dag_run = SimpleNamespace(logical_date=WHEN, run_after=WHEN, clear_number=0, conf={})
    ti = SimpleNamespace(dag_id="d", task_id="t", try_number=1, map_index=-1, dag_run=dag_run)
    identity = TaskRunIdentity(ti, dag_run)
    task = SimpleNamespace()
    print(f"{'round':>5}  {'wall us/attempt':>15}  {'CPU us/attempt':>14}")
    for round_number in range(ROUNDS):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(PER_ROUND):
            context = ChildLineageContext.install(identity, task)
            assert context is not None
            context.remove()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"{round_number:>5}  {1e6 * wall / PER_ROUND:>15.1f}  {1e6 * cpu / PER_ROUND:>14.1f}")


if __name__ == "__main__":
    main()
