"""
End to end under the real Task SDK supervisor (api-server + ``dags test --use-executor``), both modes.

Healthy backend: every event arrives, START before the terminal event, all schema-valid, no secret in
any byte. Hung backend: tasks still succeed and lineage adds at most ``execution_timeout`` + margin.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from pathlib import Path

import pytest
from harness import AirflowEnv
from receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

DAGS = Path(__file__).parent / "dags"
SECRET_PASSWORD = "s3cr3t-Passw0rd-e2e"
SECRET_API_KEY = "ak-9f8e7d6c5b4a-e2e"
MODES = {"fork": "False", "thread": "True"}
MARGIN_SECONDS = 6.0  # the supervisor's intermittent ~5 s exit delay; lineage's own margin is < 1 s


@pytest.fixture(scope="module")
def airflow():
    with AirflowEnv(DAGS) as env:
        env.run(
            [
                "connections",
                "add",
                "secret_conn",
                "--conn-type",
                "postgres",
                "--conn-host",
                "db",
                "--conn-password",
                SECRET_PASSWORD,
            ],
            timeout=120,
        )
        env.run(["variables", "set", "service_api_key", SECRET_API_KEY], timeout=120)
        env.run(["variables", "set", "plain_value", "plain-42"], timeout=120)
        env.start_api_server()
        yield env


def _configure(env: AirflowEnv, mode: str, transport: dict | None, timeout: int = 10) -> None:
    for key in [k for k in env.env if k.startswith("AIRFLOW__OPENLINEAGE__")]:
        del env.env[key]
    if transport is None:
        env.env["AIRFLOW__OPENLINEAGE__DISABLED"] = "True"
        return
    env.env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(transport)
    env.env["AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD"] = MODES[mode]
    env.env["AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT"] = str(timeout)


def _latest_states(env: AirflowEnv, dag_id: str) -> dict[str, str]:
    run_id = env.query("SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,))[0][
        0
    ]
    rows = env.query(
        "SELECT task_id, map_index, state FROM task_instance WHERE dag_id = ? AND run_id = ?",
        (dag_id, run_id),
    )
    return {(t if m == -1 else f"{t}[{m}]"): s for t, m, s in rows}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_healthy_backend_gets_every_event_in_order(airflow, spec, mode):
    with Receiver("healthy") as receiver:
        _configure(airflow, mode, receiver.transport())
        result = airflow.dags_test("ol_e2e_basic")
        states = _latest_states(airflow, "ol_e2e_basic")
        assert states == {
            "reads_secrets": "success",
            "fails": "failed",
            "mapped[0]": "success",
            "mapped[1]": "success",
        }, result.stdout[-3000:]
        assert receiver.wait_for(8, timeout=30)
        time.sleep(1)
        events = list(receiver.events)

    by_run: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        spec.validate_event(event)
        by_run[event["run"]["runId"]].append(event)
    task_runs = {run: evs for run, evs in by_run.items() if evs[0]["job"]["name"] != "ol_e2e_basic"}
    assert len(task_runs) == 4
    for run_events in task_runs.values():
        types = [e["eventType"] for e in run_events]
        assert len(types) == 2
        assert types[0] == "START"
        assert types[1] in ("COMPLETE", "FAIL")
    names = {e["job"]["name"]: e for e in events if e["eventType"] != "START"}
    assert names["ol_e2e_basic.fails"]["eventType"] == "FAIL"
    assert "expected failure" in names["ol_e2e_basic.fails"]["run"]["facets"]["errorMessage"]["message"]
    complete = names["ol_e2e_basic.reads_secrets"]
    assert complete["eventType"] == "COMPLETE"
    assert [d["name"] for d in complete["inputs"]] == ["public.source"]
    assert [d["name"] for d in complete["outputs"]] == ["public.target"]
    parent = complete["run"]["facets"]["parent"]
    assert parent["job"]["name"] == "ol_e2e_basic"
    # Secrets were read through the supervisor by the lineage methods and masked before sending.
    raw = b"".join(receiver.raw)
    assert SECRET_PASSWORD.encode() not in raw
    assert SECRET_API_KEY.encode() not in raw
    assert b"***" in raw


def _timed_run(env: AirflowEnv, dag_id: str) -> tuple[float, dict[str, str], str]:
    """Run a one-task DAG; return the supervisor's workload duration (the time the slot was held)."""
    result = env.dags_test(dag_id, timeout=300)
    durations = re.findall(r"(?:Workload|Task) finished.*?duration=([0-9.]+)", result.stdout)
    assert durations, result.stdout[-3000:]
    return float(durations[-1]), _latest_states(env, dag_id), result.stdout


@pytest.mark.parametrize("mode", sorted(MODES))
def test_hung_backend_adds_at_most_one_timeout(airflow, mode):
    timeout = 3
    _configure(airflow, mode, None)
    baseline, states, _ = _timed_run(airflow, "ol_e2e_sleep")
    assert states == {"sleep_one": "success"}
    with Receiver("hung") as receiver:
        _configure(airflow, mode, receiver.transport(timeout=300), timeout=timeout)
        hung, states, output = _timed_run(airflow, "ol_e2e_sleep")
        assert receiver.requests >= 1  # START really went out and hung
    assert states == {"sleep_one": "success"}, output[-3000:]
    added = hung - baseline
    print(f"{mode}: workload baseline {baseline:.1f}s, hung backend {hung:.1f}s, added {added:.1f}s")
    assert added <= timeout + MARGIN_SECONDS, output[-3000:]
