# Licensed to the Apache Software Foundation (ASF) under one
# or more contributor license agreements.  See the NOTICE file
# distributed with this work for additional information
# regarding copyright ownership.  The ASF licenses this file
# to you under the Apache License, Version 2.0 (the
# "License"); you may not use this file except in compliance
# with the License.  You may obtain a copy of the License at
#
#   http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing,
# software distributed under the License is distributed on an
# "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY
# KIND, either express or implied.  See the License for the
# specific language governing permissions and limitations
# under the License.
"""
``jobDependencies`` of an asset-triggered DAG run: the task runs whose asset events started it.

Each asset event the run consumed names its producer, best known first: the task instance that
emitted it (job ``<dag_id>.<task_id>`` and its run id), else the event's ``source_dag_id`` /
``source_task_id`` (job only), else an ``openlineage`` entry in the event's extra (``parentJobName``,
``parentJobNamespace``, ``parentRunId``). Events of the same producer run are one dependency that
lists all of them. Read from the database in a session of its own, on the emitter's thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from openlineage.client.facet_v2 import job_dependencies_run

from airflow.providers.openlineage import conf
from airflow.providers.openlineage.describe.run_ids import (
    build_task_instance_ol_run_id,
    is_valid_uuid,
    safe_getattr,
)
from airflow.providers.openlineage.describe.task_position import (
    TaskInstancePosition,
    get_orm_task_instance_positions,
    get_task_instance_position,
)

log = logging.getLogger(__name__)

DEPENDENCY_TYPE = "IMPLICIT_ASSET_DEPENDENCY"


def is_asset_triggered(dag_run: Any) -> bool:
    """Whether the scheduler created the run because assets it waits for were updated."""
    triggered_by = safe_getattr(dag_run, "triggered_by")
    return str(getattr(triggered_by, "value", triggered_by)).lower() == "asset"


@dataclass
class _Producer:
    namespace: str
    job_name: str
    run_id: str | None = None
    asset_events: list[dict[str, Any]] = field(default_factory=list)


def _position_of(task_instance: Any) -> TaskInstancePosition | None:
    """The source task instance's position; its region is read in its own session when it has no task."""
    try:
        return get_task_instance_position(task_instance)
    except ValueError:
        from sqlalchemy.orm import object_session

        session = object_session(task_instance)
        if session is None:
            return None
        return get_orm_task_instance_positions([task_instance], session=session)[task_instance.id]


def _producer_of(event: Any) -> _Producer | None:
    """Who emitted an asset event, or None when nothing says."""
    namespace = conf.namespace()
    task_instance = safe_getattr(event, "source_task_instance")
    if task_instance is not None:
        producer = _Producer(namespace, f"{task_instance.dag_id}.{task_instance.task_id}")
        source_run = safe_getattr(event, "source_dag_run")
        date = safe_getattr(source_run, "logical_date") or safe_getattr(source_run, "run_after")
        position = _position_of(task_instance)
        if position is not None and position.in_loop:
            producer.run_id = str(task_instance.id)  # Airflow 3.4 loop body: the execution's own id
        elif date is not None:
            producer.run_id = build_task_instance_ol_run_id(
                dag_id=task_instance.dag_id,
                task_id=task_instance.task_id,
                try_number=task_instance.try_number,
                logical_date=date,
                map_index=position.map_index if position is not None else task_instance.map_index,
            )
        return producer
    dag_id, task_id = safe_getattr(event, "source_dag_id"), safe_getattr(event, "source_task_id")
    if dag_id and task_id:
        return _Producer(namespace, f"{dag_id}.{task_id}")
    declared = (safe_getattr(event, "extra") or {}).get("openlineage")
    if not isinstance(declared, dict):
        return None
    name, declared_namespace = declared.get("parentJobName"), declared.get("parentJobNamespace")
    if not (name and declared_namespace):
        return None
    producer = _Producer(str(declared_namespace), str(name))
    run_id = declared.get("parentRunId")
    if run_id and is_valid_uuid(str(run_id)):
        producer.run_id = str(run_id)
    elif run_id:
        log.warning("OpenLineage ignored parentRunId %r of asset event %s: not a UUID", run_id, event.id)
    return producer


def _event_source(event: Any) -> dict[str, Any]:
    return {
        "dag_run_id": safe_getattr(event, "source_run_id"),
        "asset_event_id": safe_getattr(event, "id"),
        "asset_event_extra": safe_getattr(event, "extra") or None,
        "asset_id": safe_getattr(event, "asset_id"),
        "asset_uri": safe_getattr(event, "uri"),
        "partition_key": safe_getattr(event, "partition_key"),
    }


def dependencies_of(asset_events: list[Any]) -> list[_Producer]:
    """One entry per producer run (namespace, job, run id), in the order first seen."""
    producers: dict[tuple[str, str, str | None], _Producer] = {}
    for event in asset_events:
        producer = _producer_of(event)
        if producer is None:
            log.debug("OpenLineage: asset event %s names no producer", safe_getattr(event, "id"))
            continue
        key = (producer.namespace, producer.job_name, producer.run_id)
        producers.setdefault(key, producer).asset_events.append(_event_source(event))
    return list(producers.values())


def fetch_consumed_asset_events(dag_id: str, run_id: str) -> list[Any]:
    """The asset events a DAG run consumed, with their producers loaded (one query, own session)."""
    from airflow.models.asset import AssetEvent
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    consumed = DagRun.consumed_asset_events
    query = (
        select(DagRun)
        .where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
        .options(
            joinedload(consumed).joinedload(AssetEvent.source_task_instance),
            joinedload(consumed).joinedload(AssetEvent.source_dag_run),
            joinedload(consumed).joinedload(AssetEvent.asset),
        )
    )
    with create_session() as session:
        dag_run = session.scalar(query)
        return list(dag_run.consumed_asset_events) if dag_run is not None else []


def job_dependency_facet(dag_id: str, run_id: str) -> dict[str, job_dependencies_run.JobDependenciesRunFacet]:
    """``{"jobDependencies": ...}`` for an asset-triggered run; empty when no producer is known."""
    producers = dependencies_of(fetch_consumed_asset_events(dag_id, run_id))
    if not producers:
        return {}
    upstream = [
        job_dependencies_run.JobDependency(
            job=job_dependencies_run.JobIdentifier(namespace=p.namespace, name=p.job_name),
            run=job_dependencies_run.RunIdentifier(runId=p.run_id) if p.run_id else None,
            dependency_type=DEPENDENCY_TYPE,
        ).with_additional_properties(airflow={"asset_events": p.asset_events})
        for p in producers
    ]
    return {"jobDependencies": job_dependencies_run.JobDependenciesRunFacet(upstream=upstream)}
