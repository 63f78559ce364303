"""
Installed as ``system/openlineage/operator.py`` beside today's provider's system-test DAGs (see
``ci/system/run.py``): their own ``OpenLineageTestOperator`` (kept as ``upstream_operator.py``),
reading the events from the harness's receiver instead of Airflow Variables.

Today's system tests send events to Variables through a test transport; here every provider sends
to a real HTTP receiver, and this operator's Variable reads are answered from what the receiver got,
keyed as that transport keys them (``<job name>.event.<event type>``). The checks themselves (event
templates, counts, jinja helpers) are theirs, unchanged.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from types import SimpleNamespace
from typing import Any

from system.openlineage import upstream_operator

#: The DAG run being checked: the scheduler may also start runs of its own for scheduled DAGs.
_checked_run_id: str | None = None


def _dag_run_id_of(event: dict[str, Any]) -> str | None:
    facets = event.get("run", {}).get("facets", {})
    for name in ("airflow", "airflowDagRun"):
        dag_run = facets.get(name, {}).get("dagRun")
        if isinstance(dag_run, dict) and dag_run.get("run_id"):
            return dag_run["run_id"]
    return None


def _received() -> list[dict[str, Any]]:
    """The events received so far, less those that say they belong to another DAG run."""
    url = os.environ["OL_SYSTEM_RECEIVER"] + "/events"
    with urllib.request.urlopen(url, timeout=30) as response:
        events = json.load(response)
    return [e for e in events if _dag_run_id_of(e) in (None, _checked_run_id)]


class _ReceivedEvents:
    """Stands in for Airflow Variables: ``get`` gives the received events of one key, JSON-encoded."""

    @staticmethod
    def get(key: str, default_var: Any = None, deserialize_json: bool = False) -> Any:
        events = [
            json.dumps(event)
            for event in _received()
            if f"{event['job']['name']}.event.{event['eventType'].lower()}" == key
        ]
        if events:
            return events
        from airflow.sdk.api.datamodels._generated import ErrorResponse
        from airflow.sdk.exceptions import ErrorType

        raise upstream_operator.NoVariableError(
            ErrorResponse(error=ErrorType.VARIABLE_NOT_FOUND, detail={"key": key})
        )

    @staticmethod
    def delete(key: str) -> None:
        """Nothing to clear: each run has a receiver of its own."""


upstream_operator.Variable = _ReceivedEvents
# Their operator waits 10 s for slow Variable writes; the receiver already holds what was delivered
# (a short wait below instead). Only that module's name ``time`` is replaced, not the time module.
upstream_operator.time = SimpleNamespace(sleep=lambda _seconds: None)


class OpenLineageTestOperator(upstream_operator.OpenLineageTestOperator):
    def execute(self, context: Any) -> None:
        global _checked_run_id
        _checked_run_id = context["dag_run"].run_id
        time.sleep(1)
        super().execute(context)
