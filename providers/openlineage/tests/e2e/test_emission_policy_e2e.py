"""
Emission policy end to end (Airflow 3.3.2, real supervisor): each control switches exactly what it
names, DAG-author overrides beat configured rules except on a locked field, the deprecated options
behave as documented, and a malformed rule costs only itself (one WARNING, the rest applies).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict

import pytest
from e2e_support import configure_lineage
from receiver import Receiver

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(900),
    pytest.mark.slow,
]

DAG_ID = "ol_e2e_policy"
EMITTING = [
    "py_default",
    "py_nosource",
    "bash_noextract",
    "bash_fullinfo",
    "hook_off",
    "author_override",
    "author_locked",
]
SILENT = ["silenced", "author_silenced", "legacy_disabled"]


def _rule(task_id: str | None, locked: bool = False, **controls: bool) -> dict:
    scope = {"dag_id": DAG_ID} if task_id is None else {"dag_id": DAG_ID, "task_id": task_id}
    return {"scope": scope, "controls": controls, **({"locked": True} if locked else {})}


POLICY = [
    _rule("py_default", include_source_code=True),
    _rule("bash_noextract", extract_operator_metadata=False),
    _rule("bash_fullinfo", include_full_task_info=True),
    _rule("silenced", emit=False),
    _rule("hook_off", hook_lineage=False),
    _rule("author_override", include_source_code=False),
    _rule("author_locked", locked=True, include_source_code=True),
    {"scope": {"dag_id": DAG_ID}, "controls": {"emitt": False}},  # malformed: unknown control
]


@pytest.fixture(scope="module")
def run(shared_airflow):
    env = shared_airflow
    with Receiver("healthy") as receiver:
        configure_lineage(
            env,
            transport=json.dumps(receiver.transport()),
            execute_in_thread="True",
            emission_policy=json.dumps(POLICY),
            disable_source_code="True",
            disabled_for_operators="airflow.providers.standard.operators.python.ShortCircuitOperator",
        )
        result = env.dags_test(DAG_ID)
        states = env.task_states(DAG_ID)
        assert all(states.get(t) == "success" for t in EMITTING + SILENT), (states, result.stdout[-3000:])
        assert receiver.wait_for(2 * len(EMITTING), timeout=30)
        time.sleep(3)  # anything that should not come would have come by now
        (run_id,) = env.query("SELECT run_id FROM dag_run WHERE dag_id = ?", (DAG_ID,))[0]
        configure_lineage(env)
    return list(receiver.events), env.task_logs(DAG_ID, run_id)


def _by_task(events: list[dict]) -> dict[str, dict[str, dict]]:
    found: dict[str, dict[str, dict]] = defaultdict(dict)
    for event in events:
        found[event["job"]["name"].removeprefix(f"{DAG_ID}.")][event["eventType"]] = event
    return found


def test_events_are_emitted_exactly_where_the_policy_says(run, spec):
    events, _ = run
    for event in events:
        spec.validate_event(event)
    by_task = _by_task(events)
    assert set(by_task) == set(EMITTING)  # no task of SILENT, and no DAG-run event (author override)
    assert all(set(by_task[t]) == {"START", "COMPLETE"} for t in EMITTING)


def test_source_code_follows_rules_authors_locks_and_the_legacy_option(run):
    by_task = _by_task(run[0])

    def has_source(task_id: str) -> bool:
        return "sourceCode" in by_task[task_id]["COMPLETE"]["job"]["facets"]

    assert has_source("py_default")  # a task rule beats the legacy global disable_source_code
    assert not has_source("py_nosource")  # disable_source_code (deprecated) applies
    assert not has_source("bash_fullinfo")
    assert has_source("author_override")  # the DAG author beats a configured rule
    assert has_source("author_locked")  # ... except on a locked field


def test_extraction_hook_lineage_and_full_task_info_controls(run):
    by_task = _by_task(run[0])
    noextract = by_task["bash_noextract"]["COMPLETE"]
    assert noextract["outputs"] == []
    assert "sourceCode" not in noextract["job"]["facets"]
    assert "unknownSourceAttribute" not in noextract["run"]["facets"]
    assert noextract["run"]["facets"]["airflow"]["task"]["task_id"] == "bash_noextract"

    hook_off = by_task["hook_off"]["COMPLETE"]
    assert hook_off["outputs"] == []  # the hook's asset is not used
    assert "unknownSourceAttribute" in hook_off["run"]["facets"]

    assert by_task["bash_fullinfo"]["COMPLETE"]["run"]["facets"]["airflow"]["task"]["bash_command"] == (
        "echo full-info"
    )
    assert "bash_command" not in by_task["py_default"]["COMPLETE"]["run"]["facets"]["airflow"]["task"]


def test_malformed_rule_lock_and_deprecation_are_reported(run):
    logs = run[1]
    assert "rule #7 skipped: unknown control(s) ['emitt']" in logs
    assert "is locked by" in logs
    assert (
        "options disabled_for_operators=airflow.providers.standard.operators.python.ShortCircuitOperator, "
        "disable_source_code are deprecated" in logs
    )
    assert "are deprecated; express them as rules of [openlineage] emission_policy" in logs
