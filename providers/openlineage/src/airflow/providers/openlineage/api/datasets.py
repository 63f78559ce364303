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
"""Report a task's datasets while it runs: one RUNNING event of the task's own run."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from openlineage.client.event_v2 import Dataset, RunState

from airflow.providers.openlineage.api.core import (
    _adapter,
    _check_datasets,
    _fail,
    _task_emits,
    get_task_instance_from_context,
    is_openlineage_active,
)

log = logging.getLogger(__name__)

__all__ = ["emit_dataset_lineage"]


def emit_dataset_lineage(
    *,
    inputs: list[Dataset] | None = None,
    outputs: list[Dataset] | None = None,
    task_instance: Any = None,
    additional_run_facets: dict[str, Any] | None = None,
    additional_job_facets: dict[str, Any] | None = None,
    raise_on_error: bool = False,
) -> Any:
    """
    Report datasets the running task read or wrote, as a ``RUNNING`` event of the task's own run.

    Use it where the operator cannot describe its datasets itself (a ``@task`` that reads a file).
    Returns the emitted (redacted) event, or None.
    """
    try:
        _check_datasets(inputs, outputs)
        if not is_openlineage_active():
            log.info("OpenLineage is not active; dataset lineage not emitted")
            return None
        task_instance = task_instance or get_task_instance_from_context()
        if not _task_emits(task_instance):
            return None
        from airflow.utils.state import TaskInstanceState

        from airflow.providers.openlineage.describe.events import (
            build_task_event,
            get_user_provided_run_facets,
        )

        run_facets = {
            **(additional_run_facets or {}),
            **get_user_provided_run_facets(task_instance, TaskInstanceState.RUNNING),
        }
        event = build_task_event(
            RunState.RUNNING,
            task_instance,
            inputs=inputs,
            outputs=outputs,
            extra_run_facets=run_facets,
            extra_job_facets=additional_job_facets,
            event_time=dt.datetime.now(dt.UTC),
        )
        return _adapter().emit(event)
    except Exception as err:  # noqa: BLE001 - see raise_on_error
        _fail(raise_on_error, "emit_dataset_lineage", err)
        return None
