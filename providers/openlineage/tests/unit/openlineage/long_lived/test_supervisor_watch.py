"""The supervisor closes the run of a runner that died before its terminal event: once, and only then."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest
from openlineage.client.serde import Serde

from airflow.providers.openlineage.long_lived import supervisor_watch
from airflow.providers.openlineage.task_runner import attempt_notice

RUNNER_PID = 999_999_001
NOTICE = {
    "namespace": "default",
    "job_name": "dag.task",
    "run_id": "01890000-0000-7000-8000-000000000001",
    "dag_id": "dag",
    "dag_run_ol_id": "01890000-0000-7000-8000-000000000002",
    "root": {
        "root_parent_run_id": "01890000-0000-7000-8000-000000000002",
        "root_parent_job_name": "dag",
        "root_parent_job_namespace": "default",
    },
}


class _Emitter:
    def __init__(self) -> None:
        self.events: list = []

    def submit(self, event) -> bool:
        self.events.append(event)
        return True


@pytest.fixture
def emitter(monkeypatch, tmp_path):
    monkeypatch.setattr(attempt_notice.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps({"type": "console"}))
    fake = _Emitter()
    monkeypatch.setattr(supervisor_watch, "get_background_emitter", lambda factory: fake)
    return fake


def _leave_notice() -> None:
    path = attempt_notice.notice_path(os.getpid(), RUNNER_PID)
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(NOTICE))


def _supervisor(state: str, exit_code: int = -9) -> SimpleNamespace:
    return SimpleNamespace(pid=RUNNER_PID, final_state=state, _exit_code=exit_code)


def test_a_killed_runner_gets_one_fail_with_its_run_id_and_parent(emitter, spec):
    _leave_notice()
    supervisor_watch.after_runner_exit(_supervisor("failed"))
    supervisor_watch.after_runner_exit(_supervisor("failed"))  # the notice is read once
    (event,) = emitter.events
    payload = json.loads(Serde.to_json(event))
    spec.validate_event(payload)
    assert payload["eventType"] == "FAIL"
    assert payload["run"]["runId"] == NOTICE["run_id"]
    assert payload["run"]["facets"]["parent"]["run"]["runId"] == NOTICE["dag_run_ol_id"]
    assert payload["run"]["facets"]["parent"]["root"]["run"]["runId"] == NOTICE["dag_run_ol_id"]
    assert "SIGKILL" in payload["run"]["facets"]["errorMessage"]["message"]


def test_up_for_retry_counts_as_a_failed_attempt(emitter):
    _leave_notice()
    supervisor_watch.after_runner_exit(_supervisor("up_for_retry", exit_code=1))
    (event,) = emitter.events
    assert "exited with code 1" in event.run.facets["errorMessage"].message


@pytest.mark.parametrize("state", ["SERVER_TERMINATED", "success", "deferred"])
def test_no_fail_when_the_state_came_from_elsewhere_or_the_attempt_did_not_fail(emitter, state):
    _leave_notice()
    supervisor_watch.after_runner_exit(_supervisor(state))
    assert emitter.events == []
    assert not attempt_notice.notice_path(os.getpid(), RUNNER_PID).exists()  # not left behind


def test_no_fail_when_the_runner_reached_its_terminal_event(emitter):
    supervisor_watch.after_runner_exit(_supervisor("failed"))  # the runner removed its notice
    assert emitter.events == []


def test_the_runner_side_writes_a_notice_only_its_supervisor_reads(emitter, monkeypatch):
    identity = SimpleNamespace(**NOTICE)
    monkeypatch.setattr(attempt_notice.os, "getppid", lambda: os.getpid())
    monkeypatch.setattr(attempt_notice.os, "getpid", lambda: RUNNER_PID)
    attempt_notice.write_notice(identity)
    path = attempt_notice.notice_path(os.getpid(), RUNNER_PID)
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    attempt_notice.remove_notice()
    assert not path.exists()
    attempt_notice.write_notice(identity)
    monkeypatch.undo()
    assert attempt_notice.take_notice(RUNNER_PID) is None  # another tmp dir now: nothing found


def test_the_wrapper_keeps_the_supervisor_going_whatever_the_check_does(monkeypatch):
    calls = []

    def update_state(self):
        calls.append("reported")
        return "reported"

    def broken(_supervisor):
        raise RuntimeError("lineage broke")

    monkeypatch.setattr(supervisor_watch, "after_runner_exit", broken)
    wrapped = supervisor_watch._watched(update_state)
    assert wrapped(object()) == "reported"
    assert calls == ["reported"]


def test_install_wraps_the_real_supervisor_once():
    from airflow.sdk.execution_time.supervisor import ActivitySubprocess

    assert supervisor_watch.install_supervisor_watch()
    first = ActivitySubprocess.update_task_state_if_needed
    assert supervisor_watch.install_supervisor_watch()
    assert ActivitySubprocess.update_task_state_if_needed is first
    assert getattr(first, "_openlineage_watch", False)
