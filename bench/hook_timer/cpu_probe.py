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
import json
import os
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from after_import import patch_after_import

_DIR = os.environ.get("OL_CPU_PROBE_DIR", "")
_seconds: dict[str, float] = {}
_lock = threading.Lock()

# (module, attribute path, label)
_TASK_LINEAGE = "airflow.providers.openlineage.task_runner.task_lineage"
_PROBES = [
    (_TASK_LINEAGE, "TaskLineage.on_running", "main: running hook"),
    (_TASK_LINEAGE, "TaskLineage.on_terminal", "main: terminal hook"),
    (_TASK_LINEAGE, "TaskLineage.finish", "main: before_stopping"),
    (_TASK_LINEAGE, "TaskLineage._build", "build thread: extract + build"),
    (_TASK_LINEAGE, "TaskLineage._client_factory", "sender: client init"),
    ("airflow.providers.openlineage.redact.redaction", "DeferredRedaction.__call__", "sender: redaction"),
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
    patch_after_import(_MODULES, _patch)
