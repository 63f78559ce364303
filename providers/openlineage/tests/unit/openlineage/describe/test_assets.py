"""Outlets a task attaches while it runs (``outlet_events``) are found through the public mapping."""

from __future__ import annotations

from types import SimpleNamespace

from airflow.sdk import Asset, AssetAlias
from airflow.sdk.execution_time.context import OutletEventAccessors

from airflow.providers.openlineage.describe.assets import get_runtime_outlet_assets


def _ti(outlet_events) -> SimpleNamespace:
    return SimpleNamespace(get_template_context=lambda: {"outlet_events": outlet_events})


def test_extras_and_alias_additions_become_runtime_outlets():
    events = OutletEventAccessors()
    events[Asset(name="report", uri="s3://bucket/report")].extra = {"rows": 3}
    events[AssetAlias("daily")].add(Asset(name="day1", uri="s3://bucket/day=1"), extra={"part": 1})
    _ = events[
        Asset(name="untouched", uri="s3://bucket/untouched")
    ]  # touched, nothing attached: not an outlet
    found = {
        (asset.uri, alias.name if alias else None, tuple(asset.extra.items()))
        for asset, alias in get_runtime_outlet_assets(_ti(events))
    }
    assert found == {
        ("s3://bucket/report", None, (("rows", 3),)),
        ("s3://bucket/day=1", "daily", (("part", 1),)),
    }


def test_any_mapping_of_assets_works_too():
    """Code (and other providers' tests) may hand over any mapping keyed by assets and aliases."""

    class Events:  # iterates its keys, indexes by them: all ``outlet_events`` is asked for
        def __init__(self, pairs):
            self.pairs = pairs

        def __iter__(self):
            return iter([key for key, _ in self.pairs])

        def __getitem__(self, key):
            return next(value for k, value in self.pairs if k is key)

    asset = Asset(name="k", uri="s3://b/k")
    found = get_runtime_outlet_assets(_ti(Events([(asset, SimpleNamespace(extra={"k": "v"}))])))
    assert [(a.uri, alias, a.extra) for a, alias in found] == [("s3://b/k", None, {"k": "v"})]


def test_no_context_means_no_runtime_outlets():
    assert get_runtime_outlet_assets(SimpleNamespace()) == []
    assert get_runtime_outlet_assets(_ti(None)) == []
