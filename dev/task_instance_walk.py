"""
How far a task instance travels through the provider: the measure behind the "≤ 8 modules, ≤ 3
returns" bar of the core redesign.

Runs the listener's running hook, then traces its success hook (``on_task_instance_success``) with a
profiler on every thread: each call into the provider's own code whose frame holds the task instance
object (as an argument or a local) is a *stop*. Prints the stops in call order, the modules they are
in, and how often the walk comes back to a module it had left. Thread mode, a local receiver, no
Airflow services: the walk is the code's, not the deployment's.

Usage: python dev/task_instance_walk.py [--json]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
from pathlib import Path
from types import FrameType, SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
PACKAGE = "airflow/providers/openlineage/"
_ENV_KEYS = ("AIRFLOW__OPENLINEAGE__TRANSPORT", "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD")


def _task_instance() -> SimpleNamespace:
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with DAG("walk_dag", schedule=None, start_date=when):
        task = EmptyOperator(task_id="t")
    dag_run = SimpleNamespace(
        dag_id="walk_dag",
        run_id="manual__1",
        conf={},
        logical_date=when,
        clear_number=0,
        data_interval_start=when,
        data_interval_end=when,
        run_type="manual",
        start_date=when,
    )
    return SimpleNamespace(
        dag_id="walk_dag",
        task_id="t",
        run_id="manual__1",
        try_number=1,
        map_index=-1,
        task=task,
        _ti_context_from_server=SimpleNamespace(next_method=None),
        dag_run=dag_run,
        start_date=when,
        end_date=when,
        state="success",
    )


def _module_of(frame: FrameType) -> str | None:
    filename = frame.f_code.co_filename.replace(os.sep, "/")
    at = filename.rfind(PACKAGE)
    if at < 0:
        return None
    return filename[at + len(PACKAGE) :].removesuffix(".py")


def walk() -> dict[str, Any]:
    from receiver import Receiver

    from airflow.providers.openlineage.plugins import listener as listener_module

    stops: list[tuple[str, str]] = []
    lock = threading.Lock()
    saved_env = {key: os.environ.get(key) for key in _ENV_KEYS}
    saved_check = listener_module._is_runtime_task_instance
    try:
        with Receiver("healthy") as receiver:
            os.environ["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(receiver.transport(timeout=5))
            os.environ["AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD"] = "True"
            listener_module._is_runtime_task_instance = lambda task_instance: True  # a stand-in runtime TI
            listener = listener_module.OpenLineageListener()
            task_instance = _task_instance()
            listener.on_task_instance_running(previous_state=None, task_instance=task_instance)

            def profile(frame: FrameType, event: str, arg: object) -> None:
                if event != "call":
                    return
                module = _module_of(frame)
                if module is None:
                    return
                if any(value is task_instance for value in frame.f_locals.values()):
                    with lock:
                        stops.append((module, frame.f_code.co_name))

            threading.setprofile(profile)
            sys.setprofile(profile)
            try:
                listener.on_task_instance_success(previous_state=None, task_instance=task_instance)
            finally:
                sys.setprofile(None)
                threading.setprofile(None)  # type: ignore[arg-type]
            receiver.wait_for(2, timeout=10)
    finally:
        listener_module._is_runtime_task_instance = saved_check
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    sequence: list[str] = []
    for module, _ in stops:
        if not sequence or sequence[-1] != module:
            sequence.append(module)
    returns = sum(1 for i, module in enumerate(sequence) if module in sequence[:i])
    return {
        "stops": len(stops),
        "modules": sorted(set(sequence)),
        "module_count": len(set(sequence)),
        "returns": returns,
        "sequence": sequence,
        "calls": [f"{module}.{name}" for module, name in stops],
    }


def main() -> None:
    result = walk()
    if "--json" in sys.argv:
        print(json.dumps(result, indent=2))
        return
    print("calls holding the task instance, in order:")
    for call in result["calls"]:
        print(f"  {call}")
    print()
    print(f"stops: {result['stops']}")
    print(f"modules crossed: {result['module_count']}  ({', '.join(result['modules'])})")
    print(f"returns to a module already left: {result['returns']}")
    print(f"module sequence: {' -> '.join(result['sequence'])}")


if __name__ == "__main__":
    main()
