"""
Jobs a task starts join the Airflow run tree by themselves (``[openlineage] child_process_parent_job_info``).

Under the real Task SDK supervisor (``airflow dags test --use-executor``), both modes: a BashOperator
runs ``dbt-ol run`` (PyPI ``openlineage-dbt``, ``dbt-core``, ``dbt-duckdb``, in a venv of their own)
on a small project the test writes; dbt's own events reach the same receiver on 127.0.0.1 with a
``parent`` facet naming the Airflow task's run (namespace, job name and run id of its START) and the
DAG run as root. A script in another interpreter (ExternalPythonOperator) inherits the same
variables; a task whose ``env`` sets ``OPENLINEAGE_PARENT_ID`` keeps its value and gets none of ours.
The Airflow task's own events are as without the option.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from conftest import REPO_ROOT, UV
from e2e_support import MODES, configure_lineage
from receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

DAG_ID = "ol_e2e_child_jobs"
#: dbt-core 1.12 fetches a parser from GitHub at install time; 1.11 installs from PyPI alone.
DBT_REQUIREMENTS = ["openlineage-dbt==1.54.0", "dbt-core>=1.10,<1.12", "dbt-duckdb>=1.9,<1.11"]
USER_PARENT = "user_ns/user_job/0190c3b6-0000-7000-8000-000000000001"


@pytest.fixture(scope="module")
def dbt_bin() -> Path:
    """A venv holding dbt-ol, dbt-core and dbt-duckdb (built once, reused while its pins hold)."""
    venv = REPO_ROOT / ".venvs" / "dbt-e2e"
    stamp = venv / f".installed-{hashlib.sha256(' '.join(DBT_REQUIREMENTS).encode()).hexdigest()[:16]}"
    if not stamp.exists():
        subprocess.run([UV, "venv", "-q", "--clear", "-p", "3.11", str(venv)], check=True, timeout=300)
        subprocess.run(
            [UV, "pip", "install", "-q", "-p", str(venv / "bin" / "python"), *DBT_REQUIREMENTS],
            check=True,
            timeout=900,
        )
        stamp.touch()
    return venv / "bin"


def _write_project(root: Path) -> Path:
    project = root / "dbt_project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: e2e\nversion: '1.0'\nconfig-version: 2\nprofile: e2e\nmodel-paths: ['models']\n"
    )
    (project / "profiles.yml").write_text(
        "e2e:\n  target: dev\n  outputs:\n    dev:\n"
        f"      type: duckdb\n      path: {project / 'e2e.duckdb'}\n      threads: 1\n"
    )
    (project / "models" / "orders.sql").write_text("select 1 as id, 'open' as status\n")
    (project / "models" / "open_orders.sql").write_text(
        "select id from {{ ref('orders') }} where status = 'open'\n"
    )
    return project


@pytest.mark.parametrize("mode", ["fork", "thread"])
def test_dbt_and_scripts_name_the_task_as_parent(shared_airflow, dbt_bin, tmp_path, spec, mode):
    env = shared_airflow
    project = _write_project(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    added = {
        "OL_E2E_DBT_BIN": str(dbt_bin),
        "OL_E2E_DBT_PROJECT": str(project),
        "OL_E2E_OUT": str(out),
        "AIRFLOW_VAR_OL_E2E_EXTERNAL_PYTHON": str(dbt_bin / "python"),
        "AIRFLOW_VAR_OL_E2E_OUT": str(out),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    with Receiver("healthy") as receiver:
        # dbt-ol's own client reads the OPENLINEAGE_* variables: the same receiver.
        added |= {"OPENLINEAGE_URL": receiver.url, "OPENLINEAGE_ENDPOINT": "api/v1/lineage"}
        env.env.update(added)
        configure_lineage(
            env,
            transport=json.dumps(receiver.transport()),
            execute_in_thread=MODES[mode],
            namespace="e2e_airflow",
        )
        try:
            result = env.dags_test(DAG_ID, timeout=600)
            states = env.task_states(DAG_ID)
            assert all(state == "success" for state in states.values()), (states, result.stdout[-4000:])
            time.sleep(2)
            events = list(receiver.events)
        finally:
            for key in added:
                env.env.pop(key, None)

    def is_airflows(event: dict) -> bool:
        name = event["job"]["name"]
        return event["job"]["namespace"] == "e2e_airflow" and (
            name == DAG_ID or name.startswith(f"{DAG_ID}.")
        )

    airflow_events = [e for e in events if is_airflows(e)]
    dbt_events = [e for e in events if not is_airflows(e)]
    task_start = next(
        e for e in airflow_events if e["job"]["name"] == f"{DAG_ID}.dbt_run" and e["eventType"] == "START"
    )
    task_run_id = task_start["run"]["runId"]
    dag_run_id = task_start["run"]["facets"]["parent"]["run"]["runId"]

    # dbt's own events arrived, its run job names the Airflow task as parent and the DAG run as root.
    assert dbt_events, [e["job"]["name"] for e in events]
    for event in dbt_events:
        spec.validate_event(event)
        root = event["run"]["facets"]["parent"].get("root", {})
        assert root.get("run", {}).get("runId") == dag_run_id, event["job"]["name"]
        assert root.get("job") == {"namespace": "e2e_airflow", "name": DAG_ID}
    children = [e for e in dbt_events if e["run"]["facets"]["parent"]["run"]["runId"] == task_run_id]
    assert children, [(e["job"]["name"], e["run"]["facets"]["parent"]) for e in dbt_events]
    assert all(
        e["run"]["facets"]["parent"]["job"] == {"namespace": "e2e_airflow", "name": f"{DAG_ID}.dbt_run"}
        for e in children
    )
    # dbt's run job is the task's child; its models are the run job's children, under the same root.
    dbt_run_ids = {e["run"]["runId"] for e in children}
    models = [e for e in dbt_events if e["run"]["facets"]["parent"]["run"]["runId"] in dbt_run_ids]
    assert {e["job"]["name"].rsplit(".", 1)[-1] for e in models} >= {"orders", "open_orders"}

    # The Airflow tasks' own events: one START and one COMPLETE each, parented to the DAG run as always.
    for task_id in ("dbt_run", "external_python", "user_parent"):
        mine = [e for e in airflow_events if e["job"]["name"] == f"{DAG_ID}.{task_id}"]
        assert [e["eventType"] for e in mine] == ["START", "COMPLETE"], task_id
        assert all(e["run"]["facets"]["parent"]["run"]["runId"] == dag_run_id for e in mine)
        for event in mine:
            spec.validate_event(event)

    starts = {e["job"]["name"]: e["run"]["runId"] for e in airflow_events if e["eventType"] == "START"}
    seen = {
        name: json.loads((out / f"{name}.json").read_text())
        for name in ("dbt_run", "external_python", "user_parent")
    }
    assert seen["dbt_run"]["OPENLINEAGE_PARENT_ID"] == f"e2e_airflow/{DAG_ID}.dbt_run/{task_run_id}"
    assert seen["dbt_run"]["OPENLINEAGE_ROOT_PARENT_ID"] == f"e2e_airflow/{DAG_ID}/{dag_run_id}"
    external_run = starts[f"{DAG_ID}.external_python"]
    assert (
        seen["external_python"]["OPENLINEAGE_PARENT_ID"]
        == f"e2e_airflow/{DAG_ID}.external_python/{external_run}"
    )
    context = json.loads(seen["external_python"]["OPENLINEAGE_CONTEXT"])["parent"]
    assert context["run"]["runId"] == external_run
    assert context["root"]["run"]["runId"] == dag_run_id
    # The user's own parent is kept and not shadowed by ours.
    assert seen["user_parent"] == {
        "OPENLINEAGE_CONTEXT": None,
        "OPENLINEAGE_PARENT_ID": USER_PARENT,
        "OPENLINEAGE_ROOT_PARENT_ID": None,
    }
    assert not any(name in os.environ for name in ("OPENLINEAGE_CONTEXT", "OPENLINEAGE_PARENT_ID"))
