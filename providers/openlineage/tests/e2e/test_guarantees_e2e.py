"""
The guarantees under the real supervisor, both modes (Airflow 3.3.2; the overtime cap on 3.1.8 too).

* Buffering transports (``async_http``, a composite of http + file) deliver every task and DAG-run
  event with a healthy backend: senders close their clients within the deadline.
* ``execution_timeout = 30`` with the default ``task_success_overtime`` (20 s), a COMPLETE extractor
  taking 25 s and a hung backend: the task succeeds, the supervisor never has to terminate the runner,
  and the slot is released before the overtime.
* 500 SQL statements, 1000 child query events: COMPLETE still arrives (healthy), the bound holds (hung).
* Canaries: secrets in a DAG run's conf (nested in lists and dicts), params, op_kwargs, ``env``,
  rendered Bash and SQL templates, a connection's password, extras and URI, a sensitive Variable and a
  secret a secrets backend registers never appear in any emitted byte, nor in lineage's log lines,
  nor in any spool file when the backend refuses every event.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from e2e_support import DAGS, MODES, SECRET_API_KEY, configure_lineage
from harness import AirflowEnv
from receiver import Receiver, unused_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

MARGIN_SECONDS = 1.5
CANARY_PASSWORD = "canary-conn-pw-Q8v3"
CANARY_EXTRA = "canary-extra-key-L2n6"
CONF_NESTED = "canary-conf-nested-W5k9"
CONF_TOP = "canary-conf-top-R7d1"
LITERAL_CANARY = "canary-literal-7Hq2"
NESTED_CANARY = "canary-nested-Zx81"
BACKEND_TOKEN = "canary-backend-Pm4w"
CANARIES = [
    CANARY_PASSWORD,
    CANARY_EXTRA,
    CONF_NESTED,
    CONF_TOP,
    LITERAL_CANARY,
    NESTED_CANARY,
    BACKEND_TOKEN,
    SECRET_API_KEY,
]


@pytest.fixture(scope="module")
def airflow(shared_airflow, tmp_path_factory):
    database = tmp_path_factory.mktemp("guarantees") / "lineage.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE b (id INTEGER, name TEXT)")
    added = {
        "AIRFLOW_CONN_LINEAGE_SQLITE": json.dumps({"conn_type": "sqlite", "host": str(database)}),
        "AIRFLOW_CONN_CANARY_CONN": json.dumps(
            {
                "conn_type": "postgres",
                "host": "db",
                "login": "reader",
                "password": CANARY_PASSWORD,
                "extra": {"private_key": CANARY_EXTRA, "sslmode": "require"},
            }
        ),
    }
    shared_airflow.env.update(added)
    yield shared_airflow
    for key in added:
        del shared_airflow.env[key]


def _latest_run(env: AirflowEnv, dag_id: str) -> str:
    latest = "SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1"
    return env.query(latest, (dag_id,))[0][0]


def _states(env: AirflowEnv, dag_id: str) -> dict[str, str]:
    states = "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?"
    return dict(env.query(states, (dag_id, _latest_run(env, dag_id))))


def _task_logs(env: AirflowEnv, dag_id: str) -> str:
    """The latest run's task logs, as the runners wrote them (Airflow 3.1 prints none to the CLI)."""
    return env.task_logs(dag_id, _latest_run(env, dag_id))


def _durations(output: str) -> list[float]:
    return [float(d) for d in re.findall(r"(?:Workload|Task) finished.*?duration=([0-9.]+)", output)]


def _by_job(events: list[dict]) -> dict[str, list[str]]:
    jobs: dict[str, list[str]] = {}
    for event in events:
        jobs.setdefault(event["job"]["name"], []).append(event["eventType"])
    return jobs


def _transport(kind: str, receiver: Receiver, file_path: Path) -> dict:
    http = receiver.transport()
    if kind == "async_http":
        return {"type": "async_http", "url": receiver.url, "endpoint": "api/v1/lineage"}
    return {
        "type": "composite",
        "continue_on_failure": True,
        "continue_on_success": True,
        "transports": [
            {**http, "name": "to_http"},
            {"type": "file", "name": "to_file", "log_file_path": str(file_path), "append": True},
        ],
    }


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["async_http", "composite"])
@pytest.mark.parametrize("mode", sorted(MODES))
def test_buffering_transports_deliver_every_event(airflow, spec, tmp_path, mode, kind):
    file_path = tmp_path / "events.ndjson"
    with Receiver("healthy") as receiver:
        configure_lineage(
            airflow,
            transport=json.dumps(_transport(kind, receiver, file_path)),
            execute_in_thread=MODES[mode],
        )
        result = airflow.dags_test("ol_e2e_buffered")
        assert _states(airflow, "ol_e2e_buffered") == {"first": "success", "second": "success"}, (
            result.stdout[-3000:]
        )
        receiver.wait_for(6, timeout=20)
        time.sleep(0.5)
        events = list(receiver.events)
    for event in events:
        spec.validate_event(event)
    # ``dags test`` creates its DAG run already running, so only the DAG run's COMPLETE is emitted,
    # from the CLI process at its very end: it arrives only if the emitter closes its client at exit.
    expected = {
        "ol_e2e_buffered": ["COMPLETE"],
        "ol_e2e_buffered.first": ["START", "COMPLETE"],
        "ol_e2e_buffered.second": ["START", "COMPLETE"],
    }
    assert _by_job(events) == expected, result.stdout[-3000:]
    if kind == "composite":
        written = [json.loads(line) for line in file_path.read_text().splitlines() if line.strip()]
        assert _by_job(written) == expected


@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_slow_complete_extractor_never_runs_past_the_overtime(airflow, mode):
    """execution_timeout 30 does not fit in task_success_overtime 20: the overtime, from the report, wins."""
    with Receiver("hung") as receiver:
        configure_lineage(
            airflow,
            transport=json.dumps(receiver.transport()),
            execute_in_thread=MODES[mode],
            execution_timeout="30",
        )
        result = airflow.dags_test("ol_e2e_overtime", timeout=300)
        leftovers = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    output = result.stdout
    assert _states(airflow, "ol_e2e_overtime") == {"slow_complete": "success"}, output[-3000:]
    assert "Task success overtime reached" not in output
    assert "escalating" not in output
    (duration,) = _durations(output)
    print(f"{mode}: slot held {duration:.1f}s (task_success_overtime 20 s)")
    assert duration < 20.0, output[-3000:]
    assert "openlineage-sender" not in leftovers
    logs = _task_logs(airflow, "ol_e2e_overtime")
    assert "Task success overtime reached" not in logs
    assert logs.count("the room left before [core] task_success_overtime") == 1  # one WARNING, naming it


@pytest.fixture(scope="module")
def many_queries(airflow):
    """Airflow's hook-lineage collector keeps 200 SQL extras by default; this DAG runs 500 statements."""
    airflow.env["AIRFLOW__LINEAGE__MAX_EXTRAS_PER_COLLECTOR"] = "1000"
    yield airflow
    del airflow.env["AIRFLOW__LINEAGE__MAX_EXTRAS_PER_COLLECTOR"]


@pytest.fixture(scope="module")
def many_queries_baseline(many_queries) -> float:
    airflow = many_queries
    configure_lineage(airflow, disabled="True")
    result = airflow.dags_test("ol_e2e_many_queries", timeout=300)
    assert _states(airflow, "ol_e2e_many_queries") == {"many_statements": "success"}, result.stdout[-3000:]
    return _durations(result.stdout)[0]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["healthy", "hung"])
@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_thousand_child_events_never_starve_complete(many_queries, many_queries_baseline, mode, backend):
    airflow = many_queries
    timeout = 30 if backend == "healthy" else 3
    with Receiver(backend) as receiver:
        configure_lineage(
            airflow,
            transport=json.dumps(receiver.transport()),
            execute_in_thread=MODES[mode],
            execution_timeout=str(timeout),
        )
        result = airflow.dags_test("ol_e2e_many_queries", timeout=300)
        if backend == "healthy":
            receiver.wait_for(1002, timeout=60)
            time.sleep(0.5)
        events = list(receiver.events)
    output = result.stdout
    assert _states(airflow, "ol_e2e_many_queries") == {"many_statements": "success"}, output[-3000:]
    (duration,) = _durations(output)
    print(f"{mode}/{backend}: slot {duration:.1f}s, lineage disabled {many_queries_baseline:.1f}s")
    if backend == "hung":
        assert duration - many_queries_baseline <= timeout + MARGIN_SECONDS, output[-3000:]
        return
    task_job = "ol_e2e_many_queries.many_statements"
    jobs = _by_job(events)
    assert jobs[task_job] == ["START", "COMPLETE"], output[-3000:]
    queries = {name: types for name, types in jobs.items() if name.startswith(f"{task_job}.hll_query.")}
    assert len(queries) == 500
    assert Counter(tuple(types) for types in queries.values()) == {("START", "COMPLETE"): 500}
    task_events = [e for e in events if e["job"]["name"] == task_job]
    assert events.index(task_events[-1]) > max(
        i for i, e in enumerate(events) if e["job"]["name"].startswith(f"{task_job}.hll_query.")
    )  # COMPLETE after its children, not starved by them


@pytest.mark.slow
@pytest.mark.parametrize("mode", sorted(MODES))
def test_canaries_never_leave_in_any_byte(airflow, spec, mode):
    conf = {"targets": [{"host": "db1", "password": CONF_NESTED}], "api_key": CONF_TOP, "region": "eu"}
    airflow.env["AIRFLOW__SECRETS__BACKEND"] = "ol_e2e_lineage_support.CanarySecretsBackend"
    airflow.env["PYTHONPATH"] = str(DAGS)
    try:
        with Receiver("healthy") as receiver:
            configure_lineage(
                airflow,
                transport=json.dumps(receiver.transport()),
                execute_in_thread=MODES[mode],
                include_full_task_info="True",
            )
            result = airflow.dags_test("ol_e2e_canary", timeout=300, conf=conf)
            receiver.wait_for(10, timeout=30)
            time.sleep(0.5)
            events = list(receiver.events)
            raw = b"".join(receiver.raw)
    finally:
        del airflow.env["AIRFLOW__SECRETS__BACKEND"]
        del airflow.env["PYTHONPATH"]
    output = result.stdout
    states = _states(airflow, "ol_e2e_canary")
    assert set(states.values()) == {"success"}, output[-5000:]
    jobs = _by_job(events)
    for task_id in states:  # every task's events arrived: there was something to leak
        assert jobs[f"ol_e2e_canary.{task_id}"] == ["START", "COMPLETE"], sorted(jobs)
    assert jobs["ol_e2e_canary"] == ["COMPLETE"]  # ``dags test`` emits no DAG-run START
    for event in events:
        spec.validate_event(event)
    leaked = [canary for canary in CANARIES if canary.encode() in raw]
    assert not leaked, leaked
    assert b"***" in raw
    complete = {e["job"]["name"]: e for e in events if e["eventType"] == "COMPLETE"}
    dag_run_conf = complete["ol_e2e_canary"]["run"]["facets"]["airflowDagRun"]["dagRun"]["conf"]
    assert dag_run_conf["targets"] == [{"host": "db1", "password": "***"}]  # still a list, masked inside
    assert dag_run_conf["region"] == "eu"
    bash = complete["ol_e2e_canary.bash_with_secrets"]["run"]["facets"]["airflow"]["task"]
    assert "***" in bash["bash_command"]
    logs = output + "\n" + _task_logs(airflow, "ol_e2e_canary")
    lineage_lines = [line for line in logs.splitlines() if "openlineage" in line.lower()]
    assert lineage_lines
    assert not [canary for canary in CANARIES if any(canary in line for line in lineage_lines)]


@pytest.mark.slow
@pytest.mark.parametrize("mode", sorted(MODES))
def test_canaries_never_reach_the_spool(airflow, tmp_path, mode):
    """The backend refuses everything: every event is spooled, and no spool byte holds a secret."""
    conf = {"targets": [{"host": "db1", "password": CONF_NESTED}], "api_key": CONF_TOP, "region": "eu"}
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir(mode=0o700)
    airflow.env["AIRFLOW__SECRETS__BACKEND"] = "ol_e2e_lineage_support.CanarySecretsBackend"
    airflow.env["PYTHONPATH"] = str(DAGS)
    try:
        refused = {"type": "http", "url": f"http://127.0.0.1:{unused_port()}", "endpoint": "api/v1/lineage"}
        configure_lineage(
            airflow,
            transport=json.dumps(refused),
            execute_in_thread=MODES[mode],
            include_full_task_info="True",
            spool_dir=str(spool_dir),
        )
        result = airflow.dags_test("ol_e2e_canary", timeout=300, conf=conf)
    finally:
        del airflow.env["AIRFLOW__SECRETS__BACKEND"]
        del airflow.env["PYTHONPATH"]
    states = _states(airflow, "ol_e2e_canary")
    assert set(states.values()) == {"success"}, result.stdout[-5000:]
    files = sorted(p for p in spool_dir.glob("*.json") if not p.name.startswith("."))
    spooled_jobs = {json.loads(path.read_bytes())["event"]["job"]["name"] for path in files}
    query_jobs = {job for job in spooled_jobs if ".hll_query." in job}  # the SQL task's child query events
    assert query_jobs
    assert spooled_jobs - query_jobs == {"ol_e2e_canary", *(f"ol_e2e_canary.{task_id}" for task_id in states)}
    raw = b"".join(path.read_bytes() for path in files)
    leaked = [canary for canary in CANARIES if canary.encode() in raw]
    assert not leaked, leaked
    assert b"***" in raw
    assert {oct(path.stat().st_mode & 0o777) for path in files} == {"0o600"}
