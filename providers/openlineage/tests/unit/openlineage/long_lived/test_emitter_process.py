"""The helper-process channel: ordered, never blocking the caller, bounded at shutdown, restarted."""

from __future__ import annotations

import io
import sys
import time

import pytest

from airflow.providers.openlineage.long_lived import emitter_process
from airflow.providers.openlineage.long_lived.emitter_process import (
    EmitterProcess,
    encode_message,
    read_message,
)

# A helper that writes each message it reads to a file, one repr per line, and exits at end of input.
_RECORDER = """
import sys
from airflow.providers.openlineage.long_lived.emitter_process import read_message
limit = int(sys.argv[2])
with open(sys.argv[1], "a") as out:
    for _ in range(limit):
        try:
            message = read_message(sys.stdin.buffer)
        except EOFError:
            break
        out.write(repr(message) + "\\n")
        out.flush()
sys.exit(0 if limit > 1000 else 3)
"""


def _recorder(path, limit: int = 10**6) -> list[str]:
    return [sys.executable, "-c", _RECORDER, str(path), str(limit)]


def test_a_message_survives_the_frame_round_trip():
    stream = io.BytesIO(encode_message(("START", {"conf": {"a": [1]}}, None)) + encode_message("second"))
    assert read_message(stream) == ("START", {"conf": {"a": [1]}}, None)
    assert read_message(stream) == "second"
    with pytest.raises(EOFError):
        read_message(stream)


def test_messages_reach_the_helper_in_order_and_it_exits_when_the_pipe_closes(tmp_path):
    out = tmp_path / "seen.txt"
    # The helper imports Airflow before it reads: on a machine busy with the other CI jobs that alone
    # has taken over 20 s. The bound here is generous; the shutdown's own bound is tested below.
    process = EmitterProcess(_recorder(out), max_queue_size=1000, shutdown_timeout=120)
    assert process.start()
    payload = {"dag_id": "d", "conf": {"k": "v"}}
    for i in range(200):
        assert process.submit((i, payload))
    payload["conf"]["k"] = "changed"  # a copy was taken at submit
    process.shutdown()
    assert process._process.returncode == 0  # it exited by itself when the pipe closed, not killed
    assert out.read_text().splitlines() == [
        repr((i, {"dag_id": "d", "conf": {"k": "v"}})) for i in range(200)
    ]
    assert (process.submitted, process.dropped, process.lost) == (200, 0, 0)
    assert not process.submit("after shutdown")


def test_a_helper_that_stops_reading_never_blocks_the_caller_and_is_killed_at_the_deadline():
    stuck = [sys.executable, "-c", "import time; time.sleep(600)"]
    process = EmitterProcess(stuck, max_queue_size=10, shutdown_timeout=1.0)
    assert process.start()
    big = "x" * 100_000  # a few of these fill the pipe: the feeding thread blocks, the caller must not
    slowest = 0.0
    for i in range(50):
        began = time.monotonic()
        process.submit((i, big))
        slowest = max(slowest, time.monotonic() - began)
    assert slowest < 0.5
    assert process.dropped >= 30  # the queue holds 10; the pipe a few
    child = process._process
    began = time.monotonic()
    process.shutdown()
    assert time.monotonic() - began < 3.0
    assert child.returncode is not None
    assert child.returncode < 0


def _wait_for(predicate, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_a_helper_that_died_is_started_again(tmp_path, monkeypatch):
    monkeypatch.setattr(emitter_process, "RESTART_INTERVAL", 0.0)
    out = tmp_path / "seen.txt"
    process = EmitterProcess(_recorder(out, limit=2), max_queue_size=1000, shutdown_timeout=20)
    assert process.start()
    first = process._process
    process.submit(0)
    process.submit(1)
    _wait_for(lambda: first.poll() is not None)  # it took two and exited
    process.submit(2)  # finds the pipe broken: lost, and a new helper is started
    _wait_for(lambda: process.starts == 2)
    process.submit(3)
    process.submit(4)
    process.shutdown()
    assert [int(line) for line in out.read_text().splitlines()] == [0, 1, 3, 4]
    assert process.lost == 1


class _Unreapable:
    """A helper that outlives SIGKILL (uninterruptible I/O): an unbounded wait on it never returns."""

    pid = 424242
    stdin = None

    def __init__(self) -> None:
        import threading

        self.killed = False
        self.forever = threading.Event()

    def wait(self, timeout=None):
        import subprocess

        if timeout is None:
            self.forever.wait(30)  # stands in for "never"
        raise subprocess.TimeoutExpired("helper", timeout)

    def poll(self):
        return None

    def kill(self):
        self.killed = True


@pytest.mark.parametrize("action", ["shutdown", "_restart"])
def test_shutdown_and_restart_never_wait_unbounded_on_a_killed_helper(action):
    """Defect 10: after SIGKILL the reap is bounded too."""
    import threading

    channel = EmitterProcess(["true"], max_queue_size=10, shutdown_timeout=0.2)
    helper = _Unreapable()
    channel._process = helper
    channel._closing = action == "_restart"  # no new helper is spawned after the restart's reap
    done = threading.Event()
    threading.Thread(target=lambda: (getattr(channel, action)(), done.set()), daemon=True).start()
    try:
        assert done.wait(10)
        assert helper.killed
    finally:
        helper.forever.set()
