"""
``fetch_dag_run_records`` against a real SQLite database with Airflow's own tables.

Its narrow queries must read what Airflow's ``DagRun`` relationships give (``dag_versions``, ``note``,
``deadlines``), which is what today's provider puts in the event: the ORM object is the oracle.
"""

from __future__ import annotations

import contextlib
import datetime
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, insert
from sqlalchemy.orm import Session

from airflow.providers.openlineage.describe import airflow_description

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _row(table: Any, **given: Any) -> dict[str, Any]:
    """``given``, plus a plain value for every other NOT NULL column without a default."""
    values = dict(given)
    for column in table.columns:
        if isinstance(values.get(column.name), uuid.UUID) and _python_type(column) is str:
            values[column.name] = str(values[column.name])  # Airflow 3.1 keeps some ids as strings
        if column.name in values or column.nullable or column.default is not None:
            continue
        if column.server_default is not None or column.autoincrement is True:
            continue
        python_type = _python_type(column)
        if python_type is datetime.datetime:
            values[column.name] = NOW
        elif python_type in (int, float):
            values[column.name] = 0
        elif python_type is bool:
            values[column.name] = False
        elif python_type is uuid.UUID:
            values[column.name] = uuid.uuid4()
        elif python_type is dict:
            values[column.name] = {}
        else:
            values[column.name] = "x"
    return values


def _python_type(column: Any) -> type:
    try:
        return column.type.python_type
    except NotImplementedError:
        return str


@pytest.fixture
def session_factory(tmp_path, monkeypatch) -> Iterator[Any]:
    from airflow.models import import_all_models
    from airflow.models.base import Base
    from airflow.utils import session as airflow_session

    import_all_models()
    engine = create_engine(f"sqlite:///{tmp_path / 'airflow.db'}")
    Base.metadata.create_all(engine)

    @contextlib.contextmanager
    def create_session() -> Iterator[Session]:
        with Session(engine) as session:
            yield session
            session.commit()

    monkeypatch.setattr(airflow_session, "create_session", create_session)
    yield create_session
    engine.dispose()


def _insert(session: Session, model: Any, **values: Any) -> None:
    session.execute(insert(model.__table__).values(_row(model.__table__, **values)))


def _seed(session: Session, *, bundle_version: str | None, note: str | None) -> None:
    from airflow.models.dag import DagModel
    from airflow.models.dag_version import DagVersion
    from airflow.models.dagrun import DagRun, DagRunNote
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskinstancehistory import TaskInstanceHistory

    _insert(session, DagModel, dag_id="d")
    versions = [uuid.UUID(int=n) for n in (3, 1, 2)]  # ids sort as 1 < 2 < 3, inserted out of order
    for number, version_id in enumerate(versions, start=1):
        _insert(
            session,
            DagVersion,
            id=version_id,
            dag_id="d",
            version_number=number,
            bundle_name="dags-folder",
            bundle_version=bundle_version,
        )
    _insert(
        session,
        DagRun,
        id=7,
        dag_id="d",
        run_id="r",
        logical_date=NOW,
        data_interval_start=NOW,
        data_interval_end=NOW,
        bundle_version=bundle_version,
        created_dag_version_id=versions[0],
    )
    # Task instances on two of the versions, an earlier try of one of them on the third.
    for task_id, version_id in (("a", versions[1]), ("b", versions[1]), ("c", versions[0])):
        run_task = {"dag_id": "d", "run_id": "r", "task_id": task_id, "map_index": -1}
        _insert(session, TaskInstance, id=uuid.uuid4(), dag_version_id=version_id, **run_task)
    earlier_try = {"dag_id": "d", "run_id": "r", "task_id": "a", "map_index": -1, "try_number": 1}
    _insert(
        session, TaskInstanceHistory, task_instance_id=uuid.uuid4(), dag_version_id=versions[2], **earlier_try
    )
    if note is not None:
        _insert(session, DagRunNote, dag_run_id=7, content=note)


def _version_ids(versions: list[Any]) -> list[str]:
    return [str(v.id) for v in versions]


@pytest.mark.parametrize("bundle_version", [None, "abc123"], ids=["latest-bundle", "versioned-bundle"])
def test_records_match_what_airflows_dag_run_reads(session_factory, bundle_version):
    from airflow.models.dagrun import DagRun
    from sqlalchemy import select

    with session_factory() as session:
        _seed(session, bundle_version=bundle_version, note="checked by a person")
    records = airflow_description.fetch_dag_run_records("d", "r")
    with session_factory() as session:
        run = session.scalar(select(DagRun).where(DagRun.run_id == "r"))
        expected_versions = _version_ids(run.dag_versions)
        expected_note = run.note
        expected_deadlines = airflow_description.plain_deadlines(run)
    assert _version_ids(records["dag_versions"]) == expected_versions
    assert len(expected_versions) == (1 if bundle_version else 3)
    assert records["note"] == expected_note == "checked by a person"
    assert records["deadlines"] == expected_deadlines == []


def test_what_the_hook_read_is_not_read_again_and_an_unknown_run_has_nothing(session_factory):
    with session_factory() as session:
        _seed(session, bundle_version=None, note=None)
    records = airflow_description.fetch_dag_run_records("d", "r", skip={"note", "deadlines"})
    assert set(records) == {"dag_versions"}
    assert airflow_description.fetch_dag_run_records("d", "r")["note"] is None
    assert airflow_description.fetch_dag_run_records("d", "missing") == {"dag_versions": [], "deadlines": []}
