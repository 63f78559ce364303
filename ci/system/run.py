"""
Today's provider's own system tests (the ``tests/system/openlineage`` DAGs and expected events of
its 2.21.0rc1 sdist) run against this provider and against 2.21.0rc1 itself.

Every system DAG runs once per provider under a real api-server, scheduler and triggerer
(LocalExecutor, tasks under the Task SDK supervisor, thread mode), all triggered together. Each
DAG ends with its ``check_events`` task, today's own ``OpenLineageTestOperator`` reading the events
the provider sent to an HTTP receiver on 127.0.0.1 (``shim_operator.py``): that task succeeds when
the events match the expected-event templates. The table lists each DAG's verdict per provider;
the exit status is 1 when a DAG whose events match with 2.21.0rc1 does not match with ours.

Usage (``ci/system/run.sh`` downloads the sdist and builds the venvs):
    python ci/system/run.py --sdist DIR --ours VENV --upstream VENV [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "differential"))
sys.path.insert(0, str(ROOT / "dev"))

from harness import AirflowEnv  # noqa: E402
from receiver import Receiver  # noqa: E402
from run import RUN_ID, run_corpus  # noqa: E402

HERE = Path(__file__).resolve().parent
PREFIX = "openlineage_"
#: DAGs left out, with why (none of their events can be checked this way on Airflow 3.3).
SKIPPED: dict[str, str] = {}


def prepare(sdist: Path, work: Path) -> Path:
    """The system DAGs in ``work``, their check operator reading the receiver; returns the DAGs folder."""
    dags = work / "dags"
    package = dags / "system" / "openlineage"
    shutil.copytree(sdist / "tests" / "system" / "openlineage", package)
    (dags / "system" / "__init__.py").write_text("")
    (package / "operator.py").rename(package / "upstream_operator.py")
    shutil.copy(HERE / "shim_operator.py", package / "operator.py")
    # The DAG files end with ``get_test_run(dag)`` from Airflow's in-tree test utilities (pytest only).
    shim = dags / "tests_common" / "test_utils"
    shim.mkdir(parents=True)
    (dags / "tests_common" / "__init__.py").write_text("")
    (shim / "__init__.py").write_text("")
    (shim / "system_tests.py").write_text("def get_test_run(dag):\n    return None\n")
    return dags


def environment_for(dags: Path) -> Any:
    def env(receiver: Receiver, _db: Path) -> dict[str, str]:
        return {
            "PYTHONPATH": str(dags),
            "OL_SYSTEM_RECEIVER": receiver.url,
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(receiver.transport(timeout=30)),
            "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
            "AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT": "30",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
            "AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES": "airflow.* system.*",
        }

    return env


def collect_checks(env: AirflowEnv) -> dict[str, Any]:
    """Each DAG's ``check_events`` state, and why it failed where it did (its exception lines)."""
    rows = env.query(
        "SELECT dag_id, state FROM task_instance WHERE task_id = 'check_events' AND run_id = ?", (RUN_ID,)
    )
    checks = {dag_id: state or "none" for dag_id, state in rows}
    why = {}
    for dag_id, state in checks.items():
        if state != "success":
            log = env.task_logs(dag_id, RUN_ID)
            found = re.findall(r"(?:Event check failures|Expected |ValueError: )[^\"]{0,1500}", log)
            why[dag_id] = "\n".join(dict.fromkeys(found))[-4000:] or log[-2000:]
    return {"checks": checks, "check_logs": why}


def verdicts_of(run: dict[str, Any]) -> dict[str, str]:
    """``pass`` where the DAG's ``check_events`` task succeeded (its templates matched), else its state."""
    return {dag_id: "pass" if state == "success" else state for dag_id, state in run["checks"].items()} | {
        dag_id: "no check" for dag_id in run["dags"] if dag_id not in run["checks"]
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--sdist", type=Path, required=True, help="the unpacked 2.21.0rc1 sdist")
    parser.add_argument("--ours", type=Path, required=True)
    parser.add_argument("--upstream", type=Path, required=True)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ol-system-"))
    try:
        dags = prepare(args.sdist, work)
        folder = dags / "system" / "openlineage"
        runs = {
            label: run_corpus(
                label,
                venv,
                None,
                args.timeout,
                dags_dir=folder,
                prefix=PREFIX,
                env_for=environment_for(dags),
                collect=collect_checks,
            )
            for label, venv in (("2.21.0rc1", args.upstream), ("ours", args.ours))
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    verdicts = {label: verdicts_of(run) for label, run in runs.items()}
    dag_ids = sorted(set().union(*(v.keys() for v in verdicts.values())))
    width = max(len(d) for d in dag_ids)
    print(f"{'system DAG':{width}s}  2.21.0rc1  ours")
    lost = []
    for dag_id in dag_ids:
        theirs, ours = verdicts["2.21.0rc1"].get(dag_id, "-"), verdicts["ours"].get(dag_id, "-")
        mark = "  <- matches with 2.21.0rc1, not with ours" if theirs == "pass" and ours != "pass" else ""
        if mark:
            lost.append(dag_id)
        print(f"{dag_id:{width}s}  {theirs:9s}  {ours}{mark}")
    passed = {label: sum(v == "pass" for v in verdict.values()) for label, verdict in verdicts.items()}
    print(f"\nexpectations met: 2.21.0rc1 {passed['2.21.0rc1']} of {len(dag_ids)}, ours {passed['ours']}")
    if args.json:
        args.json.write_text(json.dumps({"verdicts": verdicts, "runs": runs}, indent=1, default=str))
    if lost:
        for dag_id in lost:
            print(f"\n--- {dag_id}: check_events with ours\n{runs['ours']['check_logs'].get(dag_id, '')}")
        print(f"{len(lost)} DAG(s) lost: {', '.join(lost)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
