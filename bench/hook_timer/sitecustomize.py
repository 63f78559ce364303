"""
Loaded by ``bench/compare.py`` in the Airflow processes it starts (via PYTHONPATH), for every cell.

Times, in each task runner, how long the listener's task hooks hold the main thread
(``on_task_instance_*`` and ``before_stopping``: extraction, building, handing over, and the terminal
wait), with ``perf_counter`` and no profiler. This is the part of the slot time that lineage adds
directly, measured without the noise of process start-up and scheduling that the supervisor's
slot duration carries. At the runner's ``os._exit`` a process that ran a hook writes
``$OL_HOOK_TIMER_DIR/<pid>.json``. A lineage child forked inside a hook writes nothing.
"""

from __future__ import annotations

import json
import os
import threading
import time

_DIR = os.environ.get("OL_HOOK_TIMER_DIR")
_HOOKS = frozenset(
    {
        "on_task_instance_running",
        "on_task_instance_success",
        "on_task_instance_failed",
        "on_task_instance_skipped",
        "before_stopping",
    }
)
_state = {"in_hook": False, "writer": False}
_seconds: dict[str, float] = {}
# Timeline of the runner (perf_counter): forked, first hook entered, last hook left.
_marks: dict[str, float] = {}


def _patch() -> None:
    import pluggy._hooks as hooks

    real_call = hooks.HookCaller.__call__

    def timed_call(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.name not in _HOOKS or threading.current_thread() is not threading.main_thread():
            return real_call(self, *args, **kwargs)
        began = time.perf_counter()
        _marks.setdefault("first_hook", began)
        _state["in_hook"] = True
        try:
            return real_call(self, *args, **kwargs)
        finally:
            _state["in_hook"] = False
            ended = time.perf_counter()
            _seconds[self.name] = _seconds.get(self.name, 0.0) + ended - began
            _marks["last_hook_end"] = ended
            if self.name == "on_task_instance_running":
                _marks["running_end"] = ended
            elif self.name.startswith("on_task_instance_") and "terminal_start" not in _marks:
                _marks["terminal_start"] = began

    hooks.HookCaller.__call__ = timed_call
    real_exit = os._exit

    def exit_with_times(code: int) -> None:
        try:
            if _seconds and _state["writer"]:
                with open(os.path.join(_DIR, f"{os.getpid()}.json"), "w") as out:
                    json.dump({**_seconds, **_phases(time.perf_counter())}, out)
        finally:
            real_exit(code)

    os._exit = exit_with_times


def _phases(exited: float) -> dict[str, float]:
    """Where the runner's life went, outside and between the hooks ("phase:" keys, seconds)."""
    m = _marks
    phases = {}
    if "forked" in m and "first_hook" in m:
        phases["phase:startup"] = m["first_hook"] - m["forked"]
    if "running_end" in m and "terminal_start" in m:
        phases["phase:execute"] = m["terminal_start"] - m["running_end"]
    if "last_hook_end" in m:
        phases["phase:tail"] = exited - m["last_hook_end"]
    return phases


def _after_fork() -> None:
    # A task runner is forked by the supervisor; a lineage child is forked inside a hook.
    _state["writer"] = not _state["in_hook"]
    if _state["writer"]:
        _seconds.clear()
        _marks.clear()
        _marks["forked"] = time.perf_counter()


if _DIR:
    _patch()
    os.register_at_fork(after_in_child=_after_fork)

if os.environ.get("OL_EXIT_WAIT_DIR"):
    import supervisor_exit_probe

    supervisor_exit_probe.install()

if os.environ.get("OL_CPU_PROBE_DIR"):
    import cpu_probe

    cpu_probe.install()
