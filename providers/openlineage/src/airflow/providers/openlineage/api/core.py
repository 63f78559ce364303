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
"""The core of the public API: whether lineage is on here, and sending a ready-made event."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from openlineage.client.event_v2 import Dataset

from airflow.providers.openlineage import conf

log = logging.getLogger(__name__)

__all__ = ["emit", "is_openlineage_active"]


MANUAL_QUERY_COUNTER_KEY = "_openlineage_manual_query_counter"


def is_openlineage_active() -> bool:
    """True when the provider is configured and its listener is registered in this process."""
    try:
        if conf.is_disabled():
            return False
        from airflow.providers.openlineage.plugins.listener import get_openlineage_listener

        return get_openlineage_listener() is not None
    except Exception:  # noqa: BLE001 - a broken configuration means inactive
        return False


def _adapter() -> Any:
    from airflow.providers.openlineage.plugins.listener import get_openlineage_listener

    return get_openlineage_listener().adapter


def _fail(raise_on_error: bool, what: str, err: Exception) -> None:
    if raise_on_error:
        raise err
    log.warning("OpenLineage %s failed: %s: %s", what, type(err).__name__, err)


def emit(event: Any, *, raise_on_error: bool = False) -> Any:
    """Send a ready-made OpenLineage event; returns it redacted (None when not sent)."""
    try:
        if not is_openlineage_active():
            log.info("OpenLineage is not active; event not emitted")
            return None
        return _adapter().emit(event)
    except Exception as err:  # noqa: BLE001 - see raise_on_error
        _fail(raise_on_error, "emit", err)
        return None


def get_task_instance_from_context() -> Any:
    """The running task instance (RuntimeError outside a task)."""
    try:
        from airflow.sdk import get_current_context

        context = get_current_context()
    except Exception as err:
        raise RuntimeError("no task instance given and none is running in this thread") from err
    task_instance = context.get("ti") or context.get("task_instance")
    if task_instance is None:
        raise RuntimeError("no task instance given and none in the current context")
    return task_instance


def next_query_counter_from_context() -> str:
    """A per-task-try counter for manual query job names (random when there is no task context)."""
    try:
        from airflow.sdk import get_current_context

        context: Any = get_current_context()  # a plain mapping here: the counter is ours
    except Exception:  # noqa: BLE001 - outside a task: any unique suffix will do
        import uuid

        return uuid.uuid4().hex[:8]
    counter = int(context.get(MANUAL_QUERY_COUNTER_KEY, 0)) + 1
    context[MANUAL_QUERY_COUNTER_KEY] = counter
    return str(counter)


def _task_emits(task_instance: Any, resolve: Callable[..., Any] | None = None) -> bool:
    """Whether the emission policy lets ``task_instance`` emit (``resolve``: the resolver to ask)."""
    if resolve is None:
        from airflow.providers.openlineage.describe.emission_policy import resolve_task_emission_policy

        resolve = resolve_task_emission_policy

    policy = resolve(
        operator=getattr(task_instance, "task", None),
        dag_id=task_instance.dag_id,
        task_id=task_instance.task_id,
    )
    if not policy.emit:
        log.info(
            "OpenLineage events of task `%s` are turned off by the emission policy", task_instance.task_id
        )
    return policy.emit


def _check_datasets(inputs: list[Any] | None, outputs: list[Any] | None) -> None:
    if not inputs and not outputs:
        raise ValueError("at least one of inputs / outputs must be a non-empty list")
    for item in [*(inputs or []), *(outputs or [])]:
        if not isinstance(item, Dataset):
            raise TypeError(f"inputs and outputs must be OpenLineage Dataset objects, not {type(item)!r}")
