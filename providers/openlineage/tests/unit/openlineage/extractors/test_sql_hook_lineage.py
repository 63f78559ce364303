"""Statements hooks reported become child query jobs named ``<dag>.<task>.hll_query.<n>``."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from openlineage.client.facet_v2 import environment_variables_run

from airflow.providers.openlineage.extractors.sql_hook_lineage import sql_extras_lineage

WHEN = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def _ti():
    dag_run = SimpleNamespace(logical_date=WHEN, run_after=WHEN, clear_number=0, conf={})
    return SimpleNamespace(dag_id="d", task_id="t", try_number=1, map_index=-1, dag_run=dag_run)


def test_each_statement_is_an_hll_query_job_with_its_own_facet_dicts(spec):
    extras = [
        SimpleNamespace(value={"sql": "INSERT INTO b SELECT * FROM a"}, context=None),
        SimpleNamespace(value={"sql": "DELETE FROM c"}, context=None),
        SimpleNamespace(value="not a statement", context=None),
    ]
    lineage, events = sql_extras_lineage(_ti(), extras)
    assert [(e.job.name, e.eventType.value) for e in events] == [
        ("d.t.hll_query.1", "START"),
        ("d.t.hll_query.1", "COMPLETE"),
        ("d.t.hll_query.2", "START"),
        ("d.t.hll_query.2", "COMPLETE"),
    ]
    start, complete = events[:2]
    assert start.run.runId == complete.run.runId
    # A facet the client adds to one event while sending it must not appear on its pair.
    assert start.run.facets is not complete.run.facets
    assert start.job.facets is not complete.job.facets
    start.run.facets["environmentVariables"] = environment_variables_run.EnvironmentVariablesRunFacet([])
    assert "environmentVariables" not in complete.run.facets
    assert complete.run.facets["parent"].job.name == "d.t"
    assert lineage.job_facets["sql"].query == "INSERT INTO b SELECT * FROM a;\nDELETE FROM c"
    from openlineage.client.serde import Serde

    for event in events:
        spec.validate_event(Serde.to_dict(event))
