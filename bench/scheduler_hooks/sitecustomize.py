"""
Loaded by ``bench/scheduler_loop.py`` in the Airflow processes it starts (via PYTHONPATH).

Times what DAG-run lineage costs the scheduler, directly rather than through the noisy loop
durations: every ``on_dag_run_*`` listener call on the caller's thread (wall and CPU), and every item
the emitter's thread works on (its CPU: building, redaction, serialisation, sending). One line per
measurement in ``$OL_SCHED_HOOKS_DIR/<pid>.txt``: ``hook <name> <wall ms> <cpu ms>`` or
``emitter <cpu ms> <wall ms>``. Measuring changes no behaviour; only the file write is added, after
the clock stops.
"""

from __future__ import annotations

import cProfile
import os
import sys
import time

_OUT = os.environ.get("OL_SCHED_HOOKS_DIR", "")
_SENDER = "airflow.providers.openlineage.emission.thread_sender"
# With OL_SCHED_PROFILE set, the emitter's work is also profiled (cProfile, that thread only) into
# ``$OL_SCHED_HOOKS_DIR/emitter-<pid>.prof``: where its CPU per event goes.
_PROFILE = cProfile.Profile() if os.environ.get("OL_SCHED_PROFILE") else None
# And the DAG-run hooks on the loop's thread, into ``hooks-<pid>.prof``.
_HOOK_PROFILE = cProfile.Profile() if os.environ.get("OL_SCHED_PROFILE") else None


def _record(line: str) -> None:
    with open(os.path.join(_OUT, f"{os.getpid()}.txt"), "a") as out:
        out.write(line + "\n")


def _patch_hooks() -> None:
    import pluggy._hooks as hooks

    real_call = hooks.HookCaller.__call__

    def timed_call(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not self.name.startswith("on_dag_run_"):
            return real_call(self, *args, **kwargs)
        wall, cpu = time.perf_counter(), time.thread_time()
        if _HOOK_PROFILE is not None:
            _HOOK_PROFILE.enable()
        try:
            return real_call(self, *args, **kwargs)
        finally:
            if _HOOK_PROFILE is not None:
                _HOOK_PROFILE.disable()
            took_cpu, took = time.thread_time() - cpu, time.perf_counter() - wall
            _record(f"hook {self.name} {took * 1000:.4f} {took_cpu * 1000:.4f}")
            if _HOOK_PROFILE is not None:
                _HOOK_PROFILE.dump_stats(os.path.join(_OUT, f"hooks-{os.getpid()}.prof"))

    hooks.HookCaller.__call__ = timed_call


def _patch_sender(module) -> None:
    cls = module.ThreadSender
    real_send = cls._send

    def timed_send(self, payload):  # type: ignore[no-untyped-def]
        wall, cpu = time.perf_counter(), time.thread_time()
        if _PROFILE is not None:
            _PROFILE.enable()
        try:
            return real_send(self, payload)
        finally:
            if _PROFILE is not None:
                _PROFILE.disable()
            took_cpu, took = time.thread_time() - cpu, time.perf_counter() - wall
            _record(f"emitter {took_cpu * 1000:.4f} {took * 1000:.4f}")
            if _PROFILE is not None:
                _PROFILE.dump_stats(os.path.join(_OUT, f"emitter-{os.getpid()}.prof"))

    cls._send = timed_send


# The scheduler, and its DAG-run event helper process (where the emitter's threads run since 2.21.0).
if _OUT and ("scheduler" in sys.argv or "openlineage-dag-run-emitter" in sys.argv):
    _patch_hooks()
    sys.path.insert(
        0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "hook_timer")
    )
    from after_import import patch_after_import

    patch_after_import([_SENDER], _patch_sender)
