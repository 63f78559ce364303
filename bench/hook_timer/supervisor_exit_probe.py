"""
Read-only probe of Airflow's supervisor exit race, imported by this folder's ``sitecustomize``.

The Task SDK supervisor loops on ``select()`` over the runner's sockets. When the last socket reaches
EOF while the runner is not yet reapable (the kernel closes the descriptors a moment before the exit
becomes visible to ``waitpid``), its next ``select()`` has nothing to watch and sleeps for the rest of
``[workers] min_heartbeat_interval`` before it notices the exit: an Airflow race, with or without
lineage. This wraps the supervisor's ``_service_subprocess`` and writes, per task runner, whether it
was reapable at EOF and how long the supervisor slept after, to
``$OL_EXIT_WAIT_DIR/<task instance id>.log`` (lines ``reapable at eof`` / ``not reapable at eof`` /
``slept <seconds>``). It changes no behaviour.
"""

from __future__ import annotations

import os
import time
from types import ModuleType

from after_import import patch_after_import

_TARGET = "airflow.sdk.execution_time.supervisor"
_OUT = os.environ.get("OL_EXIT_WAIT_DIR", "")

_MISSED: set[int] = set()  # runner pids whose exit was not reapable when their last socket closed


def _record(workload_id: object, line: str) -> None:
    with open(os.path.join(_OUT, f"{workload_id}.log"), "a") as out:
        out.write(line + "\n")


def _patch(module: ModuleType) -> None:
    cls = module.WatchedSubprocess
    original = cls._service_subprocess

    def service(self, max_wait_time, *args, **kwargs):  # type: ignore[no-untyped-def]
        before = len(self._open_sockets)
        started = time.monotonic()
        exit_code = original(self, max_wait_time, *args, **kwargs)
        took = time.monotonic() - started
        after = len(self._open_sockets)
        if not before and exit_code is not None and self.pid in _MISSED:
            _MISSED.discard(self.pid)
            _record(self.id, f"slept {took:.4f}")
        if before and not after:
            if exit_code is None:
                _MISSED.add(self.pid)
            _record(self.id, "reapable at eof" if exit_code is not None else "not reapable at eof")
        return exit_code

    cls._service_subprocess = service


def install() -> None:
    if _OUT:
        patch_after_import([_TARGET], _patch)


def exit_race_sleeps(directory: str | os.PathLike[str]) -> dict[str, float]:
    """Per task instance id: seconds the supervisor slept after missing its runner's exit (0 if none)."""
    from pathlib import Path

    sleeps = {}
    for path in Path(directory).glob("*.log"):
        lines = path.read_text().splitlines()
        sleeps[path.stem] = sum(float(line.split()[1]) for line in lines if line.startswith("slept "))
    return sleeps
