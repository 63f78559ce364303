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
Translate Airflow assets (inlets, outlets, hook lineage) into OpenLineage datasets.

An asset's URI is normalised by Airflow, then handed to the converter the provider owning its scheme
registered (``asset-uris`` / ``to_openlineage_converter`` in provider info: ``file`` by common.io,
``s3`` by amazon, ``gs`` by google, ``postgres`` by postgres, ...). Such a converter names the
dataset exactly as the other OpenLineage integrations do. Without a converter the URI is split the
simple way (``<scheme>://<authority>`` / path), so an asset still shows up as a dataset.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from openlineage.client.event_v2 import Dataset

from airflow.providers.openlineage.describe.run_ids import template_context

log = logging.getLogger(__name__)

_PATH_SCHEMES = ("s3", "gs", "gcs", "hdfs", "file", "abfss", "wasbs")


@functools.cache
def _converters() -> dict[str, Any]:
    """Scheme -> converter, from the providers installed in this process."""
    try:
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

        return dict(ProvidersManagerTaskRuntime().asset_to_openlineage_converters)
    except ImportError:
        from airflow.providers_manager import ProvidersManager

        return dict(ProvidersManager().asset_to_openlineage_converters)


def _asset_fallback(uri: str) -> Dataset | None:
    parts = urlsplit(uri)
    if parts.scheme not in _PATH_SCHEMES:
        log.debug("OpenLineage: no converter for asset %s; install the provider of its scheme", uri)
        return None
    return dataset_from_uri(uri)


def translate_airflow_asset(asset: Any, lineage_context: Any) -> Dataset | None:
    """The dataset a provider's converter gives for ``asset``; None when no converter takes it."""
    try:
        from airflow.sdk import Asset

        uri = getattr(asset, "normalized_uri", None) or asset.uri
        scheme = urlsplit(uri).scheme.lower()
        convert = _converters().get(scheme)
        if convert is None:
            return None
        return convert(Asset(uri=uri, extra=getattr(asset, "extra", None) or {}), lineage_context)
    except Exception as err:  # noqa: BLE001 - an asset we cannot translate is not a task problem
        log.debug("OpenLineage could not translate asset %r: %s", asset, err)
        return None


def dataset_from_uri(uri: str) -> Dataset | None:
    """Plain split of a URI: path-like schemes give ``scheme://netloc`` + path, others ``scheme`` + rest."""
    parts = urlsplit(uri)
    if not parts.scheme or "/" not in uri:
        return None
    scheme = "gs" if parts.scheme == "gcs" else parts.scheme
    if scheme in _PATH_SCHEMES:
        return Dataset(namespace=f"{scheme}://{parts.netloc}", name=parts.path.lstrip("/") or "/")
    return Dataset(namespace=scheme, name=f"{parts.netloc}{parts.path}")


def _is_asset(obj: Any) -> bool:
    return type(obj).__name__ == "Asset" and isinstance(getattr(obj, "uri", None), str)


def to_openlineage_dataset(obj: Any) -> Dataset | None:
    """An inlet/outlet as a dataset: OpenLineage datasets as they are, assets translated, else None."""
    if isinstance(obj, Dataset):
        return obj
    if _is_asset(obj):
        return translate_airflow_asset(obj, None) or _asset_fallback(obj.uri)
    return _from_compat_lineage_object(obj)


def _from_compat_lineage_object(obj: Any) -> Dataset | None:
    """Airflow 2 style ``Table`` / ``File`` lineage entities still found in old DAGs."""
    kind = type(obj).__name__
    if kind == "File" and isinstance(getattr(obj, "url", None), str):
        return dataset_from_uri(obj.url)
    if kind == "Table" and getattr(obj, "cluster", None) and getattr(obj, "name", None):
        return dataset_from_table(obj)
    return None


def _owner_name(user: Any) -> str:
    """``user:First Last <email>``, the form 2.20.3 writes for a table's owners."""
    names = " ".join(part for part in (user.first_name, user.last_name) if part)
    return f"user:{names + ' ' if names else ''}<{user.email}>"


def dataset_from_table(table: Any) -> Dataset:
    """A ``Table`` lineage entity as ``<cluster>`` / ``<database>.<name>`` with columns, owners, doc."""
    from openlineage.client.facet_v2 import documentation_dataset, ownership_dataset, schema_dataset

    facets: dict[str, Any] = {}
    if columns := getattr(table, "columns", None):
        facets["schema"] = schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(
                    name=column.name, type=column.data_type, description=column.description
                )
                for column in columns
            ]
        )
    if owners := getattr(table, "owners", None):
        facets["ownership"] = ownership_dataset.OwnershipDatasetFacet(
            owners=[ownership_dataset.Owner(name=_owner_name(user), type="") for user in owners]
        )
    if description := getattr(table, "description", None):
        facets["documentation"] = documentation_dataset.DocumentationDatasetFacet(description=description)
    return Dataset(namespace=f"{table.cluster}", name=f"{table.database}.{table.name}", facets=facets)


def dedupe(datasets: list[Dataset]) -> list[Dataset]:
    """Keep the first dataset of each (namespace, name)."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for dataset in datasets:
        key = (dataset.namespace, dataset.name)
        if key not in seen:
            seen.add(key)
            unique.append(dataset)
    return unique


def get_runtime_outlet_assets(task_instance: Any) -> list[tuple[Any, Any]]:
    """
    ``(asset, alias or None)`` for each outlet a task attached while it ran.

    ``outlet_events[alias].add(asset)`` gives ``(asset, alias)``; ``outlet_events[asset].extra = ...``
    (or a yielded ``Metadata``) gives ``(asset, None)`` with that extra. Static outlets are already
    in ``task.outlets``; these are known only once the task ran, and only in the task runner.
    """
    try:
        context = template_context(task_instance)
    except Exception:  # noqa: BLE001 - no runtime context (not a running task)
        return []
    return runtime_outlet_assets(context)


def runtime_outlet_assets(context: Mapping[str, Any]) -> list[tuple[Any, Any]]:
    """:func:`get_runtime_outlet_assets` from a task's template context already at hand."""
    outlet_events = context.get("outlet_events")
    if outlet_events is None:
        return []
    found: list[tuple[Any, Any]] = []
    # The mapping protocol (iterating gives the assets and aliases written to, indexing their
    # accessors), as Airflow documents ``outlet_events``: no private attribute is read.
    for key in list(outlet_events):
        try:
            found.extend(_runtime_outlets_of(key, outlet_events[key]))
        except Exception as err:  # noqa: BLE001 - one odd outlet event costs only itself
            log.debug("OpenLineage could not read a runtime outlet event: %s", err)
    return found


def _runtime_outlets_of(key: Any, accessor: Any) -> list[tuple[Any, Any]]:
    """The runtime outlets behind one ``outlet_events`` entry (an asset or an alias, or their unique keys)."""
    from airflow.sdk import Asset, AssetAlias

    if isinstance(key, AssetAlias) or hasattr(key, "to_asset_alias"):
        alias = key if isinstance(key, AssetAlias) else key.to_asset_alias()
        pairs = []
        for event in getattr(accessor, "asset_alias_events", None) or []:
            extra = {
                **(getattr(event, "dest_asset_extra", None) or {}),
                **(getattr(event, "extra", None) or {}),
            }
            dest = event.dest_asset_key
            pairs.append((Asset(name=dest.name, uri=dest.uri, extra=extra), alias))
        return pairs
    extra = getattr(accessor, "extra", None) or {}
    if extra and (isinstance(key, Asset) or hasattr(key, "to_asset")):
        asset = key if isinstance(key, Asset) else key.to_asset()
        return [(Asset(name=asset.name, uri=asset.uri, extra=dict(extra)), None)]
    return []
