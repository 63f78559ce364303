"""
DAG-run events in the scheduler and manual state changes in the API server (Airflow 3.3.2 and 3.1.8).

The real scheduler (LocalExecutor, SQLite) runs 50 catch-up DAG runs against a receiver that hangs:
it keeps scheduling, the provider starts exactly one process (the DAG-run event helper), threads and
memory stay flat. Then the receiver recovers, and every DAG-run event (held in the helper's queue
meanwhile) arrives, START before COMPLETE per run, with the facets of the DAG the helper loaded; the
helper is gone once the scheduler has stopped. A "mark success" through the REST API with a hung
receiver returns promptly, and the event arrives once the receiver recovers.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict

import pytest
from e2e_support import DAGS, rest_api
from harness import AirflowEnv, descendants
from receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

FIFTY = "ol_e2e_fifty_runs"
HELPER = "openlineage-dag-run-emitter"


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def _run_fifty(receiver: Receiver, tmp_path, after_done) -> dict:
    with AirflowEnv(DAGS, home=tmp_path / "home") as env:
        env.env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(receiver.transport(timeout=300))
        env.env["AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT"] = "3"
        env.env["AIRFLOW__SCHEDULER__MAX_DAGRUNS_TO_CREATE_PER_LOOP"] = "50"
        env.env["AIRFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG"] = "50"
        env.run(["dags", "reserialize"], timeout=120)
        env.run(["dags", "unpause", FIFTY], timeout=60)
        scheduler = env._spawn(["scheduler"], "scheduler.log")
        samples = []
        end = time.monotonic() + 420
        done = 0
        while time.monotonic() < end:
            rows = env.query("SELECT state FROM dag_run WHERE dag_id = ?", (FIFTY,))
            done = sum(1 for (state,) in rows if state in ("success", "failed"))
            below = descendants(scheduler.pid)
            samples.append(
                {
                    "done": done,
                    "rss": _rss_mib(scheduler.pid),
                    "threads": _threads(scheduler.pid),
                    "children": [_cmdline(p) for p in below],
                }
            )
            if done >= 50:
                break
            time.sleep(0.5)
        time.sleep(3)  # the last DAG-run events reach the emitter
        samples.append(
            {"done": done, "rss": _rss_mib(scheduler.pid), "threads": _threads(scheduler.pid), "children": []}
        )
        helpers = {p for p in descendants(scheduler.pid) if HELPER in _cmdline(p)}
        after_done()  # while the scheduler still runs
        env._terminate_gracefully(scheduler)
        log = (env.home / "scheduler.log").read_text(errors="replace")
        end = time.monotonic() + 10
        while any(os.path.exists(f"/proc/{p}") for p in helpers) and time.monotonic() < end:
            time.sleep(0.1)
        left = [p for p in helpers if os.path.exists(f"/proc/{p}") and HELPER in _cmdline(p)]
    return {"done": done, "samples": samples, "log": log, "helpers": helpers, "helpers_left": left}


def test_fifty_dag_runs_against_a_hung_then_recovering_backend(tmp_path, spec):
    with Receiver("hung", max_hang=600) as receiver:

        def recover_and_collect():
            assert receiver.requests >= 1  # events really went out, and hung
            assert receiver.events == []
            receiver.recover()
            receiver.wait_for(100, timeout=60)

        result = _run_fifty(receiver, tmp_path, recover_and_collect)
        events = [e for e in receiver.events if e["job"]["name"] == FIFTY]
    assert result["done"] == 50, result["log"][-3000:]
    samples = result["samples"]
    # One process started by the provider, the DAG-run event helper; none left after the scheduler.
    children = {c for s in samples for c in s["children"]}
    assert [c for c in children if "penlineage" in c.lower()] == [c for c in children if HELPER in c]
    assert max(sum(HELPER in c for c in s["children"]) for s in samples) == 1
    assert len(result["helpers"]) == 1, result["helpers"]
    assert result["helpers_left"] == []
    # Memory flat: from the first sample with runs done to the end.
    first = next(s for s in samples if s["done"] >= 5)
    print(
        f"scheduler RSS {first['rss']:.0f} -> {samples[-1]['rss']:.0f} MiB, threads "
        f"{samples[0]['threads']} -> max {max(s['threads'] for s in samples)}, {len(samples)} samples"
    )
    assert samples[-1]["rss"] - first["rss"] < 40, [(s["done"], round(s["rss"])) for s in samples]
    # Threads bounded: one emitter worker (pool size 1) at most, not one per event.
    assert max(s["threads"] for s in samples) - samples[0]["threads"] <= 3
    assert "Traceback" not in "\n".join(line for line in result["log"].splitlines() if "penLineage" in line)
    # After recovery: every DAG-run event, START before COMPLETE per run, schema-valid.
    per_run: dict[str, list[str]] = defaultdict(list)
    for event in events:
        spec.validate_event(event)
        per_run[event["run"]["runId"]].append(event["eventType"])
    assert len(per_run) == 50
    assert all(types == ["START", "COMPLETE"] for types in per_run.values()), per_run
    # Built with the DAG the helper read from the database: its task list and owner.
    start = next(e for e in events if e["eventType"] == "START")
    assert set(start["job"]["facets"]["airflow"]["tasks"]), start["job"]["facets"]
    assert "ownership" in start["job"]["facets"]


def test_mark_success_through_rest_returns_promptly_and_emits_after_recovery(tmp_path, spec):
    with AirflowEnv(DAGS, home=tmp_path / "home") as env, Receiver("hung", max_hang=120) as receiver:
        env.run(["dags", "reserialize"], timeout=120)
        # The API server with lineage on, against a hung backend.
        env.env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(receiver.transport(timeout=300))
        env.env["AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT"] = "30"
        env.start_api_server(apps="all")
        token = rest_api(env, "GET", "/auth/token")["access_token"]
        # A DAG run nobody executes (no scheduler): an operator marks its task by hand.
        run_id = rest_api(env, "POST", "/api/v2/dags/ol_e2e_mark/dagRuns", token, {"logical_date": None})[
            "dag_run_id"
        ]
        started = time.monotonic()
        rest_api(
            env,
            "PATCH",
            f"/api/v2/dags/ol_e2e_mark/dagRuns/{run_id}/taskInstances/to_be_marked",
            token,
            {"new_state": "success"},
        )
        elapsed = time.monotonic() - started
        print(f"mark success through REST returned in {elapsed:.2f}s with a hung backend")
        assert env.task_states("ol_e2e_mark") == {"to_be_marked": "success"}
        assert elapsed < 10, elapsed  # the request does not wait for the hung backend
        deadline = time.monotonic() + 20
        while receiver.requests == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert receiver.requests >= 1  # sent, and held by the hung backend
        assert receiver.events == []
        receiver.recover()
        assert receiver.wait_for(1, timeout=20)
        (event,) = receiver.events
    spec.validate_event(event)
    assert event["eventType"] == "COMPLETE"
    assert event["job"]["name"] == "ol_e2e_mark.to_be_marked"
    assert event["run"]["facets"]["parent"]["job"]["name"] == "ol_e2e_mark"
