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
"""``[openlineage] custom_run_facets``: user functions that add run facets to every task event."""

from __future__ import annotations

import logging
from typing import Any

from airflow.providers.openlineage import conf
from airflow.providers.openlineage.config.imports import import_configured

log = logging.getLogger(__name__)


def get_user_provided_run_facets(task_instance: Any, ti_state: Any) -> dict[str, Any]:
    """
    Call each configured ``func(task_instance, ti_state) -> dict[str, RunFacet] | None``.

    A function that raises or returns something else than a dict costs only its own facets (one
    WARNING); a key returned by two functions keeps the later one (WARNING).
    """
    facets: dict[str, Any] = {}
    for func in import_configured("custom_run_facets", conf.custom_run_facets()):
        name = f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', func)}"
        try:
            result = func(task_instance, ti_state)
        except Exception as err:  # noqa: BLE001 - a user's facet function never costs the event
            log.warning(
                "OpenLineage custom run facet function %s failed: %s: %s", name, type(err).__name__, err
            )
            continue
        if not result:
            continue
        if not isinstance(result, dict):
            log.warning(
                "OpenLineage custom run facet function %s returned %s, not a dict",
                name,
                type(result).__name__,
            )
            continue
        for key in result.keys() & facets.keys():
            log.warning("OpenLineage custom run facet `%s` returned by %s replaces an earlier one", key, name)
        facets.update(result)
    return facets
