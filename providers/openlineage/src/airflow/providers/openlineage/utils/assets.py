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
"""Translate Airflow assets into OpenLineage datasets."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from openlineage.client.event_v2 import Dataset


def to_openlineage_dataset(obj: Any) -> Dataset | None:
    """An OpenLineage dataset for an inlet/outlet: kept as is, or translated from an Airflow ``Asset``."""
    if isinstance(obj, Dataset):
        return obj
    uri = getattr(obj, "uri", None)
    if type(obj).__name__ != "Asset" or not isinstance(uri, str):
        return None
    converted = _provider_conversion(obj)
    if converted is not None:
        return converted
    parts = urlsplit(uri)
    if not parts.scheme:
        return None
    namespace = f"{parts.scheme}://{parts.netloc}" if parts.netloc else parts.scheme
    name = parts.path.lstrip("/") if parts.netloc else parts.path
    return Dataset(namespace=namespace, name=name or uri)


def _provider_conversion(asset: Any) -> Dataset | None:
    """Use a provider's registered converter for the asset's scheme, as Airflow's providers define."""
    try:
        from airflow.providers.common.compat.openlineage.utils.utils import translate_airflow_asset
    except ImportError:
        return None
    try:
        return translate_airflow_asset(asset, None)
    except Exception:  # noqa: BLE001 - fall back to the plain URI translation
        return None
