"""2.20.3's ``*Info`` dict classes and redactor, as ``utils.utils`` offers them."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset

from airflow.providers.openlineage.describe.airflow_description import describe_dag, describe_task
from airflow.providers.openlineage.utils.utils import (
    AssetInfo,
    DagInfo,
    DagRunInfo,
    InfoJsonEncodable,
    OpenLineageRedactor,
    TaskInfo,
    TaskInfoComplete,
)

WHEN = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


class Thing:
    def __init__(self) -> None:
        self.when = WHEN
        self.wait = dt.timedelta(seconds=90)
        self.ids = {"b"}
        self._hidden = "h"
        self.plain = 3


def test_a_subclass_shapes_the_dict_by_its_declarations():
    class Casts(InfoJsonEncodable):
        casts = {"double": lambda obj: obj.plain * 2}
        renames = {"_hidden": "shown"}
        includes = ["when", "wait", "ids", "missing"]

    class Everything(InfoJsonEncodable):
        excludes = ["plain"]

    assert Casts(Thing()) == {
        "double": 6,
        "shown": "h",
        "when": WHEN.isoformat(),
        "wait": "90.0 seconds",
        "ids": "['b']",
    }
    assert set(Everything(Thing())) == {"when", "wait", "ids", "_hidden"}


def test_includes_and_excludes_together_are_refused():
    class Both(InfoJsonEncodable):
        includes = ["plain"]
        excludes = ["when"]

    with pytest.raises(ValueError, match="not both"):
        Both(Thing())


def test_airflow_objects_give_what_the_events_carry():
    with DAG("info_dag", schedule="@daily", start_date=WHEN, tags=["t"]) as dag:
        task = EmptyOperator(task_id="t", outlets=[Asset("s3://b/k")])
    assert DagInfo(dag) == describe_dag(dag)
    assert DagInfo(dag)["timetable_summary"] == DagInfo.timetable_summary(dag)
    assert TaskInfo(task) == describe_task(task)
    assert TaskInfoComplete(task) == describe_task(task, include_full_task_info=True)
    assert "s3://b/k" in TaskInfo(task)["outlets"]
    # Every field is an attribute too, as with today's provider's Info classes.
    assert DagInfo(dag).timetable == DagInfo(dag)["timetable"]
    with pytest.raises(AttributeError):
        _ = TaskInfo(task).no_such_field


def test_inlets_and_outlets_are_also_real_json_lists():
    """2.21.0 adds ``inlets_list`` / ``outlets_list``: the string forms cannot be parsed reliably."""
    import decimal
    import json

    extra = {"quote": "it's", "flag": True, "amount": decimal.Decimal("1.5"), "password": "hunter2"}
    with DAG("lists_dag", schedule=None, start_date=WHEN):
        task = EmptyOperator(
            task_id="t", inlets=[Asset("s3://b/in", extra=extra)], outlets=[Asset("s3://b/out")]
        )
    info = TaskInfo(task)
    assert isinstance(info["inlets"], str)
    assert isinstance(info["outlets"], str)
    assert info["outlets_list"] == [{"uri": "s3://b/out", "extra": {}, "type": "asset"}]
    (inlet,) = info["inlets_list"]
    assert inlet["extra"]["quote"] == "it's"
    assert inlet["extra"]["flag"] is True
    assert inlet["extra"]["amount"] == "1.5"
    assert inlet["extra"]["password"] == "***"  # masked as in the string form
    assert "hunter2" not in info["inlets"]
    json.dumps(info)  # the whole description stays JSON
    assert TaskInfoComplete(task)["inlets_list"] == info["inlets_list"]


def test_dag_run_info_gives_the_dag_versions_data():
    version = SimpleNamespace(
        bundle_name="b", bundle_version="v1", id="x", version_number=3, version_data={"k": 1}
    )
    run = SimpleNamespace(dag_versions=[version])
    assert DagRunInfo.dag_version_info(run, "version_data") == {"k": 1}
    assert DagRunInfo.dag_version_info(run, "version_number") == 3
    with pytest.raises(ValueError, match="Unsupported"):
        DagRunInfo.dag_version_info(run, "nope")


def test_asset_info_names_its_type_and_alias():
    asset = SimpleNamespace(uri="s3://b/k", extra={"x": 1})
    assert AssetInfo(asset) == {"uri": "s3://b/k", "extra": {"x": 1}, "type": "asset"}
    assert AssetInfo(asset, "asset_event_from_alias", "al")["source_alias"] == "al"


def test_the_redactor_masks_sensitive_keys_at_any_depth():
    redactor = OpenLineageRedactor.from_masker(object())
    masked = redactor.redact({"outer": {"password": "hunter2", "fine": "ok"}})
    assert masked["outer"]["fine"] == "ok"
    assert "hunter2" not in str(masked)
