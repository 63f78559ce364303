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
The OpenLineage listener: decides *what* to emit on Airflow's state changes, and hands it on.

* Task hooks in the task runner go to :class:`~airflow.providers.openlineage.task_lineage.TaskLineage`
  (bounded extraction, fork or thread sending, one deadline per task attempt).
* DAG-run hooks (scheduler) and task state changes made from outside the task (the API server's
  "mark success/failed", the scheduler noticing an external change) build a small event and queue it
  on the process's :class:`~airflow.providers.openlineage.emission.background.BackgroundEmitter`,
  which never blocks and never forks.

Every hook is guarded: an internal error logs one WARNING line and Airflow carries on.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from openlineage.client.event_v2 import RunState
from pluggy import HookimplMarker

from airflow.providers.openlineage import client_config
from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter

log = logging.getLogger(__name__)
hookimpl = HookimplMarker("airflow")


def _guarded(hook: Callable[..., None]) -> Callable[..., None]:
    """Run a hook body; any error becomes one WARNING line, never an exception into Airflow."""

    @functools.wraps(hook)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            hook(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - the one boundary where everything is caught
            log.warning(
                "OpenLineage %s failed, the task/DAG run is not affected: %s: %s",
                hook.__name__,
                type(err).__name__,
                err,
            )

    return wrapper


def _is_runtime_task_instance(task_instance: Any) -> bool:
    """True in the task runner; False for the ORM model the API server and scheduler pass."""
    return not type(task_instance).__module__.startswith("airflow.models")


class OpenLineageListener:
    """Airflow listener emitting OpenLineage events."""

    def __init__(self) -> None:
        self.adapter = OpenLineageAdapter()
        self._task_lineage: Any = None

    @property
    def task_lineage(self) -> Any:
        if self._task_lineage is None:
            from airflow.providers.openlineage.task_lineage import TaskLineage

            self._task_lineage = TaskLineage()
        return self._task_lineage

    @property
    def extractor_manager(self) -> Any:
        return self.task_lineage.extractor_manager

    def active_task_lineage(self) -> Any:
        """The task attempt's lineage while its events are being produced (task runner only), else None."""
        if self._task_lineage is not None and self._task_lineage.accepts_extra_events():
            return self._task_lineage
        return None

    # -- task instance hooks -------------------------------------------------------------------

    @hookimpl
    @_guarded
    def on_task_instance_running(self, previous_state: Any, task_instance: Any) -> None:
        if not _is_runtime_task_instance(task_instance):
            return
        from airflow.providers.openlineage.extractors.supervisor_broker import install_routing_comms

        install_routing_comms()  # from now on lineage threads reach the supervisor only via the broker
        if _is_sensor_reschedule(task_instance):
            log.debug("OpenLineage: skipping START of a rescheduled sensor poke")
            return
        self.task_lineage.on_running(task_instance)

    @hookimpl
    @_guarded
    def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
        if _is_runtime_task_instance(task_instance):
            self.task_lineage.on_terminal("COMPLETE", task_instance)
        else:
            self._manual_state_change(RunState.COMPLETE, task_instance)

    @hookimpl
    @_guarded
    def on_task_instance_skipped(self, previous_state: Any, task_instance: Any) -> None:
        if _is_runtime_task_instance(task_instance):
            self.task_lineage.on_terminal("SKIPPED", task_instance)
        else:
            self._manual_state_change(RunState.COMPLETE, task_instance)

    @hookimpl
    @_guarded
    def on_task_instance_failed(self, previous_state: Any, task_instance: Any, error: Any = None) -> None:
        if _is_runtime_task_instance(task_instance):
            self.task_lineage.on_terminal("FAIL", task_instance, error)
        else:
            self._manual_state_change(RunState.FAIL, task_instance, error)

    # -- DAG run hooks -------------------------------------------------------------------------

    @hookimpl
    @_guarded
    def on_dag_run_running(self, dag_run: Any, msg: str) -> None:
        self._emit_dag_run(RunState.START, dag_run, msg)

    @hookimpl
    @_guarded
    def on_dag_run_success(self, dag_run: Any, msg: str) -> None:
        self._emit_dag_run(RunState.COMPLETE, dag_run, msg)

    @hookimpl
    @_guarded
    def on_dag_run_failed(self, dag_run: Any, msg: str) -> None:
        self._emit_dag_run(RunState.FAIL, dag_run, msg)

    # -- lifecycle -----------------------------------------------------------------------------

    @hookimpl
    @_guarded
    def on_starting(self, component: Any) -> None:
        log.debug("OpenLineage listener starting in %s", type(component).__name__)

    @hookimpl
    @_guarded
    def before_stopping(self, component: Any) -> None:
        if self._task_lineage is not None:
            self._task_lineage.finish()

    # -- helpers -------------------------------------------------------------------------------

    def _background(self) -> Any:
        """The process's emitter; None while the client configuration is unusable (logged once)."""
        from airflow.providers.openlineage.emission.background import get_background_emitter

        try:
            config = client_config.resolved_client_config()
        except client_config.ClientConfigError:
            return None
        return get_background_emitter(lambda: client_config.build_client(config))

    def _emit_dag_run(self, state: RunState, dag_run: Any, msg: str | None) -> None:
        from airflow.providers.openlineage.events import add_dag_run_state_facet, build_dag_run_event
        from airflow.providers.openlineage.utils.emission_policy import resolve_dag_emission_policy
        from airflow.providers.openlineage.utils.redaction import redact_event

        if not resolve_dag_emission_policy(dag_run.dag_id, getattr(dag_run, "dag", None)).emit:
            log.info("OpenLineage events of DAG `%s` are turned off by the emission policy", dag_run.dag_id)
            return
        event = redact_event(build_dag_run_event(state, dag_run, msg))
        finish = None
        if state != RunState.START:  # task states are read on the emitter's thread, not here
            finish = functools.partial(
                add_dag_run_state_facet,
                dag_id=dag_run.dag_id,
                run_id=dag_run.run_id,
                dag_run_state=str(getattr(dag_run.state, "value", dag_run.state)),
            )
        emitter = self._background()
        if emitter is not None:
            emitter.submit(event, finish)

    def _manual_state_change(self, state: RunState, task_instance: Any, error: Any = None) -> None:
        from airflow.providers.openlineage.events import build_manual_task_event
        from airflow.providers.openlineage.utils.redaction import redact_event

        emitter = self._background()
        if emitter is not None:
            emitter.submit(redact_event(build_manual_task_event(state, task_instance, error)))


def _is_sensor_reschedule(task_instance: Any) -> bool:
    task = getattr(task_instance, "task", None)
    if not getattr(task, "reschedule", False):
        return False
    try:
        return bool(task_instance.get_template_context().get("task_reschedule_count", 0))
    except Exception:  # noqa: BLE001 - no context: not a reschedule we can tell
        return False


@functools.cache
def get_openlineage_listener() -> OpenLineageListener:
    """The process-wide listener (the plugin registers this same object)."""
    return OpenLineageListener()
