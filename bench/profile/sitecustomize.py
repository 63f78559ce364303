"""
Profile the lineage work of task runners: only the listener's task hooks and the threads they start.

Active only when ``OL_PROFILE_DIR`` is set; ``bench/profile_hooks.py`` puts this directory on the
``PYTHONPATH`` of the Airflow processes it starts. In every forked process (a task runner is forked by
the supervisor and ends with ``os._exit``) the pluggy hook call for ``on_task_instance_*`` and
``before_stopping`` runs under ``cProfile``; threads started while a hook runs get a profiler of their
own. At ``os._exit`` a process that ran a hook writes ``<pid>.main.prof`` (main thread, wall time
inside the hooks), ``<pid>.threads.prof`` (the hook-started threads) and ``<pid>.json`` (hook wall
times). A process forked from inside a hook (a lineage child) is profiled whole: ``<pid>.child.prof``.
Nothing here runs in a normal Airflow process.
"""

from __future__ import annotations

import json
import os
import time

_DIR = os.environ.get("OL_PROFILE_DIR")
_HOOKS = (
    "on_task_instance_running",
    "on_task_instance_success",
    "on_task_instance_failed",
    "before_stopping",
)
_state = {"in_hook": False}
_REAL_EXIT = os._exit


def _dump(profiles: list, path: str) -> None:
    import pstats

    if not profiles:
        return
    stats = pstats.Stats(profiles[0])
    for extra in profiles[1:]:
        stats.add(extra)
    stats.dump_stats(path)


def _profile_task_runner() -> None:
    import cProfile
    import sys
    import threading

    import pluggy._hooks as hooks

    forked_at = time.perf_counter()
    inherited = sorted(m for m in sys.modules if m.split(".")[0] == "openlineage" or ".openlineage" in m)
    main = cProfile.Profile()
    thread_profiles: list[cProfile.Profile] = []
    hook_seconds: list[tuple[str, float]] = []

    def start_thread_profile(*_args: object) -> None:
        profile = cProfile.Profile()
        thread_profiles.append(profile)
        profile.enable()

    real_call = hooks.HookCaller.__call__

    before_hooks: set[str] = set()

    def profiled_call(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.name not in _HOOKS:
            return real_call(self, *args, **kwargs)
        if not hook_seconds:
            before_hooks.update(sys.modules)
        began = time.perf_counter()
        _state["in_hook"] = True
        threading.setprofile(start_thread_profile)
        main.enable()
        try:
            return real_call(self, *args, **kwargs)
        finally:
            main.disable()
            threading.setprofile(None)
            _state["in_hook"] = False
            hook_seconds.append((self.name, time.perf_counter() - began))

    hooks.HookCaller.__call__ = profiled_call
    real_exit = os._exit

    def exit_with_stats(code: int) -> None:
        try:
            if hook_seconds:
                pid = os.getpid()
                _dump([main], os.path.join(_DIR, f"{pid}.main.prof"))
                _dump(thread_profiles, os.path.join(_DIR, f"{pid}.threads.prof"))
                with open(os.path.join(_DIR, f"{pid}.json"), "w") as f:
                    json.dump(
                        {
                            "hooks": hook_seconds,
                            "threads": len(thread_profiles),
                            "inherited_modules": len(inherited),
                            "lineage_modules_at_exit": sum(
                                1
                                for m in sys.modules
                                if m.split(".")[0] == "openlineage" or ".openlineage" in m
                            ),
                            "seconds_alive": time.perf_counter() - forked_at,
                            "imported_in_hooks": sorted(set(sys.modules) - before_hooks),
                        },
                        f,
                    )
        finally:
            real_exit(code)

    os._exit = exit_with_stats


def _profile_lineage_child() -> None:
    import cProfile
    import sys

    profile = cProfile.Profile()
    at_fork = set(sys.modules)

    def exit_with_stats(code: int) -> None:
        try:
            profile.disable()
            profile.dump_stats(os.path.join(_DIR, f"{os.getpid()}.child.prof"))
            with open(os.path.join(_DIR, f"{os.getpid()}.child-imports.txt"), "w") as f:
                f.write("\n".join(sorted(set(sys.modules) - at_fork)))
        finally:
            _REAL_EXIT(code)

    os._exit = exit_with_stats
    profile.enable()


def _after_fork() -> None:
    if _state["in_hook"]:
        _profile_lineage_child()
    else:
        _profile_task_runner()


if _DIR:
    os.register_at_fork(after_in_child=_after_fork)
