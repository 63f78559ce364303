"""Fork sender specifics: one fed child per attempt, killed and reaped, no inherited channel."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time

import pytest
from hang import hang
from sender_support import FileClient, _event, _lines, _open_fds, wait_until

from airflow.providers.openlineage.emission import fork_child, fork_sender, reaping
from airflow.providers.openlineage.emission.deadline import FixedDeadline
from airflow.providers.openlineage.emission.fork_sender import ForkSender


def test_what_is_pending_goes_out_in_one_child(tmp_path):
    out = tmp_path / "events"
    sender = ForkSender(lambda: FileClient(out, delay=0.3))
    sender.submit(_event("START"))  # forked at once
    for i in range(50):
        sender.submit(_event(f"query-{i}"), essential=False)
    sender.submit(_event("COMPLETE"))
    assert sender.close(FixedDeadline(60))
    records = _lines(out)
    assert [r["name"] for r in records] == ["START", *[f"query-{i}" for i in range(50)], "COMPLETE"]
    assert sender.forks == 1  # START's child stayed and was fed the rest through its pipe
    assert len({r["pid"] for r in records}) == 1
    assert (sender.sent, sender.failed, sender.pending) == (52, 0, 0)


def test_fork_child_is_killed_and_reaped_within_the_deadline(tmp_path):
    sender = ForkSender(lambda: FileClient(tmp_path / "never", delay=3600))
    sender.submit(_event("START"))
    pids = sender.child_pids()
    assert len(pids) == 1
    deadline = FixedDeadline(0.7)
    assert not sender.flush(deadline)
    sender.abandon(deadline)
    with pytest.raises(ChildProcessError):
        os.waitpid(pids[0], os.WNOHANG)  # already reaped: no zombie
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)


def test_fork_child_inherits_no_channel(tmp_path):
    parent_end, child_end = socket.socketpair()  # stands in for the supervisor socket
    out = tmp_path / "events"
    try:
        sender = ForkSender(lambda: FileClient(out))
        sender.submit(_event("START"))
        assert sender.close(FixedDeadline(10))
        assert any(target.startswith("socket:") for target in _open_fds())
    finally:
        parent_end.close()
        child_end.close()
    (record,) = _lines(out)
    assert record["pid"] != os.getpid()
    assert not [target for target in record["fds"] if target.startswith("socket:")]
    assert sum(target == "/dev/null" for target in record["fds"]) >= 3  # stdio


def _in_child(func) -> tuple[int, str]:
    """Run ``func`` in a forked child; return its exit code and what it wrote."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        code = 3
        try:
            result = func(write_fd)
            os.write(write_fd, json.dumps(result).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read_fd) as stream:
        return os.waitstatus_to_exitcode(status), stream.read()


def test_closing_fds_does_not_loop_to_a_huge_descriptor_limit(monkeypatch):
    """Under a 1M open-files limit, closing must not make a million close() calls."""
    monkeypatch.setattr(os, "sysconf", lambda name: 1 << 30)  # the fallback would take minutes
    calls = []
    real_close = os.close
    monkeypatch.setattr(os, "close", lambda fd: (calls.append(fd), real_close(fd)))
    sockets = socket.socketpair()

    def close_all(keep_fd):
        started = time.monotonic()
        fork_child.close_inherited_fds(keep_fd)
        seconds = time.monotonic() - started
        left = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
        return {"seconds": seconds, "calls": len(calls), "left": left, "kept": keep_fd}

    code, output = _in_child(close_all)
    for s in sockets:
        s.close()
    assert code == 0, output
    result = json.loads(output)
    assert result["seconds"] < 1.0
    assert result["calls"] < 200  # one per open descriptor, not per possible one
    # stdio, the kept pipe, and at most listdir's own descriptor (open while it lists)
    assert len(set(result["left"]) - {0, 1, 2, result["kept"]}) <= 1
    assert all(fd in result["left"] for fd in (0, 1, 2, result["kept"]))


def test_a_child_whose_parent_already_died_exits_at_once():
    code, _ = _in_child(lambda fd: fork_child._die_with_parent(parent_pid=os.getppid() + 999_999))
    assert code == 2


def test_an_event_that_cannot_be_pickled_goes_out_by_a_new_child_in_order(tmp_path):
    out = tmp_path / "events"
    sender = ForkSender(lambda: FileClient(out, delay=0.1))
    sender.submit(_event("START"))
    sender.submit(_event("query-0"), essential=False)  # fed to START's child
    unpicklable = _event("query-1")
    unpicklable["callback"] = lambda: None  # a lambda cannot be pickled: this one is sent by fork
    sender.submit(unpicklable, essential=False)
    sender.submit(_event("COMPLETE"))  # queued behind it, not fed to the first child
    assert sender.close(FixedDeadline(20))
    records = _lines(out)
    assert [r["name"] for r in records] == ["START", "query-0", "query-1", "COMPLETE"]
    assert sender.forks == 2
    assert records[0]["pid"] == records[1]["pid"] != records[2]["pid"] == records[3]["pid"]
    assert (sender.sent, sender.failed) == (4, 0)


def test_a_process_the_task_forks_does_not_keep_the_child_waiting(tmp_path):
    """A fork of the task runner holds the feed pipe open too: the child ends on the end frame, not EOF."""
    out = tmp_path / "events"
    sender = ForkSender(lambda: FileClient(out))
    sender.submit(_event("START"))
    grandchild = os.fork()
    if grandchild == 0:  # the task's own forked worker, holding every descriptor for a while
        time.sleep(5)
        os._exit(0)
    try:
        sender.submit(_event("COMPLETE"))
        started = time.monotonic()
        assert sender.close(FixedDeadline(4))
        assert time.monotonic() - started < 2
        assert [r["name"] for r in _lines(out)] == ["START", "COMPLETE"]
    finally:
        os.kill(grandchild, 9)
        os.waitpid(grandchild, 0)


def test_an_abandoned_child_still_counts_what_it_delivered(tmp_path):
    out = tmp_path / "events"
    gate = tmp_path / "gate"

    class StuckAfterStart:
        def emit(self, event):
            if event["name"] != "START":
                while not gate.exists():
                    time.sleep(0.01)
            FileClient(out).emit(event)

    sender = ForkSender(lambda: StuckAfterStart())
    sender.submit(_event("START"))
    assert wait_until(lambda: [r["name"] for r in _lines(out)] == ["START"])
    sender.submit(_event("COMPLETE"))
    deadline = FixedDeadline(1.0)
    assert not sender.close(deadline)
    assert sender.pending == 1  # START was delivered; only COMPLETE is outstanding
    sender.abandon(deadline)
    assert (sender.sent, [r["name"] for r in _lines(out)]) == (1, ["START"])


@pytest.mark.skipif(
    sys.version_info < (3, 12), reason="os.fork() warns in threaded processes from Python 3.12 on"
)
def test_forking_a_threaded_process_warns_for_other_forks_only(tmp_path):
    import threading
    import warnings

    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DeprecationWarning)
            sender = ForkSender(lambda: FileClient(tmp_path / "events"))
            sender.submit(_event("START"))
            assert sender.close(FixedDeadline(10))
            ours = [w for w in caught if "fork()" in str(w.message)]
            pid = os.fork()  # a fork of someone else's: still warned about
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
    finally:
        stop.set()
    assert ours == []
    assert [w.filename for w in caught if "fork()" in str(w.message)] == [__file__]


def test_close_returns_once_the_child_reported_not_when_it_exits(tmp_path, monkeypatch):
    # A child whose exit is slow (tearing down a copy of a large runner): the sender returns when the
    # child says its work is done, and the exit is reaped later, by ``reap``, with nothing left over.
    real_exit = os._exit

    def slow_exit(code: int) -> None:
        time.sleep(2)
        real_exit(code)

    monkeypatch.setattr(os, "_exit", slow_exit)  # inherited by the child; the test process never calls it
    out = tmp_path / "events"
    sender = ForkSender(lambda: FileClient(out))
    sender.submit(_event("START"))
    sender.submit(_event("COMPLETE"))
    began = time.monotonic()
    assert sender.close(FixedDeadline(10))
    assert time.monotonic() - began < 1.5
    assert (sender.sent, sender.failed, sender.pending) == (2, 0, 0)
    assert [r["name"] for r in _lines(out)] == ["START", "COMPLETE"]
    (pid,) = sender.child_pids()  # still exiting: it is still ours to reap
    os.kill(pid, 0)
    sender.reap(FixedDeadline(5))
    assert sender.child_pids() == []
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_reap_kills_a_child_that_does_not_exit_in_time(tmp_path, monkeypatch):
    real_exit = os._exit

    def stuck_exit(code: int) -> None:
        hang(3600)
        real_exit(code)

    monkeypatch.setattr(os, "_exit", stuck_exit)
    sender = ForkSender(lambda: FileClient(tmp_path / "events"))
    sender.submit(_event("START"))
    assert sender.close(FixedDeadline(10))
    (pid,) = sender.child_pids()
    began = time.monotonic()
    sender.reap(FixedDeadline(0.3))
    assert time.monotonic() - began < 2.0  # the deadline, then SIGKILL and a bounded reap
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


class _SlowRedaction:
    """A deferred redaction (the payload senders finish) whose masker is held until released."""

    def __init__(self, name: str, release: threading.Event, hold: float = 3.0) -> None:
        self.name = name
        self.release = release
        self.hold = hold
        self.released_in_time: bool | None = None

    def __call__(self):
        self.released_in_time = self.release.wait(self.hold)
        return _event(self.name)


def test_a_slow_masker_never_holds_the_main_thread_once_the_child_runs(tmp_path):
    """Defect 2: an event for the running child is redacted and pickled off the submitting thread."""
    out = tmp_path / "events"
    sender = ForkSender(lambda: FileClient(out))
    sender.submit(_event("START"))
    release = threading.Event()
    slow = _SlowRedaction("COMPLETE", release)
    sender.submit(slow)  # returns before the masker is released...
    release.set()
    assert sender.close(FixedDeadline(30))
    assert slow.released_in_time  # ...which the masker saw: it ran on another thread
    assert [r["name"] for r in _lines(out)] == ["START", "COMPLETE"]
    assert sender.forks == 1


def test_a_masker_slower_than_the_deadline_is_left_behind(tmp_path):
    out = tmp_path / "events"
    sender = ForkSender(lambda: FileClient(out))
    sender.submit(_event("START"))
    release = threading.Event()
    sender.submit(_SlowRedaction("COMPLETE", release, hold=30))
    deadline = FixedDeadline(1.5)  # a kill grace (0.5 s) is kept in reserve
    returned = threading.Event()

    def close_and_abandon():
        if not sender.close(deadline):
            sender.abandon(deadline)
        returned.set()

    worker = threading.Thread(target=close_and_abandon, daemon=True)
    worker.start()
    assert returned.wait(5)  # bounded by the deadline, not by the masker (held for 30 s)
    release.set()
    assert [r["name"] for r in _lines(out)] == ["START"]
    assert sender.child_pids() == []


def test_the_preparer_ends_with_the_sender(tmp_path):
    """One attempt after another in one process (``dags test``): no thread or pipe is left per attempt."""
    fds_before = len(_open_fds())
    for _ in range(3):
        sender = ForkSender(lambda: FileClient(tmp_path / "events"))
        sender.submit(_event("START"))
        sender.submit(_event("COMPLETE"))
        assert sender.close(FixedDeadline(30))
    for thread in threading.enumerate():
        if thread.name == "openlineage-fork-preparer":
            thread.join(5)
            assert not thread.is_alive()
    assert len(_open_fds()) <= fds_before
    assert [r["name"] for r in _lines(tmp_path / "events")] == ["START", "COMPLETE"] * 3


def test_forking_leaves_the_process_warning_filters_as_they_were(tmp_path):
    """Defect 8: the fork warning is silenced for our fork only, not by a filter left in the process."""
    import warnings

    before = list(warnings.filters)
    sender = ForkSender(lambda: FileClient(tmp_path / "events"))
    sender.submit(_event("START"))
    assert sender.close(FixedDeadline(30))
    assert warnings.filters == before


def test_the_reap_after_sigkill_is_charged_to_the_deadline(tmp_path, monkeypatch):
    """Defect 10: terminating a child waits no longer than the deadline has left (plus a small floor)."""
    sender = ForkSender(lambda: FileClient(tmp_path / "never", delay=3600))
    sender.submit(_event("START"))
    (pid,) = sender.child_pids()
    wait_ends: list[float] = []  # when each wait would end at the latest (the fake never reaps)
    monkeypatch.setattr(
        reaping,
        "reaped_within",
        lambda pid, seconds: wait_ends.append(time.monotonic() + seconds) or False,
    )
    deadline_end = time.monotonic() + 0.3
    sender.abandon(FixedDeadline(0.3))
    monkeypatch.undo()
    assert wait_ends
    assert max(wait_ends) <= deadline_end + fork_sender.REAP_FLOOR_SECONDS
    os.kill(pid, 9)
    os.waitpid(pid, 0)  # the test's own clean-up: the child was never reaped by the patched sender
