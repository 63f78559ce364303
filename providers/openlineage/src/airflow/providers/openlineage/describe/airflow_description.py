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
Plain-JSON descriptions of Airflow objects for the ``airflow`` and ``airflowDagRun`` facets.

Each description lists the attributes it copies, so a facet never carries whatever an operator
happens to hold (connections, hooks, callables). Values are made JSON-friendly the way the provider
this one replaces did: datetimes as ISO strings, timedeltas as ``"<seconds> seconds"``, and
sequences and sets as their Python list repr.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import threading
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from airflow.providers.openlineage import conf
from airflow.providers.openlineage.describe.run_ids import get_fully_qualified_class_name, safe_getattr
from airflow.providers.openlineage.redact.redaction import redact_structure

log = logging.getLogger(__name__)

_DAG_INCLUDES = ("dag_id", "description", "fileloc", "owner", "owner_links", "start_date", "tags")
_DAG_RUN_INCLUDES = (
    "clear_number",
    "conf",
    "dag_id",
    "data_interval_end",
    "data_interval_start",
    "end_date",
    "logical_date",
    "partition_key",
    "partition_date",
    "run_after",
    "run_id",
    "run_type",
    "start_date",
    "triggered_by",
    "triggering_user_name",
)
_TI_INCLUDES = ("duration", "pool", "queued_dttm", "try_number")
_TASK_INCLUDES = (
    "deferrable",
    "depends_on_past",
    "downstream_task_ids",
    "execution_timeout",
    "executor_config",
    "ignore_first_depends_on_past",
    "max_active_tis_per_dag",
    "max_active_tis_per_dagrun",
    "max_retry_delay",
    "multiple_outputs",
    "owner",
    "priority_weight",
    "queue",
    "retries",
    "retry_exponential_backoff",
    "run_as_user",
    "task_id",
    "trigger_rule",
    "upstream_task_ids",
    "wait_for_downstream",
    "wait_for_past_depends_before_skipping",
    # Operator-specific attributes that describe what a task points at.
    "trigger_dag_id",
    "trigger_run_id",
    "external_dag_id",
    "external_task_id",
    "external_task_ids",
    "external_task_group_id",
    "database",
    "parameters",
    "follow_task_ids_if_true",
    "follow_task_ids_if_false",
    "follow_branch",
    "table_name_with_schema",
    "column_names",
)
_TASK_RENAMES = {"_is_setup": "is_setup", "_is_teardown": "is_teardown"}
_TASK_GROUP_INCLUDES = (
    "downstream_group_ids",
    "downstream_task_ids",
    "prefix_group_id",
    "tooltip",
    "upstream_group_ids",
    "upstream_task_ids",
)
# ``include_full_task_info``: an explicit list (never ``vars(task)``), on top of the default ones.
_FULL_TASK_INCLUDES = (
    *_TASK_INCLUDES,
    "doc",
    "doc_json",
    "doc_md",
    "doc_rst",
    "doc_yaml",
    "do_xcom_push",
    "email",
    "email_on_failure",
    "email_on_retry",
    "end_date",
    "map_index_template",
    "on_failure_fail_dagrun",
    "pool",
    "pool_slots",
    "resources",
    "retry_delay",
    "start_date",
    "task_display_name",
    "template_ext",
    "template_fields",
    "ui_color",
    "ui_fgcolor",
    "weight_rule",
    # Common operator arguments; their values are masked like every other field. Not ``op_kwargs``:
    # after execute() a PythonOperator's holds the whole template context (accessors, the TI, ...).
    "append_env",
    "bash_command",
    "conn_id",
    "cwd",
    "env",
    "output_encoding",
    "skip_on_exit_code",
    "sql",
)
# Attributes never copied into a task description: internals, callables and live clients.
_FULL_TASK_EXCLUDES = frozenset(
    {
        "_BaseOperator__instantiated",
        "_BaseOperator__init_kwargs",
        "_dag",
        "_hook",
        "_log",
        "_outlets",
        "_inlets",
        "_lock_for_execution",
        "handler",
        "params",
        "python_callable",
        "retry_delay",
        "hook",
        "_task_group",
        "task_group",
        "start_trigger_args",
    }
)


def _json_native(value: Any) -> Any:
    """A JSON-native copy of ``value``: lists stay lists and dicts stay dicts, so masking still sees keys."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return f"{value.total_seconds()} seconds"
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {_json_key(k): _json_native(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return [_json_native(v) for v in sorted(value, key=str)]
    if isinstance(value, (list, tuple)):
        return [_json_native(v) for v in value]
    if isinstance(value, enum.Enum):  # never ``getattr(value, "value")``: accessors look such names up
        return value.value if isinstance(value.value, (str, int)) else str(value.value)
    return str(value)


def _json_key(key: Any) -> str:
    """A dict key as JSON has it; an enum key (Airflow's ``Encoding.TYPE``) by its value (``__type``)."""
    if isinstance(key, enum.Enum):
        return str(key.value)
    return str(key)


def to_json_value(value: Any) -> Any:
    """
    A JSON-friendly form of an attribute value.

    Dicts (a DAG run's ``conf``, ``params``) keep their structure all the way down. A top-level list or
    set becomes its string form, as the facet schema has it; it is masked *before* it is turned into a
    string, so a secret under a sensitive key inside it is still caught.
    """
    if isinstance(value, (set, frozenset, list, tuple)):
        return str(redact_structure(_json_native(value)))
    return _json_native(value)


def to_json_list(value: list[Any] | None) -> list[Any] | None:
    """A list as JSON-native values, masked (``None`` stays ``None``)."""
    if value is None:
        return None
    return redact_structure(_json_native(list(value)))


def _describe(obj: Any, includes: Iterable[str], renames: dict[str, str] | None = None) -> dict[str, Any]:
    """The named attributes of ``obj``; one that cannot be read or converted is left out (DEBUG line)."""
    described: dict[str, Any] = {}
    wanted = [(source, target) for source, target in (renames or {}).items()]
    wanted += [(name, name) for name in includes if name not in (renames or {}).values()]
    for source, target in wanted:
        if target in described:
            continue
        try:
            if hasattr(obj, source):
                described[target] = to_json_value(safe_getattr(obj, source))
        except Exception as err:  # noqa: BLE001 - one odd attribute must not cost the whole event
            log.debug("OpenLineage left out attribute `%s`: %s: %s", source, type(err).__name__, err)
    return described


def _computed(builders: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, build in builders.items():
        try:
            result[key] = build()
        except Exception:  # noqa: BLE001 - one bad attribute must not drop the facet
            result[key] = None
    return result


def core_timetable(dag: Any) -> Any:
    """
    The DAG's timetable as the scheduler sees it (``summary``, ``serialize()``).

    In the task runner a DAG carries the Task SDK's timetable, which has neither; it is turned into
    the scheduler's through Airflow's own timetable encoding.
    """
    timetable = dag.timetable
    if hasattr(timetable, "serialize") and hasattr(timetable, "summary"):
        return timetable
    try:
        from airflow.serialization.decoders import decode_timetable
        from airflow.serialization.encoders import encode_timetable
    except ImportError:  # Airflow 3.1
        from airflow.serialization.serialized_objects import decode_timetable, encode_timetable
    return decode_timetable(encode_timetable(timetable))


def describe_dag(dag: Any) -> dict[str, Any]:
    """The ``dag`` part of the ``airflow`` / ``airflowDagRun`` facets."""
    if dag is None:
        return {}
    info = _describe(dag, _DAG_INCLUDES)
    timetable = _computed({"core": lambda: core_timetable(dag)})["core"]
    info.update(
        _computed(
            {
                "timetable_summary": lambda: str(timetable.summary),
                "timetable": lambda: _json_native(timetable.serialize()),
            }
        )
    )
    return info


def describe_dag_run(dag_run: Any) -> dict[str, Any]:
    """The ``dagRun`` part of the ``airflow`` / ``airflowDagRun`` facets."""
    if dag_run is None:
        return {}
    info = _describe(dag_run, _DAG_RUN_INCLUDES)

    def duration() -> float | None:
        if dag_run.end_date and dag_run.start_date:
            return (dag_run.end_date - dag_run.start_date).total_seconds()
        return None

    info.update(_computed({"duration": duration, "note": lambda: safe_getattr(dag_run, "note")}))
    info.update(describe_dag_version(safe_getattr(dag_run, "dag_versions")))
    if (deadlines := describe_deadlines(safe_getattr(dag_run, "deadlines"))) is not None:
        info["deadlines"] = deadlines
    if multi_team_enabled():
        team = safe_getattr(dag_run, "team_name")
        info["dag_team_name"] = team if isinstance(team, str) else None
    return info


def multi_team_enabled() -> bool:
    """Whether runs belong to teams: ``[core] multi_team``, read from Airflow 3.3 on (as 2.20.3 does)."""
    return conf.multi_team()


def describe_dag_version(dag_versions: Any) -> dict[str, Any]:
    """
    Bundle and version of the DAG a run uses (its latest DAG version), where the run knows them.

    Only the scheduler's DagRun does; the task runner's has no versions, and then nothing is added.
    """
    if not dag_versions:
        return {}
    current = dag_versions[-1]
    version_id = safe_getattr(current, "id")
    return {
        "dag_bundle_name": safe_getattr(current, "bundle_name"),
        "dag_bundle_version": safe_getattr(current, "bundle_version"),
        "dag_version_id": None if version_id is None else str(version_id),
        "dag_version_number": safe_getattr(current, "version_number"),
        # Airflow 3.3+ versions carry data of their own (None before, and then left out of the event).
        "dag_version_data": safe_getattr(current, "version_data"),
    }


#: What a deadline alert adds to its deadline in the ``deadlines`` field, where set.
_DEADLINE_ALERT_FIELDS = ("name", "description", "reference", "interval", "callback_def")


def describe_deadlines(deadlines: Any) -> dict[str, Any] | None:
    """
    The run's deadlines (time, whether missed, and the alert's definition), or None when it has none.

    A dict rather than a list, as in today's provider: ``{"alerts": [...]}``. Airflow 3.1's deadlines
    have no alert or ``missed`` column; what a deadline lacks is left out.
    """
    alerts = []
    for deadline in deadlines or ():
        info: dict[str, Any] = {}
        if deadline_time := safe_getattr(deadline, "deadline_time"):
            info["deadline_time"] = deadline_time.isoformat()
        if (missed := safe_getattr(deadline, "missed")) is not None:
            info["missed"] = missed
        alert = safe_getattr(deadline, "deadline_alert")
        for name in _DEADLINE_ALERT_FIELDS:
            if (value := safe_getattr(alert, name)) is not None:
                info[name] = to_json_value(value)
        if info:
            alerts.append(info)
    return {"alerts": alerts} if alerts else None


def _plain(obj: Any, fields: Iterable[str]) -> Any:
    return SimpleNamespace(**{name: safe_getattr(obj, name) for name in fields})


def plain_deadlines(dag_run: Any) -> list[Any]:
    """
    The run's deadlines as plain values (picklable, detached from any session).

    Read at the hook when the run's DAG has deadline alerts: a new run's deadlines may not be
    committed yet, and Airflow prunes a successful run's in the hook's own transaction, so a later
    read in another session can find none.
    """
    deadlines = []
    for deadline in safe_getattr(dag_run, "deadlines") or []:
        alert = safe_getattr(deadline, "deadline_alert")
        deadlines.append(
            SimpleNamespace(
                deadline_time=safe_getattr(deadline, "deadline_time"),
                missed=safe_getattr(deadline, "missed"),
                deadline_alert=None if alert is None else _plain(alert, _DEADLINE_ALERT_FIELDS),
            )
        )
    return deadlines


def fetch_dag_run_records(dag_id: str, run_id: str, *, skip: Collection[str] = frozenset()) -> dict[str, Any]:
    """
    A DAG run's DAG versions, deadlines and note (and team, with ``multi_team``) as plain values, read
    in one session of its own; what ``skip`` names (the hook read it already) is not read.

    Called on the emitter thread (off the scheduler loop); the result feeds
    :meth:`DagRunSnapshot.with_values`. Each part is one narrow query: the DAG versions come from
    the run's task instances' version ids (as ``DagRun.dag_versions`` has them) without loading the
    task instances themselves, so a wide DAG costs no more than a narrow one.
    """

    from airflow.models.dagrun import DagRun, DagRunNote
    from airflow.utils.session import create_session
    from sqlalchemy import select

    records: dict[str, Any] = {}
    with create_session() as session:
        if multi_team_enabled():
            from airflow.models.dag import DagModel

            records["team_name"] = DagModel.get_team_name(dag_id, session=session)
        row = session.execute(
            select(DagRun.id, DagRun.bundle_version, DagRun.created_dag_version_id, DagRunNote.content)
            .outerjoin(DagRunNote, DagRunNote.dag_run_id == DagRun.id)
            .where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
        ).first()
        if row is None:
            return {**records, "dag_versions": [], "deadlines": []}
        run_pk, bundle_version, created_version_id, note = row
        records["dag_versions"] = _dag_versions(session, dag_id, run_id, bundle_version, created_version_id)
        if "deadlines" not in skip:
            records["deadlines"] = _deadlines(session, run_pk)
        if "note" not in skip:
            records["note"] = note
    return records


_DAG_VERSION_FIELDS = ("id", "bundle_name", "bundle_version", "version_number", "version_data")


def _dag_versions(
    session: Any, dag_id: str, run_id: str, bundle_version: str | None, created_version_id: Any
) -> list[Any]:
    """The run's DAG versions, oldest first: its creation version in a versioned bundle, else its tasks'."""
    from airflow.models.dag_version import DagVersion
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from sqlalchemy import select, union

    if bundle_version:
        if created_version_id is None:
            return []
        wanted: Any = [created_version_id]
    else:
        wanted = union(
            *(
                select(model.dag_version_id).where(model.dag_id == dag_id, model.run_id == run_id)
                for model in (TaskInstance, TaskInstanceHistory)
            )
        ).scalar_subquery()
    versions = session.scalars(select(DagVersion).where(DagVersion.id.in_(wanted)).order_by(DagVersion.id))
    return [_plain(version, _DAG_VERSION_FIELDS) for version in versions]


def _deadlines(session: Any, run_pk: int) -> list[Any]:
    from airflow.models.deadline import Deadline
    from sqlalchemy import select

    deadlines = session.scalars(select(Deadline).where(Deadline.dagrun_id == run_pk))
    return plain_deadlines(SimpleNamespace(deadlines=list(deadlines)))


def describe_task_instance(task_instance: Any) -> dict[str, Any]:
    """The ``taskInstance`` part of the ``airflow`` facet."""
    info = _describe(task_instance, _TI_INCLUDES)
    map_index = safe_getattr(task_instance, "map_index", -1)
    bundle = safe_getattr(task_instance, "bundle_instance")
    info.update(
        {
            "map_index": None if map_index in (None, -1) else map_index,
            "rendered_map_index": safe_getattr(task_instance, "rendered_map_index")
            if map_index not in (None, -1)
            else None,
            "log_url": safe_getattr(task_instance, "log_url"),
            "dag_bundle_name": safe_getattr(bundle, "name"),
            "dag_bundle_version": safe_getattr(bundle, "version"),
        }
    )
    return info


def describe_task_group(task_group: Any) -> dict[str, Any] | None:
    """A task's group, or None for the root group."""
    if task_group is None or safe_getattr(task_group, "group_id") is None:
        return None
    info = _describe(task_group, _TASK_GROUP_INCLUDES)
    info["group_id"] = safe_getattr(task_group, "_group_id", safe_getattr(task_group, "group_id"))
    return info


def describe_assets(
    assets: Iterable[Any], runtime: Iterable[tuple[Any, Any]] | None = None
) -> list[dict[str, Any]]:
    """
    Assets among a task's inlets or outlets (aliases and other objects are left out).

    ``runtime`` adds what the task attached while it ran: ``(asset, alias)`` is typed
    ``asset_event_from_alias`` with the alias as ``source_alias``; ``(asset, None)`` is ``asset_event``.
    """
    described = []
    for asset in assets or ():
        uri = safe_getattr(asset, "uri")
        if uri is None or type(asset).__name__ != "Asset":
            continue
        described.append({"uri": uri, "extra": safe_getattr(asset, "extra") or {}, "type": "asset"})
    for asset, alias in runtime or ():
        entry = {"uri": safe_getattr(asset, "uri"), "extra": safe_getattr(asset, "extra") or {}}
        if alias is None:
            entry["type"] = "asset_event"
        else:
            entry.update(type="asset_event_from_alias", source_alias=safe_getattr(alias, "name"))
        described.append(entry)
    return described


def operator_provider_version(task: Any) -> str | None:
    """``__version__`` of the provider package (``airflow.providers.<name>``) an operator class lives in."""
    import sys

    module = get_fully_qualified_class_name(task).rpartition(".")[0]
    if not module.startswith("airflow.providers."):
        return None
    parts = module.split(".")
    for end in range(len(parts), 2, -1):
        package = sys.modules.get(".".join(parts[:end]))
        version = getattr(package, "__version__", None)
        if isinstance(version, str):
            return version
    return None


_one_event = threading.local()


@contextmanager
def one_event_build() -> Iterator[None]:
    """
    While one event is built on this thread, a task is described once.

    The ``airflow`` run facet and the ``unknownSourceAttribute`` facet both describe the task; between
    them nothing changes, so the second reads a copy of the first. Nothing is kept past the block:
    the next event (the terminal one, after ``execute()``) describes the task afresh.
    """
    _one_event.tasks = {}
    try:
        yield
    finally:
        _one_event.tasks = None


def describe_task(
    task: Any, include_full_task_info: bool = False, runtime_assets: list[tuple[Any, Any]] | None = None
) -> dict[str, Any]:
    """
    The ``task`` part of the ``airflow`` facet (more attributes with ``include_full_task_info``).

    ``runtime_assets`` (see :func:`~airflow.providers.openlineage.describe.assets.get_runtime_outlet_assets`)
    are listed after the static outlets.
    """
    described = getattr(_one_event, "tasks", None)
    if described is None or runtime_assets:
        return _describe_task(task, include_full_task_info, runtime_assets)
    key = (id(task), include_full_task_info)
    if key not in described:
        described[key] = _describe_task(task, include_full_task_info, None)
    return dict(described[key])


def _describe_task(
    task: Any, include_full_task_info: bool, runtime_assets: list[tuple[Any, Any]] | None
) -> dict[str, Any]:
    if include_full_task_info:
        names = [
            name
            for name in _FULL_TASK_INCLUDES
            if name not in _FULL_TASK_EXCLUDES and not callable(safe_getattr(task, name, None))
        ]
        info = _describe(task, names, _TASK_RENAMES)
    else:
        info = _describe(task, _TASK_INCLUDES, _TASK_RENAMES)
    assets = _computed(
        {
            "inlets": lambda: describe_assets(safe_getattr(task, "inlets", [])),
            "outlets": lambda: describe_assets(safe_getattr(task, "outlets", []), runtime_assets),
        }
    )
    info.update(
        _computed(
            {
                "operator_class": lambda: task.task_type,
                "operator_class_path": lambda: get_fully_qualified_class_name(task),
                "operator_provider_version": lambda: operator_provider_version(task),
                "task_group": lambda: describe_task_group(safe_getattr(task, "task_group")),
                # The string forms (``inlets``, ``outlets``) are what the facet always carried; the
                # ``*_list`` forms (as in today's provider from 2.21.0) are real JSON lists to parse.
                "inlets": lambda: to_json_value(assets["inlets"]),
                "outlets": lambda: to_json_value(assets["outlets"]),
                "mapped": lambda: (
                    type(task).__name__ == "MappedOperator"
                    or bool(safe_getattr(task, "_BaseOperator__from_mapped", False))
                ),
                "inlets_list": lambda: to_json_list(assets["inlets"]),
                "outlets_list": lambda: to_json_list(assets["outlets"]),
            }
        )
    )
    return info


def _runs_at_all(task: Any) -> bool:
    """
    False for a trivial EmptyOperator, which the scheduler marks successful without running it.

    Airflow 3.2+ says so itself (``TaskInstance.is_task_schedulable``); before, the same rule: an
    EmptyOperator with no execute/success callback and no inlets or outlets never runs.
    """
    try:
        from airflow.models.taskinstance import TaskInstance

        schedulable = getattr(TaskInstance, "is_task_schedulable", None)
        if schedulable is not None:
            return bool(schedulable(task))
    except ImportError:
        pass
    empty = safe_getattr(task, "inherits_from_empty_operator")
    if empty is None:
        empty = any(cls.__name__ == "EmptyOperator" for cls in type(task).__mro__)
    if not empty:
        return True
    hooks = (
        "on_execute_callback",
        "on_success_callback",
        "has_on_execute_callback",
        "has_on_success_callback",
    )
    if any(safe_getattr(task, name) for name in hooks):
        return True
    return bool(safe_getattr(task, "outlets") or safe_getattr(task, "inlets"))


def emits_ol_events(task: Any, dag_id: str | None) -> bool:
    """Whether the task's run will produce events: its emission policy allows them, and it runs at all."""
    from airflow.providers.openlineage.describe.emission_policy import resolve_task_emission_policy

    try:
        allowed = resolve_task_emission_policy(task, dag_id or "", task.task_id, quiet=True).emit
    except Exception:  # noqa: BLE001 - the facet states what the policy would do; unknown means yes
        allowed = True
    return allowed and _runs_at_all(task)


def labelled_edges(dag: Any) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """
    Labelled edges by source task or group id: ``(edges to tasks, edges to whole groups)``.

    Airflow records an edge that leaves or enters a task group at the group's join nodes
    (``<group>.downstream_join_id`` / ``upstream_join_id``); those are named by their group here.
    """
    edge_info = safe_getattr(dag, "edge_info") or {}
    if not edge_info:
        return {}
    entering: dict[str, str] = {}
    leaving: dict[str, str] = {}
    for group_id, group in (safe_getattr(dag, "task_group_dict") or {}).items():
        entering[safe_getattr(group, "upstream_join_id")] = group_id
        leaving[safe_getattr(group, "downstream_join_id")] = group_id
    edges: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for source, targets in edge_info.items():
        to_tasks: dict[str, Any] = {}
        to_groups: dict[str, Any] = {}
        for target, info in sorted((targets or {}).items()):
            if target in entering:
                to_groups[entering[target]] = _json_native(info)
            else:
                to_tasks[target] = _json_native(info)
        edges[leaving.get(source, source)] = (to_tasks, to_groups)
    return edges


def describe_dag_structure(dag: Any) -> dict[str, Any]:
    """``tasks`` and ``taskGroups`` of the ``airflow`` job facet (DAG START)."""
    from airflow.providers.openlineage.describe.run_ids import get_fully_qualified_class_name

    edges = labelled_edges(dag)
    tasks: dict[str, Any] = {}
    for task in sorted(safe_getattr(dag, "tasks") or [], key=lambda t: t.task_id):
        group = safe_getattr(task, "task_group")
        to_tasks, to_groups = edges.get(task.task_id, ({}, {}))
        tasks[task.task_id] = {
            "operator": get_fully_qualified_class_name(task),
            "task_group": safe_getattr(group, "group_id"),
            "emits_ol_events": emits_ol_events(task, safe_getattr(dag, "dag_id")),
            "ui_color": safe_getattr(task, "ui_color"),
            "ui_fgcolor": safe_getattr(task, "ui_fgcolor"),
            "ui_label": safe_getattr(task, "label", task.task_id),
            "is_setup": bool(safe_getattr(task, "is_setup", False)),
            "is_teardown": bool(safe_getattr(task, "is_teardown", False)),
            "downstream_task_ids": sorted(safe_getattr(task, "downstream_task_ids") or []),
            "downstream_task_edges": to_tasks,
            "downstream_group_edges": to_groups,
        }
    groups: dict[str, Any] = {}
    root = safe_getattr(dag, "task_group")
    pending = list((safe_getattr(root, "children") or {}).values())
    while pending:
        node = pending.pop()
        children = safe_getattr(node, "children")
        if children is None:
            continue
        parent = safe_getattr(node, "parent_group")
        to_tasks, to_groups = edges.get(node.group_id, ({}, {}))
        groups[node.group_id] = {
            "parent_group": safe_getattr(parent, "group_id"),
            "ui_color": safe_getattr(node, "ui_color"),
            "ui_fgcolor": safe_getattr(node, "ui_fgcolor"),
            "ui_label": safe_getattr(node, "label", node.group_id),
            "downstream_task_edges": to_tasks,
            "downstream_group_edges": to_groups,
        }
        pending.extend(children.values())
    return {"taskTree": {}, "taskGroups": dict(sorted(groups.items())), "tasks": tasks}


def fetch_dag_run_state(dag_id: str, run_id: str, dag_run_state: str) -> dict[str, Any]:
    """``airflowState`` fields: each task instance's state and duration, read in a session of its own."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    states: dict[str, str] = {}
    durations: dict[str, float] = {}
    with create_session() as session:
        rows = session.execute(
            select(
                TaskInstance.task_id,
                TaskInstance.map_index,
                TaskInstance.state,
                TaskInstance.duration,
                TaskInstance.start_date,
                TaskInstance.end_date,
            ).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
        ).all()
    # One entry per task id, as today's provider has it: a mapped task shows its highest map index.
    for task_id, _map_index, state, duration, start_date, end_date in sorted(
        rows, key=lambda row: (row[0], -1 if row[1] is None else row[1])
    ):
        key = task_id
        states[key] = to_json_value(state) or "none"
        if duration is not None:
            durations[key] = float(duration)
        elif end_date and start_date:
            durations[key] = (end_date - start_date).total_seconds()
        else:
            durations[key] = 0.0
    return {"dagRunState": dag_run_state, "tasksState": states, "tasksDuration": durations}
