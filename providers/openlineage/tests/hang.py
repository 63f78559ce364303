"""
Simulated hangs that end with their test: a hung client or extraction never outlives the test it
belongs to (an autouse fixture in conftest releases them all at teardown).
"""

from __future__ import annotations

import threading

RELEASE = threading.Event()


def hang(seconds: float) -> None:
    """Block for ``seconds``, or until the running test ends."""
    RELEASE.wait(seconds)
