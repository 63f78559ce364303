"""
Forking a multi-threaded task runner (Python 3.12+, where ``os.fork()`` warns about it).

The DAG files start a thread when a task runner imports them, so the runner already has two threads
when lineage sends START (and, in fork mode, forks). With ``PYTHONWARNINGS=default::DeprecationWarning``
in the task runner, in both modes:

* the multi-threaded-fork warning of the provider's fork does not appear (the fork is deliberate, see
  ``emission/fork_sender.py``), while the supervisor's own fork still warns: warnings do surface;
* ``ol_e2e_threads`` (the thread holds nothing): START and COMPLETE arrive;
* ``ol_e2e_threads_lock`` (the thread holds the lock the transport, ``LockingHttpTransport``, needs):
  the sender blocks, so neither event arrives; the child (or thread) is ended at the deadline, the
  task succeeds and holds its slot no longer than lineage disabled + one ``execution_timeout`` + the
  margin, and no lineage process is left.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from e2e_support import MODES, configure_lineage
from receiver import Receiver

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        sys.version_info < (3, 12), reason="os.fork() warns in threaded processes from Python 3.12 on"
    ),
]

TIMEOUT = 3
MARGIN_SECONDS = 1.5
FORK_WARNING = "use of fork() may lead to deadlocks"
_WORKLOAD = re.compile(r"(?:Workload|Task) finished.*?duration=([0-9.]+)")


@pytest.fixture(scope="module")
def airflow(shared_airflow):
    shared_airflow.env["PYTHONWARNINGS"] = "default::DeprecationWarning"
    yield shared_airflow
    del shared_airflow.env["PYTHONWARNINGS"]


def _run(airflow, dag_id: str) -> tuple[str, list[float], str]:
    """The task's state, the supervisor's workload durations and all output (CLI and task log)."""
    result = airflow.dags_test(dag_id, timeout=300)
    last = "SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1"
    (run_id,) = airflow.query(last, (dag_id,))[0]
    (state,) = airflow.query(
        "SELECT state FROM task_instance WHERE dag_id = ? AND run_id = ?", (dag_id, run_id)
    )[0]
    durations = [float(d) for d in _WORKLOAD.findall(result.stdout)]
    return state, durations, result.stdout + airflow.task_logs(dag_id, run_id)


@pytest.fixture(scope="module")
def baseline(airflow) -> list[float]:
    configure_lineage(airflow, disabled="True")
    state, durations, output = _run(airflow, "ol_e2e_threads_lock")
    assert state == "success", output[-3000:]
    return durations


@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_multi_threaded_runner_forks_quietly_and_a_held_lock_is_bounded(airflow, baseline, mode):
    with Receiver() as receiver:
        transport = {**receiver.transport(), "type": "ol_e2e_lineage_support.LockingHttpTransport"}
        configure_lineage(
            airflow,
            transport=json.dumps(transport),
            execute_in_thread=MODES[mode],
            execution_timeout=str(TIMEOUT),
        )
        free_state, _, free_output = _run(airflow, "ol_e2e_threads")
        locked_state, durations, locked_output = _run(airflow, "ol_e2e_threads_lock")
        events = list(receiver.events)
        leftovers = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    print(f"{mode}: lock held: slot {durations}, lineage disabled {baseline}")
    assert free_state == "success", free_output[-3000:]
    assert locked_state == "success", locked_output[-3000:]
    warned = [line for line in (free_output + locked_output).splitlines() if FORK_WARNING in line]
    assert any("execution_time/supervisor.py" in line for line in warned), free_output[-3000:]
    assert not [line for line in warned if "fork_sender" in line], warned
    received = {(e["job"]["name"], e["eventType"]) for e in events}
    task = "runs_beside_a_thread"
    assert {(f"ol_e2e_threads.{task}", "START"), (f"ol_e2e_threads.{task}", "COMPLETE")} <= received
    assert not {name for name, _ in received if name == f"ol_e2e_threads_lock.{task}"}, received
    assert len(durations) == 1, locked_output[-3000:]
    assert durations[0] <= max(baseline) + TIMEOUT + MARGIN_SECONDS, (durations, baseline)
    assert "openlineage-sender" not in leftovers
