"""Both senders with a spool: nothing undeliverable is lost, the deadline still holds, order per run."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sender_support import wait_until
from spool_support import SwitchableBackend, new_spool, run_event

from airflow.providers.openlineage.emission.deadline import AttemptDeadline, FixedDeadline
from airflow.providers.openlineage.emission.fork_sender import ForkSender
from airflow.providers.openlineage.emission.replay import replay
from airflow.providers.openlineage.emission.spooling import Spooling
from airflow.providers.openlineage.emission.thread_sender import ThreadSender
from airflow.providers.openlineage.task_runner.attempt_emission import AttemptEmission

SENDERS = [ForkSender, ThreadSender]
MARGIN = 1.0


def _sender(sender_class, backend, spool, **kwargs):
    return sender_class(backend.client, spooling=Spooling(spool), replay_on_close=True, **kwargs)


def _kinds(spool):
    return [(entry.run_id, entry.kind) for entry in spool.entries()]


@pytest.mark.parametrize("sender_class", SENDERS)
def test_events_the_backend_refuses_are_spooled_then_replayed_in_order(tmp_path, sender_class):
    spool = new_spool(tmp_path)
    backend = SwitchableBackend(tmp_path / "backend", mode="fail")
    run_id = str(uuid.uuid4())
    sender = _sender(sender_class, backend, spool)
    sender.submit(run_event("START", run_id))
    sender.submit(run_event("COMPLETE", run_id))
    assert sender.close(FixedDeadline(10))
    assert (sender.sent, sender.spooled, sender.failed) == (0, 2, 0)
    assert _kinds(spool) == [(run_id, "START"), (run_id, "COMPLETE")]
    backend.set("ok")
    assert replay(spool, backend.client, FixedDeadline(10)).sent == 2
    assert [(r, s) for r, s, _ in backend.received()] == [(run_id, "START"), (run_id, "COMPLETE")]


@pytest.mark.parametrize("sender_class", SENDERS)
def test_a_hung_backend_gets_its_events_spooled_within_the_deadline(tmp_path, sender_class):
    spool = new_spool(tmp_path)
    backend = SwitchableBackend(tmp_path / "backend", mode="hang")
    run_id = str(uuid.uuid4())
    sender = _sender(sender_class, backend, spool)
    started = time.monotonic()
    deadline = FixedDeadline(2)
    sender.submit(run_event("START", run_id))
    sender.submit(run_event("RUNNING", run_id), essential=False)
    sender.submit(run_event("COMPLETE", run_id))
    assert not sender.close(deadline)
    sender.abandon(deadline)
    took = time.monotonic() - started
    assert took <= 2 + MARGIN, took
    # START and the terminal event are written first: when time runs short, extras are what is lost.
    assert _kinds(spool) == [(run_id, "START"), (run_id, "COMPLETE"), (run_id, "RUNNING")]
    assert sender.spooled == 3
    assert sender.pending in (0, 1)
    backend.set("ok")
    assert replay(spool, backend.client, FixedDeadline(10)).sent == 3


@pytest.mark.parametrize("sender_class", SENDERS)
def test_after_a_spooled_start_the_terminal_event_waits_behind_it(tmp_path, sender_class):
    """The backend recovers between START and COMPLETE: COMPLETE must not overtake the spooled START."""
    spool = new_spool(tmp_path)
    backend = SwitchableBackend(tmp_path / "backend", mode="fail")
    run_id = str(uuid.uuid4())
    sender = _sender(sender_class, backend, spool)
    sender.submit(run_event("START", run_id))
    assert sender.flush(FixedDeadline(10))
    backend.set("ok")
    sender.submit(run_event("COMPLETE", run_id))
    assert sender.close(FixedDeadline(10))
    # COMPLETE is spooled behind START, never sent first. A fork child that sent nothing yet replays
    # both itself; a thread whose last send failed leaves them to the next replay.
    replay(spool, backend.client, FixedDeadline(10))
    assert [(r, s) for r, s, _ in backend.received()] == [(run_id, "START"), (run_id, "COMPLETE")]
    assert spool.entries() == []


@pytest.mark.parametrize("sender_class", SENDERS)
def test_a_healthy_task_sender_replays_a_few_spooled_events_after_its_own(tmp_path, sender_class):
    spool = new_spool(tmp_path)
    for _ in range(25):
        spool.write(run_event("COMPLETE"), "earlier outage")
    backend = SwitchableBackend(tmp_path / "backend")
    sender = _sender(sender_class, backend, spool)
    sender.submit(run_event("START"))
    assert sender.close(FixedDeadline(10))
    received = backend.received()
    assert received[0][1] == "START"
    assert len(received) == 1 + 10  # its share of the backlog: TASK_REPLAY_MAX_FILES
    assert len(spool.entries()) == 15


@pytest.mark.parametrize("sender_class", [ThreadSender])  # a fork child takes them through its pipe
def test_a_full_queue_spools_extras_instead_of_dropping_them(tmp_path, sender_class):
    spool = new_spool(tmp_path)
    backend = SwitchableBackend(tmp_path / "backend", mode="hang")
    sender = _sender(sender_class, backend, spool, max_queue_size=3)
    run_id = str(uuid.uuid4())
    sender.submit(run_event("START", run_id))
    assert wait_until((tmp_path / "backend" / "entered").exists)  # START is in flight (hung)
    for _ in range(6):
        sender.submit(run_event("RUNNING", run_id), essential=False)
    assert sender.dropped == 0
    assert sender.spooled >= 3
    sender.abandon(FixedDeadline(1))


@pytest.mark.parametrize("sender_class", SENDERS)
def test_without_a_spool_nothing_is_written_and_failures_count_as_before(tmp_path, sender_class):
    backend = SwitchableBackend(tmp_path / "backend", mode="fail")
    sender = sender_class(backend.client)
    sender.submit(run_event("START"))
    sender.close(FixedDeadline(10))
    assert (sender.sent, sender.spooled, sender.failed) == (0, 0, 1)


@pytest.mark.parametrize("sender_class", SENDERS)
def test_the_summary_line_says_what_was_spooled(tmp_path, sender_class):
    spool = new_spool(tmp_path)
    backend = SwitchableBackend(tmp_path / "backend", mode="fail")
    emission = AttemptEmission(_sender(sender_class, backend, spool), AttemptDeadline(5, 20))
    run_id = str(uuid.uuid4())
    emission.send_start(emission.build_start(lambda: run_event("START", run_id)))
    event = emission.build_terminal("COMPLETE", lambda: run_event("COMPLETE", run_id), None)
    emission.send_terminal(event, "COMPLETE")
    assert "0 of 2 events sent, 2 spooled for later delivery" in emission.summary()


class _CountedRedaction:
    """A deferred redaction that counts its calls and can be held."""

    def __init__(
        self,
        state: str,
        run_id: str,
        hold: threading.Event | None = None,
        over: threading.Event | None = None,
    ) -> None:
        self.state, self.run_id, self.hold, self.over = state, run_id, hold, over
        self.calls = 0
        self.calls_when_over = 0

    def __call__(self):
        self.calls += 1
        self.calls_when_over += self.over is not None and self.over.is_set()
        if self.hold is not None:
            self.hold.wait(30)
        return run_event(self.state, self.run_id)


@pytest.mark.parametrize("sender_class", SENDERS)
def test_nothing_is_redacted_once_the_deadline_has_passed(tmp_path, sender_class):
    """Defect 3: abandon finishes queued payloads only while the deadline lasts."""
    spool = new_spool(tmp_path)
    backend = SwitchableBackend(tmp_path / "backend", mode="hang")
    run_id = str(uuid.uuid4())
    sender = _sender(sender_class, backend, spool)
    sender.submit(run_event("START", run_id))
    over = threading.Event()
    queued = [_CountedRedaction("RUNNING", run_id, over=over) for _ in range(50)]
    for payload in queued:
        sender.submit(payload, essential=False)
    assert not sender.close(FixedDeadline(0.3))
    over.set()
    sender.abandon(FixedDeadline(0))  # already over
    assert sum(payload.calls_when_over for payload in queued) == 0


@pytest.mark.parametrize("sender_class", SENDERS)
def test_a_masker_held_at_abandon_does_not_hold_the_task(tmp_path, sender_class):
    spool = new_spool(tmp_path)
    backend = SwitchableBackend(tmp_path / "backend", mode="hang")
    run_id = str(uuid.uuid4())
    sender = _sender(sender_class, backend, spool)
    sender.submit(run_event("START", run_id))
    hold = threading.Event()
    sender.submit(_CountedRedaction("COMPLETE", run_id, hold))
    deadline = FixedDeadline(1.0)
    returned = threading.Event()

    def close_and_abandon():
        if not sender.close(deadline):
            sender.abandon(deadline)
        returned.set()

    threading.Thread(target=close_and_abandon, daemon=True).start()
    try:
        assert returned.wait(6)  # the deadline's end, not the masker's 30 s
    finally:
        hold.set()


@pytest.mark.parametrize("sender_class", SENDERS)
def test_a_hung_backlog_replay_never_holds_the_task(tmp_path, sender_class):
    """Defect 5: the task waits for its own events; other runs' backlog gets a bounded share, hard."""
    spool = new_spool(tmp_path)
    spool.write(run_event("START", str(uuid.uuid4()), job="backlog"), "test backlog")
    backend = SwitchableBackend(tmp_path / "backend", mode="hang-backlog")
    run_id = str(uuid.uuid4())
    sender = _sender(sender_class, backend, spool)
    sender.submit(run_event("START", run_id))
    sender.submit(run_event("COMPLETE", run_id))
    outcome: list[bool] = []
    returned = threading.Event()

    def close():
        outcome.append(sender.close(FixedDeadline(60)))
        returned.set()

    threading.Thread(target=close, daemon=True).start()
    assert returned.wait(10)  # not the 60 s deadline: the replay send hangs, the task does not wait
    assert outcome == [True]
    assert [(r, s) for r, s, _ in backend.received()] == [(run_id, "START"), (run_id, "COMPLETE")]
    sender.abandon(FixedDeadline(1))
