"""
The guarantees on CeleryExecutor: a real Redis broker, the real scheduler and two Celery workers.

Debian's ``redis-server`` (installed by ``scripts/test.sh``) listens on 127.0.0.1 for this module
only; the api-server, the scheduler and two ``airflow celery worker --concurrency 2`` run in one
Airflow home (SQLite metadata DB, Celery results in a SQLite file of their own). A DAG of 20
independent no-op tasks runs with lineage disabled (the baseline), then in both modes with a healthy
backend and with a hung one (``execution_timeout = 3``):

* every task succeeds;
* each task holds its slot (the supervisor's "Workload finished" duration on the worker) no longer
  than the baseline's slowest task plus one ``execution_timeout`` plus the margin;
* with the healthy backend every task's START and COMPLETE and the DAG run's arrive;
* no lineage process is left below either worker once the run is over.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import statistics
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e_support import MODES, configure_lineage
from harness import AirflowEnv, descendants
from receiver import Receiver, unused_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

DAGS = Path(__file__).parent / "dags_celery"
DAG_ID = "ol_celery_fanout"
TASKS = 20
TIMEOUT_SECONDS = 3
MARGIN_SECONDS = 1.5
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
_WORKLOAD = re.compile(r"Workload finished.*?duration=([0-9.]+)")

if not Path(REDIS_SERVER).exists():
    pytest.skip(
        "redis-server is not installed (scripts/test.sh installs Debian's redis-server package)",
        allow_module_level=True,
    )
try:
    import airflow.providers.celery  # noqa: F401
except ImportError:
    pytest.skip(
        "apache-airflow-providers-celery is not installed (pinned in ci/constraints-airflow-3.3.2.txt)",
        allow_module_level=True,
    )


@contextmanager
def redis_server(folder: Path) -> Iterator[int]:
    """A Redis server of this test's own on 127.0.0.1 (no persistence); stopped by its PID."""
    port = unused_port()
    log = open(folder / "redis.log", "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        end = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > end:
                    raise RuntimeError(f"redis-server did not start; see {folder / 'redis.log'}") from None
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def celery_airflow(tmp_path_factory) -> Iterator[AirflowEnv]:
    folder = tmp_path_factory.mktemp("celery")
    with redis_server(folder) as port:
        env = {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{port}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+sqlite:///{folder / 'celery-results.db'}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "8",
        }
        with AirflowEnv(DAGS, env=env) as airflow:
            airflow.start_api_server()
            parsed = airflow.run(["dags", "reserialize"], timeout=180)
            assert airflow.query("SELECT dag_id FROM dag WHERE dag_id = ?", (DAG_ID,)), parsed.stdout[-3000:]
            airflow.run(["dags", "unpause", DAG_ID], timeout=60)
            yield airflow


@dataclass
class FanoutRun:
    states: Counter[str]
    slots: list[float]
    leftovers: list[str]
    output: str


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def run_fanout(airflow: AirflowEnv, run_id: str, **lineage: str) -> FanoutRun:
    """One run of the DAG on fresh workers and scheduler (they read ``[openlineage]`` at start)."""
    configure_lineage(airflow, **lineage)
    logs = [f"worker{n}-{run_id}.log" for n in (1, 2)]
    workers = [
        airflow._spawn(
            [
                *("celery", "worker", "--concurrency", "2", "--skip-serve-logs"),
                *(
                    "--celery-hostname",
                    f"w{n}-{run_id}@%h",
                    "--pid",
                    str(airflow.home / f"w{n}-{run_id}.pid"),
                ),
            ],
            log,
        )
        for n, log in zip((1, 2), logs, strict=True)
    ]
    scheduler = airflow._spawn(["scheduler"], f"scheduler-{run_id}.log")
    try:
        airflow.run(["dags", "trigger", DAG_ID, "--run-id", run_id], timeout=120)
        end = time.monotonic() + 600
        while time.monotonic() < end:
            if any(proc.poll() is not None for proc in (scheduler, *workers)):
                break  # a component died: the states below say what is missing, the logs why
            rows = airflow.query("SELECT state FROM dag_run WHERE run_id = ?", (run_id,))
            if rows and rows[0][0] in ("success", "failed"):
                break
            time.sleep(1)
        time.sleep(3)  # the scheduler hands the DAG run's last event to its emitter
        # Below a worker only its pool processes may remain: a task runner or a lineage child
        # (a grandchild or deeper) still alive after the run would have outlived its task.
        leftovers = [
            f"{pid} {_cmdline(pid)}"
            for worker in workers
            for pid in set(descendants(worker.pid)) - set(_children(worker.pid))
        ]
    finally:
        for proc in (scheduler, *workers):
            airflow._terminate_gracefully(proc, grace=20)
    output = "\n".join(
        (airflow.home / log).read_text(errors="replace") for log in [*logs, f"scheduler-{run_id}.log"]
    )
    rows = airflow.query("SELECT state FROM task_instance WHERE run_id = ?", (run_id,))
    return FanoutRun(
        Counter(state for (state,) in rows), [float(d) for d in _WORKLOAD.findall(output)], leftovers, output
    )


@pytest.fixture(scope="module")
def baseline(celery_airflow) -> FanoutRun:
    run = run_fanout(celery_airflow, "baseline", disabled="True")
    assert run.states == Counter({"success": TASKS}), run.output[-3000:]
    assert len(run.slots) == TASKS, run.output[-3000:]
    return run


@pytest.mark.parametrize("backend", ["healthy", "hung"])
@pytest.mark.parametrize("mode", sorted(MODES))
def test_celery_workers_keep_the_bound_and_deliver_every_event(celery_airflow, baseline, mode, backend):
    run_id = f"{mode}_{backend}"
    with Receiver(backend) as receiver:
        run = run_fanout(
            celery_airflow,
            run_id,
            transport=json.dumps(receiver.transport()),
            execute_in_thread=MODES[mode],
            execution_timeout=str(TIMEOUT_SECONDS),
        )
        events = list(receiver.events)
    bound = max(baseline.slots) + TIMEOUT_SECONDS + MARGIN_SECONDS
    added = statistics.median(run.slots) - statistics.median(baseline.slots) if run.slots else float("nan")
    print(
        f"celery {mode}/{backend}: {len(run.slots)} workloads,"
        f" slot median {statistics.median(run.slots):.2f}s"
        f" max {max(run.slots):.2f}s (baseline median {statistics.median(baseline.slots):.2f}s"
        f" max {max(baseline.slots):.2f}s; added median {added:+.2f}s; bound {bound:.2f}s);"
        f" {len(events)} events received"
    )
    assert run.states == Counter({"success": TASKS}), run.output[-3000:]
    assert len(run.slots) == TASKS, run.output[-3000:]
    assert max(run.slots) <= bound, sorted(run.slots)
    assert run.leftovers == [], run.leftovers
    if backend == "healthy":
        kinds = Counter((e["job"]["name"], e["eventType"]) for e in events)
        expected = {(f"{DAG_ID}.noop_{n:02d}", kind) for n in range(TASKS) for kind in ("START", "COMPLETE")}
        expected |= {(DAG_ID, "START"), (DAG_ID, "COMPLETE")}
        assert set(kinds) == expected, sorted(set(kinds) ^ expected)
        assert all(count == 1 for count in kinds.values()), kinds
