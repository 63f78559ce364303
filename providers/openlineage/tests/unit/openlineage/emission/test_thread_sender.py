"""Thread sender specifics: the client is closed on the sender thread, and a forked child starts empty."""

from __future__ import annotations

import os
import threading

from sender_support import FileClient, _event, _lines

from airflow.providers.openlineage.emission.deadline import FixedDeadline
from airflow.providers.openlineage.emission.thread_sender import ThreadSender


def test_the_client_is_closed_on_the_sender_thread(tmp_path):
    closed_on = []

    class Client(FileClient):
        def close(self, timeout):
            closed_on.append(threading.current_thread().name)
            return True

    sender = ThreadSender(lambda: Client(tmp_path / "events"), name="ol-test-sender")
    sender.submit(_event("START"))
    assert sender.close(FixedDeadline(5))
    assert closed_on == ["ol-test-sender"]


def test_closing_a_sender_that_never_sent_starts_no_thread():
    sender = ThreadSender(lambda: FileClient("/nonexistent"))
    assert sender.close(FixedDeadline(1))
    assert sender._thread is None


def test_a_forked_child_gets_an_empty_sender(tmp_path):
    """The parent's queue, lock and thread do not exist in a child (LocalExecutor forks workers)."""
    gate = threading.Event()

    class Blocking:
        def emit(self, event):
            gate.wait(10)

    sender = ThreadSender(lambda: Blocking())
    sender.submit(_event("IN_PARENT"))
    sender.submit(_event("QUEUED_IN_PARENT"))
    out = tmp_path / "child-events"
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            sender._client_factory = lambda: FileClient(out)
            fresh = sender.pending == 0 and not sender.is_alive()
            sender.submit(_event("IN_CHILD"))
            code = 0 if fresh and sender.close(FixedDeadline(5)) else 1
        finally:
            os._exit(code)
    os.close(write_fd)
    os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    gate.set()
    assert os.waitstatus_to_exitcode(status) == 0
    assert [e["name"] for e in _lines(out)] == ["IN_CHILD"]
    assert sender.flush(FixedDeadline(5))  # the parent's own sender is untouched
