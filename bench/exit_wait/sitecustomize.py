"""
Loaded by bench/supervisor_exit_wait.py in every Airflow process it starts (via PYTHONPATH).

Wraps the Task SDK supervisor's ``_service_subprocess`` to record, per task runner, when its sockets
reached EOF and whether the runner was already reapable then; one line per runner in
``$OL_EXIT_WAIT_DIR/<supervisor pid>-<runner pid>.log``. Read-only: it changes no behaviour.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
import time

_TARGET = "airflow.sdk.execution_time.supervisor"
_OUT = os.environ.get("OL_EXIT_WAIT_DIR", "")


_MISSED: set[int] = set()  # runner pids whose exit was not reapable when their last socket closed


def _record(runner_pid: int, line: str) -> None:
    with open(os.path.join(_OUT, f"{os.getpid()}-{runner_pid}.log"), "a") as out:
        out.write(line + "\n")


def _patch(module) -> None:
    cls = module.ActivitySubprocess
    original = cls._service_subprocess

    def service(self, max_wait_time, *args, **kwargs):
        before = len(self._open_sockets)
        started = time.monotonic()
        exit_code = original(self, max_wait_time, *args, **kwargs)
        took = time.monotonic() - started
        after = len(self._open_sockets)
        if not before and exit_code is not None and self.pid in _MISSED:
            _MISSED.discard(self.pid)
            _record(self.pid, f"slept {took:.3f}")
        if before and not after:
            if exit_code is None:
                _MISSED.add(self.pid)
            _record(self.pid, "reapable at eof" if exit_code is not None else "not reapable at eof")
        return exit_code

    cls._service_subprocess = service


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != _TARGET:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        load = spec.loader.exec_module

        def exec_module(module) -> None:
            load(module)
            _patch(module)

        spec.loader.exec_module = exec_module
        return spec


if _OUT:
    sys.meta_path.insert(0, _Finder())
