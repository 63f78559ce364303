"""
Every attempt, every path: one START and one terminal event per task attempt, however Airflow runs it.

``ol_e2e_attempts`` runs under a real scheduler, triggerer and api-server (LocalExecutor, the real Task
SDK supervisor): mapped task, a retry, a deferrable operator resumed by a new runner, a reschedule-mode
sensor poking twice, a short-circuit skip, a failure followed by an ``all_done`` task, a task marked
failed through the REST API while it runs, and a task whose runner is SIGKILLed mid-execute.
``ol_e2e_attempts_in_process`` runs what of it fits in one process under plain ``airflow dags test``.

For every attempt the metadata DB records (task instances and their history), the receiver must hold
exactly one START and one terminal event of that attempt's run id (START first by event time and by
arrival), the terminal type matching the attempt's final state; run ids differ across attempts and map
indexes; the DAG run has its START and terminal event; and the DB shows the outcome the DAG intends.
Poke and trigger intervals are >= 3 s and ``[workers] min_heartbeat_interval`` is 1 s: Airflow 3.3's
supervisor notices a runner's exit only at its next ``select()`` timeout, and with shorter intervals
the scheduler can fail a deferred or rescheduled task on its own, lineage off too.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict

import pytest
from e2e_support import DAGS, MODES, rest_api
from harness import AirflowEnv
from receiver import Receiver

from airflow.providers.openlineage.describe.run_ids import (
    build_dag_run_ol_run_id,
    build_task_instance_ol_run_id,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SCHEDULED = "ol_e2e_attempts"
IN_PROCESS = "ol_e2e_attempts_in_process"
TERMINAL_OF = {"success": "COMPLETE", "skipped": "COMPLETE", "failed": "FAIL", "up_for_retry": "FAIL"}
INTENDED = {
    "plain_python": "success",
    "plain_bash": "success",
    "mapped[0]": "success",
    "mapped[1]": "success",
    "mapped[2]": "success",
    "flaky": "success",
    "fails": "failed",
    "after_all_done": "success",
    "short_circuit": "success",
    "skipped_by_short_circuit": "skipped",
    "deferrable": "success",
    "reschedule_sensor": "success",
}
OUT_OF_PROCESS = {"killed": "failed", "marked_failed": "failed"}


def _label(task_id: str, map_index: int) -> str:
    return task_id if map_index == -1 else f"{task_id}[{map_index}]"


def attempts_in_db(env: AirflowEnv, dag_id: str) -> tuple[str, dict[str, tuple[str, int, str]]]:
    """The DAG run's OpenLineage run id, and every attempt that ran: run id -> (label, try, state)."""
    ((run_id, logical_date, run_after, clear_number),) = env.query(
        "SELECT run_id, logical_date, run_after, clear_number FROM dag_run WHERE dag_id = ?", (dag_id,)
    )
    instant = logical_date or run_after
    rows = env.query(
        "SELECT task_id, map_index, try_number, state, start_date FROM task_instance "
        "WHERE dag_id = ? AND run_id = ? UNION ALL "
        "SELECT task_id, map_index, try_number, state, start_date FROM task_instance_history "
        "WHERE dag_id = ? AND run_id = ?",
        (dag_id, run_id, dag_id, run_id),
    )
    attempts = {}
    for task_id, map_index, try_number, state, start_date in rows:
        if start_date is None or try_number == 0 or state not in TERMINAL_OF:
            continue  # never ran in a runner (skipped by the short-circuit before its first try)
        ol_run_id = build_task_instance_ol_run_id(dag_id, task_id, try_number, instant, map_index)
        attempts[ol_run_id] = (_label(task_id, map_index), try_number, state)
    return build_dag_run_ol_run_id(dag_id, instant, clear_number), attempts


def check_attempts(
    events: list[dict], env: AirflowEnv, dag_id: str, spec, *, dag_run_start: bool = True
) -> dict[str, list[str]]:
    """
    Assert the rules of the module docstring; returns label -> event types, for the printed table.

    ``dag_run_start=False`` under ``airflow dags test``: it creates its DAG run already running, so
    Airflow never calls the DAG-run "running" hook (for any provider); the run still gets its end.
    """
    dag_run_ol_id, attempts = attempts_in_db(env, dag_id)
    by_run: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        spec.validate_event(event)
        by_run[event["run"]["runId"]].append(event)
    dag_run_events = by_run.pop(dag_run_ol_id, [])
    table: dict[str, list[str]] = {}
    for ol_run_id, (label, try_number, state) in sorted(attempts.items(), key=lambda item: item[1]):
        received = by_run.pop(ol_run_id, [])
        types = [event["eventType"] for event in received]
        table[f"{label} try {try_number}"] = types
        assert types == ["START", TERMINAL_OF[state]], (label, try_number, state, types)
        start, terminal = received
        assert start["eventTime"] <= terminal["eventTime"], (label, start["eventTime"], terminal["eventTime"])
        parent = terminal["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == dag_run_ol_id, label
        assert parent["root"]["run"]["runId"] == dag_run_ol_id, label
    task_runs = {
        run: [e["eventType"] for e in evs] for run, evs in by_run.items() if "." in evs[0]["job"]["name"]
    }
    assert not task_runs, f"events of no attempt the DB knows: {task_runs}"
    if dag_run_start:
        assert [e["eventType"] for e in dag_run_events][:1] == ["START"], dag_run_events
    assert dag_run_events[-1]["eventType"] in ("COMPLETE", "FAIL"), [e["eventType"] for e in dag_run_events]
    table["(DAG run)"] = [e["eventType"] for e in dag_run_events]
    return table


def _print_table(title: str, table: dict[str, list[str]]) -> None:
    print(f"\n{title}")
    for label, types in table.items():
        print(f"  {label:<34} {' '.join(types)}")


def configure(env: AirflowEnv, receiver: Receiver, mode: str) -> None:
    env.env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(receiver.transport(timeout=10))
    env.env["AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD"] = MODES[mode]
    env.env["AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT"] = "5"
    env.env["AIRFLOW__CORE__PARALLELISM"] = "8"


def run_scheduled(env: AirflowEnv) -> tuple[str | None, bool]:
    """Trigger ``ol_e2e_attempts`` under a real scheduler, triggerer and api-server; mark one task failed."""
    env.run(["dags", "reserialize"], timeout=120)
    env.run(["dags", "unpause", SCHEDULED], timeout=60)
    env.start_api_server(apps="all")
    env._spawn(["triggerer"], "triggerer.log")
    scheduler = env._spawn(["scheduler"], "scheduler.log")
    token = rest_api(env, "GET", "/auth/token")["access_token"]
    run_id = rest_api(env, "POST", f"/api/v2/dags/{SCHEDULED}/dagRuns", token, {"logical_date": None})[
        "dag_run_id"
    ]
    marked = False
    state = None
    end = time.monotonic() + 420
    while time.monotonic() < end:
        if not marked and env.task_states(SCHEDULED).get("marked_failed") == "running":
            time.sleep(4)  # its START is out
            path = f"/api/v2/dags/{SCHEDULED}/dagRuns/{run_id}/taskInstances/marked_failed"
            rest_api(env, "PATCH", path, token, {"new_state": "failed"})
            marked = True
        ((state,),) = env.query("SELECT state FROM dag_run WHERE dag_id = ?", (SCHEDULED,))
        if state in ("success", "failed"):
            break
        time.sleep(1)
    time.sleep(8)  # the last terminal events and the DAG run's own
    env._terminate_gracefully(scheduler)
    return state, marked


def run_in_process(env: AirflowEnv) -> str:
    """Plain ``airflow dags test`` of ``ol_e2e_attempts_in_process``; returns its output."""
    result = env.run(["dags", "test", IN_PROCESS], timeout=300)
    time.sleep(2)
    return result.stdout


@pytest.mark.parametrize("mode", list(MODES))
def test_every_attempt_under_scheduler_triggerer_and_api_server(tmp_path, spec, mode):
    with AirflowEnv(DAGS, home=tmp_path / "home") as env, Receiver("healthy") as receiver:
        configure(env, receiver, mode)
        state, marked = run_scheduled(env)
        assert marked, env.task_states(SCHEDULED)
        assert state == "failed", state  # `fails`, `killed`, `marked_failed`
        assert env.task_states(SCHEDULED) == {**INTENDED, **OUT_OF_PROCESS}
        table = check_attempts(list(receiver.events), env, SCHEDULED, spec)
    _print_table(f"{SCHEDULED}, {mode} mode: events per attempt", table)
    assert "flaky try 1" in table
    assert "flaky try 2" in table


@pytest.mark.parametrize("mode", list(MODES))
def test_every_attempt_under_plain_dags_test(tmp_path, spec, mode):
    """``airflow dags test`` (no executor): every task instance, deferral and resume in one process."""
    with AirflowEnv(DAGS, home=tmp_path / "home") as env, Receiver("healthy") as receiver:
        configure(env, receiver, mode)
        output = run_in_process(env)
        states = env.task_states(IN_PROCESS)
        assert states == INTENDED, (states, output[-3000:])
        table = check_attempts(list(receiver.events), env, IN_PROCESS, spec, dag_run_start=False)
    summaries = [line for line in output.splitlines() if "OpenLineage: " in line and " sent" in line]
    _print_table(f"{IN_PROCESS} (airflow dags test), {mode} mode: events per attempt", table)
    assert "flaky try 1" in table
    assert "flaky try 2" in table
    # Each attempt's summary line counts its own events only: never "2 of 4", "2 of 6".
    assert summaries, output[-3000:]
    assert not [line for line in summaries if " of " in line], summaries
