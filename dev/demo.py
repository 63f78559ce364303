"""
The main job: run the example DAG through real Airflow (scheduler, api-server, LocalExecutor, Task SDK
supervisor; SQLite) with ``execute_in_thread = True`` and a file transport, then print every emitted
event, one line each: event type, job name, run id, inputs and outputs; and end with the configuration
check (``python -m airflow.providers.openlineage.check``) against the same transport.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness import AirflowEnv


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="ol-demo-"))
    events_file = home / "openlineage-events.jsonl"
    env = {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "demo",
    }
    print(f"Airflow home: {home}")
    with AirflowEnv(Path(__file__).parent / "dags", env=env, home=home) as airflow:
        airflow.start_api_server()
        state = airflow.run_scheduled("example_lineage", timeout=300)
        print(f"DAG run finished: {state}; task states: {airflow.task_states('example_lineage')}")
    if not events_file.exists():
        print("No events were emitted; see the logs under", home)
        return 1
    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    print(f"\n{len(events)} OpenLineage events written to {events_file}:")
    for event in events:
        inputs = _names(event.get("inputs"))
        outputs = _names(event.get("outputs"))
        print(
            f"{event['eventType']:<9} {event['job']['name']:<40} {event['run']['runId']}"
            f"  in: {inputs}  out: {outputs}"
        )
    print("\nConfiguration check against the same transport:")
    check = subprocess.run(
        [sys.executable, "-m", "airflow.providers.openlineage.check"],
        env={**os.environ, **airflow.env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    print(check.stdout.rstrip())
    return 0 if state == "success" and check.returncode == 0 else 1


def _names(datasets: list[dict] | None) -> str:
    return ", ".join(f"{d['namespace']}:{d['name']}" for d in datasets or []) or "-"


if __name__ == "__main__":
    sys.exit(main())
