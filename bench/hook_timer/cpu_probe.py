"""
Where a task runner's lineage CPU goes, without a profiler's overhead: imported by this folder's
``sitecustomize`` when ``OL_CPU_PROBE_DIR`` is set.

Wraps a few functions of this provider and adds up the CPU time (``time.thread_time``: the calling
thread's own CPU, waits excluded) each spends, per process; at ``os._exit`` a task runner writes
``$OL_CPU_PROBE_DIR/<pid>.json``. Nested probes are counted in each (``emit`` includes
``redaction``). ``bench/cpu_probe_report.py`` is not needed: ``compare.py`` reads the files.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.util
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

_DIR = os.environ.get("OL_CPU_PROBE_DIR", "")
_seconds: dict[str, float] = {}
_lock = threading.Lock()

# (module, attribute path, label)
_PROBES = [
    ("airflow.providers.openlineage.task_lineage", "TaskLineage.on_running", "main: running hook"),
    ("airflow.providers.openlineage.task_lineage", "TaskLineage.on_terminal", "main: terminal hook"),
    ("airflow.providers.openlineage.task_lineage", "TaskLineage.finish", "main: before_stopping"),
    ("airflow.providers.openlineage.task_lineage", "TaskLineage._build", "build thread: extract + build"),
    ("airflow.providers.openlineage.task_lineage", "TaskLineage._client_factory", "sender: client init"),
    ("airflow.providers.openlineage.redaction", "DeferredRedaction.__call__", "sender: redaction"),
    ("airflow.providers.openlineage.emission.delivery", "send_event", "sender: client.emit"),
    ("openlineage.client.serde", "Serde.to_json", "sender: to_json"),
]
_MODULES = frozenset(module_name for module_name, _, _ in _PROBES)


def _timed(label: str, func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.thread_time()
        try:
            return func(*args, **kwargs)
        finally:
            took = time.thread_time() - began
            with _lock:
                _seconds[label] = _seconds.get(label, 0.0) + took

    return wrapper


def _patch(module: ModuleType) -> None:
    for module_name, path, label in _PROBES:
        if module_name != module.__name__:
            continue
        owner_name, _, attr = path.rpartition(".")
        owner = getattr(module, owner_name) if owner_name else module
        original = owner.__dict__[attr]
        if isinstance(original, (staticmethod, classmethod)):
            wrapped: Any = type(original)(_timed(label, original.__func__))
        else:
            wrapped = _timed(label, original)
        setattr(owner, attr, wrapped)


class _Finder(importlib.abc.MetaPathFinder):
    """Patches each probed module right after it is first executed (before anyone imports from it)."""

    def find_spec(self, name, path, target=None):  # type: ignore[no-untyped-def]
        if name not in _MODULES:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        load = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            load(module)
            _patch(module)

        spec.loader.exec_module = exec_module
        return spec


def install() -> None:
    if not _DIR:
        return
    real_exit = os._exit

    def exit_with_cpu(code: int) -> None:
        try:
            if _seconds:
                with open(os.path.join(_DIR, f"{os.getpid()}.json"), "w") as out:
                    json.dump(_seconds, out)
        finally:
            real_exit(code)

    os._exit = exit_with_cpu
    os.register_at_fork(after_in_child=_seconds.clear)  # a lineage child counts its own
    for module_name in _MODULES:
        if module_name in sys.modules:  # imported before this ran (logging)
            _patch(sys.modules[module_name])
    sys.meta_path.insert(0, _Finder())
