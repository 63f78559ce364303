"""Test helpers shared by the sender tests: a file-backed client and plain events."""

from __future__ import annotations

import json
import os

from hang import hang


class FileClient:
    """A client that appends each event's name to a file, optionally slowly or forever."""

    def __init__(self, path, delay=0.0):
        self.path = path
        self.delay = delay

    def emit(self, event):
        hang(self.delay)
        with open(self.path, "a") as out:
            out.write(json.dumps({"name": event["name"], "pid": os.getpid(), "fds": _open_fds()}) + "\n")


def _open_fds() -> list[str]:
    """What each open descriptor points at (``socket:[...]``, ``pipe:[...]``, a path)."""
    targets = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            targets.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass  # listdir's own descriptor, already closed
    return targets


class Event(dict):
    pass


def _event(name):
    return Event(name=name)


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wait_until(predicate, timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until it holds (a condition to wait for, not a guessed delay)."""
    import time

    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            return False
        time.sleep(0.005)
    return True
