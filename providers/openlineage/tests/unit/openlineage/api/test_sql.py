"""``emit_query_lineage`` sends through the names other providers patch on ``api.sql``."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from unittest import mock

from airflow.providers.openlineage.api import sql as api_sql
from airflow.providers.openlineage.describe.emission_policy import EmissionPolicy

WHEN = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def _ti():
    dag_run = SimpleNamespace(logical_date=WHEN, run_after=WHEN, clear_number=0, conf={})
    return SimpleNamespace(dag_id="d", task_id="t", try_number=1, map_index=-1, dag_run=dag_run, task=None)


def test_events_go_through_api_sql_emit_and_the_policy_it_names():
    with (
        mock.patch.object(api_sql, "is_openlineage_active", return_value=True) as active,
        mock.patch.object(api_sql, "emit", side_effect=lambda event: event) as emit,
        mock.patch.object(api_sql, "resolve_task_emission_policy", return_value=EmissionPolicy.defaults()),
    ):
        events = api_sql.emit_query_lineage(
            query_text="INSERT INTO b SELECT * FROM a",
            query_source_namespace="postgres://db:5432",
            query_id="q-1",
            task_instance=_ti(),
        )
    assert active.call_count == 1
    sent = [call.args[0] for call in emit.call_args_list]
    assert sent == events
    assert [e.eventType.value for e in sent] == ["START", "COMPLETE"]
    assert sent[0].job.name.startswith("d.t.manual_query.")  # <n> counts per task; outside one, unique
    assert [d.name for d in sent[0].inputs] == ["a"]
    assert sent[0].run.facets["externalQuery"].externalQueryId == "q-1"


def test_the_emission_policy_can_turn_query_events_off():
    policy = EmissionPolicy.defaults()
    off = type(policy)(**{**policy.__dict__, "emit": False})
    with (
        mock.patch.object(api_sql, "is_openlineage_active", return_value=True),
        mock.patch.object(api_sql, "emit") as emit,
        mock.patch.object(api_sql, "resolve_task_emission_policy", return_value=off),
    ):
        assert api_sql.emit_query_lineage(query_text="SELECT 1", task_instance=_ti()) is None
    emit.assert_not_called()
