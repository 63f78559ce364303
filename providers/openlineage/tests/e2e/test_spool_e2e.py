"""
The spool under the real supervisor and a real scheduler (Airflow 3.3.2; the task-runner path on 3.1.8).

* A DAG of 20 tasks runs with the backend refusing connections, then again with it hung; each task's
  slot stays within ``execution_timeout`` + margin. The backend recovers and a real scheduler starts:
  its replayer delivers every task and DAG-run event of both runs (checked against a healthy run of
  the same DAG), START before the terminal event per run, and the spool ends empty.
  (Both modes on 3.3.2; thread mode on 3.1.8.)
* A task runner SIGKILLed right after its START was spooled: the file is complete and is replayed.
* A spool directory that does not exist: one WARNING naming the option, every task succeeds.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from e2e_support import MODES, configure_lineage
from receiver import Receiver, unused_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

TWENTY = "ol_e2e_spool_twenty"
KILLED = "ol_e2e_spool_killed"
TIMEOUT = 2
MARGIN_SECONDS = 1.5
REPLAY_WITHIN_SECONDS = 120


def _durations(output: str) -> list[float]:
    return [float(d) for d in re.findall(r"(?:Workload|Task) finished.*?duration=([0-9.]+)", output)]


def _spooled(spool_dir: Path, kind: str = "*") -> list[Path]:
    """Spooled events: named files only (``.tmp-*`` files are writes in progress, or torn by a kill)."""
    return sorted(p for p in spool_dir.glob(f"*.{kind}.json") if not p.name.startswith("."))


def _latest_run(env, dag_id: str) -> str:
    return env.query("SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,))[0][0]


def _states(env, dag_id: str) -> dict[str, str]:
    rows = "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?"
    return dict(env.query(rows, (dag_id, _latest_run(env, dag_id))))


def _lineage(env, spool_dir: Path, url: str, mode: str, **options: str) -> None:
    transport = {"type": "http", "url": url, "endpoint": "api/v1/lineage", "timeout": 3}
    configure_lineage(
        env,
        transport=json.dumps(transport),
        execute_in_thread=MODES[mode],
        execution_timeout=str(TIMEOUT),
        spool_dir=str(spool_dir),
        **options,
    )


def _shape(events: list[dict]) -> Counter:
    """What a DAG run produced: (job, event type) pairs, per run of the DAG."""
    return Counter((e["job"]["name"], e["eventType"]) for e in events)


def _unique(events: list[dict]) -> list[dict]:
    """At-least-once delivery: the first copy of each (run id, event type, event time)."""
    seen, unique = set(), []
    for event in events:
        key = (event["run"]["runId"], event["eventType"], event["eventTime"])
        if key not in seen:
            seen.add(key)
            unique.append(event)
    return unique


def _dag_run_id_of(event: dict, dag_run_ids: dict[str, str]) -> str:
    """Which DAG run an event belongs to: its own run id (DAG run) or its parent's (task)."""
    parent = event["run"]["facets"].get("parent", {}).get("run", {}).get("runId")
    return dag_run_ids.get(parent or event["run"]["runId"], parent or event["run"]["runId"])


@pytest.fixture
def spool_dir(tmp_path):
    directory = tmp_path / "spool"
    directory.mkdir(mode=0o700)
    return directory


# Thread mode is the one the 3.1 stuck-task fix is for: it runs on every lane, fork mode on 3.3.2.
@pytest.mark.parametrize("mode", [pytest.param("fork", marks=pytest.mark.slow), "thread"])
def test_refused_then_hung_then_recovered_loses_nothing(shared_airflow, spec, spool_dir, mode):
    env = shared_airflow
    with Receiver("healthy") as healthy:
        _lineage(env, spool_dir, healthy.url, mode)
        result = env.dags_test(TWENTY, timeout=300)
        assert set(_states(env, TWENTY).values()) == {"success"}, result.stdout[-3000:]
        assert healthy.wait_for(41, timeout=30)
        time.sleep(0.5)
        expected_shape = _shape(healthy.events)
        baseline = statistics.median(_durations(result.stdout))
    assert sum(expected_shape.values()) == 41  # 20 x START/COMPLETE + the DAG run's COMPLETE
    assert list(spool_dir.iterdir()) == []  # a healthy run spools nothing

    refused_url = f"http://127.0.0.1:{unused_port()}"
    _lineage(env, spool_dir, refused_url, mode)
    refused = env.dags_test(TWENTY, timeout=300)
    assert set(_states(env, TWENTY).values()) == {"success"}, refused.stdout[-3000:]
    refused_files = len(_spooled(spool_dir))
    assert refused_files == 41, sorted(p.name for p in spool_dir.iterdir())

    with Receiver("hung", max_hang=600) as backend:
        _lineage(env, spool_dir, backend.url, mode)
        hung = env.dags_test(TWENTY, timeout=600)
        assert set(_states(env, TWENTY).values()) == {"success"}, hung.stdout[-3000:]
        slots = _durations(hung.stdout)
        assert len(slots) == 20
        worst = max(slots) - baseline
        print(f"{mode}: hung backend, worst slot {max(slots):.2f}s (healthy median {baseline:.2f}s)")
        assert worst <= TIMEOUT + MARGIN_SECONDS, slots
        assert len(_spooled(spool_dir)) == 82, sorted(p.name for p in spool_dir.iterdir())

        backend.recover()  # held requests are answered now: copies of spooled events may arrive too
        scheduler = env._spawn(["scheduler"], "scheduler-spool.log")
        try:
            end = time.monotonic() + REPLAY_WITHIN_SECONDS
            while time.monotonic() < end and _spooled(spool_dir):
                time.sleep(1)
            time.sleep(1)
        finally:
            env._terminate_gracefully(scheduler)
        left = sorted(p.name for p in _spooled(spool_dir))
        events = list(backend.events)
    log = (env.home / "scheduler-spool.log").read_text(errors="replace")
    assert left == [], log[-3000:]
    assert "OpenLineage spool drained" in log
    unique = _unique(events)
    dag_run_ids = {e["run"]["runId"]: e["run"]["runId"] for e in unique if e["job"]["name"] == TWENTY}
    assert len(dag_run_ids) == 2  # the refused run and the hung run
    per_dag_run: dict[str, list[dict]] = defaultdict(list)
    for event in unique:
        spec.validate_event(event)
        per_dag_run[_dag_run_id_of(event, dag_run_ids)].append(event)
    assert sorted(per_dag_run) == sorted(dag_run_ids)
    for run_events in per_dag_run.values():
        assert _shape(run_events) == expected_shape
    order: dict[str, list[str]] = defaultdict(list)
    for event in events:  # arrival order, copies included
        order[event["run"]["runId"]].append(event["eventType"])
    for run_id, types in order.items():
        if "START" in types:
            assert types.index("START") < types.index("COMPLETE"), (run_id, types)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_runner_killed_right_after_spooling_still_gets_its_start_replayed(shared_airflow, spool_dir, mode):
    env = shared_airflow
    _lineage(env, spool_dir, f"http://127.0.0.1:{unused_port()}", mode)
    result = env.dags_test(KILLED, timeout=300)
    assert _states(env, KILLED) == {"killed_after_spooling": "failed"}, result.stdout[-3000:]
    starts = _spooled(spool_dir, "START")
    assert len(starts) == 1, sorted(p.name for p in spool_dir.iterdir())
    assert json.loads(starts[0].read_bytes())["event"]["eventType"] == "START"  # complete, not torn
    with Receiver("healthy") as backend:
        _lineage(env, spool_dir, backend.url, mode)
        replay = subprocess.run(
            [sys.executable, "-m", "airflow.providers.openlineage.spool_cli", "replay", "--timeout", "60"],
            env=env.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert replay.returncode == 0, replay.stdout + replay.stderr
        backend.wait_for(1, timeout=10)
        events = list(backend.events)
    task_job = f"{KILLED}.killed_after_spooling"
    received = [(e["job"]["name"], e["eventType"]) for e in events]
    diagnosis = f"replay printed: {replay.stdout}\n{replay.stderr[-3000:]}\nreceived: {received}"
    assert [e["eventType"] for e in events if e["job"]["name"] == task_job][:1] == ["START"], diagnosis
    assert _spooled(spool_dir) == []


def test_a_missing_spool_directory_is_one_warning_and_tasks_succeed(shared_airflow, tmp_path):
    env = shared_airflow
    missing = tmp_path / "no-such-dir"
    with Receiver("healthy") as backend:
        transport = {"type": "http", "url": backend.url, "endpoint": "api/v1/lineage", "timeout": 3}
        configure_lineage(env, transport=json.dumps(transport), spool_dir=str(missing))
        result = env.dags_test(TWENTY, timeout=300)
        backend.wait_for(41, timeout=30)
        events = list(backend.events)
    assert set(_states(env, TWENTY).values()) == {"success"}, result.stdout[-3000:]
    assert len(events) == 41  # a healthy backend still gets everything
    folder = env.home / "logs" / f"dag_id={TWENTY}" / f"run_id={_latest_run(env, TWENTY)}"
    per_runner = {}
    for log_file in sorted(folder.rglob("*.log")):
        lines = [line for line in log_file.read_text(errors="replace").splitlines() if "spool_dir" in line]
        assert all(str(missing) in line and "does not exist" in line for line in lines), lines
        per_runner[log_file.parent.name] = len(lines)
    assert len(per_runner) == 20
    assert set(per_runner.values()) == {1}, per_runner  # one line per task runner
