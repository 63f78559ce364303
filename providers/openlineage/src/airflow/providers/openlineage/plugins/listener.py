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

* Task hooks in the task runner go to
  :class:`~airflow.providers.openlineage.task_runner.task_lineage.TaskLineage`
  (bounded extraction, fork or thread sending, one deadline per task attempt).
* DAG-run hooks in the scheduler copy the run's plain values and hand them to the DAG-run helper
  process (:mod:`~airflow.providers.openlineage.long_lived.dag_run_process`), which builds and sends outside
  the scheduler's interpreter; elsewhere (and if the helper cannot start) DAG-run hooks and task
  state changes made from outside the task (the API server's "mark success/failed") copy what they
  need and queue it on the process's
  :class:`~airflow.providers.openlineage.emission.background.BackgroundEmitter`. Neither blocks.

Every hook is guarded: an internal error logs one WARNING line and Airflow carries on.
"""

from __future__ import annotations

import functools
import importlib
import logging
import sys
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from openlineage.client.event_v2 import RunState
from pluggy import HookimplMarker

# Everything a hook needs is imported with the plugin: in the scheduler, or the worker that forks the
# task runners, before the fork, so a task's first hook imports nothing.
from airflow.providers.openlineage import conf
from airflow.providers.openlineage.config import client_config
from airflow.providers.openlineage.describe.airflow_description import plain_deadlines
from airflow.providers.openlineage.describe.dag_run_lineage import dag_run_event
from airflow.providers.openlineage.describe.events import build_manual_task_event
from airflow.providers.openlineage.describe.run_ids import safe_getattr
from airflow.providers.openlineage.describe.snapshots import DagRunSnapshot, TaskInstanceSnapshot
from airflow.providers.openlineage.emission.background import BackgroundEmitter, get_background_emitter
from airflow.providers.openlineage.emission.daemon_pool import DaemonThreadPool
from airflow.providers.openlineage.extractors.manager import ExtractorManager
from airflow.providers.openlineage.long_lived.emitter_process import EmitterProcess
from airflow.providers.openlineage.long_lived.supervisor_watch import install_supervisor_watch
from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter
from airflow.providers.openlineage.redact.redaction import redact_event
from airflow.providers.openlineage.task_runner.supervisor_broker import install_routing_comms
from airflow.providers.openlineage.task_runner.task_lineage import TaskLineage

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
    from airflow.utils.state import TaskInstanceState
    from typing_extensions import TypeIs

log = logging.getLogger(__name__)

# Imported on a task's path only at its first event; imported here they come with the plugin, before
# the task runner is forked, instead of costing every task a few milliseconds.
_TASK_PATH_MODULES = (
    "netrc",  # requests reads ~/.netrc at its first request
    "openlineage.client.uuid",
    "airflow.sdk.definitions.asset.metadata",
    "airflow.sdk.observability.stats",
    "airflow.providers.openlineage.extractors.hook_lineage",
    "airflow.providers.openlineage.version_compat",
)


def _import_task_path() -> None:
    for name in _TASK_PATH_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:  # not in this Airflow version: the task path does without it
            continue


_import_task_path()
# In a process that supervises task runners (a LocalExecutor worker forked from the scheduler), the
# run of a runner that dies before its terminal event is closed by the supervisor.
install_supervisor_watch()

# DAG-run events waiting for the scheduler's helper process; beyond this the oldest are dropped.
DAG_RUN_QUEUE_SIZE = 1000
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


def _is_runtime_task_instance(
    task_instance: RuntimeTaskInstance | TaskInstance,
) -> TypeIs[RuntimeTaskInstance]:
    """True in the task runner; False for the ORM model the API server and scheduler pass."""
    return not type(task_instance).__module__.startswith("airflow.models")


class OpenLineageListener:
    """Airflow listener emitting OpenLineage events."""

    def __init__(self) -> None:
        self.adapter = OpenLineageAdapter()
        self._task_lineage: TaskLineage | None = None
        self._executor: DaemonThreadPool | None = None
        self._dag_run_process: EmitterProcess | None = None
        self._dag_run_process_tried = False
        self._job: Any = None

    @property
    def executor(self) -> DaemonThreadPool:
        """Daemon threads (``dag_state_change_process_pool_size`` of them) for :meth:`submit_callable`."""
        if self._executor is None:
            self._executor = DaemonThreadPool(conf.dag_state_change_process_pool_size())
        return self._executor

    def submit_callable(self, callable: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """Run ``callable`` off the caller's thread; an error it raises is one WARNING line."""
        future = self.executor.submit(callable, *args, **kwargs)
        future.add_done_callback(self.log_submit_error)
        return future

    def log_submit_error(self, future: Future) -> None:
        if (err := future.exception()) is not None:
            log.warning("OpenLineage submitted call failed: %s: %s", type(err).__name__, err)

    @property
    def task_lineage(self) -> TaskLineage:
        if self._task_lineage is None:
            self._task_lineage = TaskLineage()
        return self._task_lineage

    @property
    def extractor_manager(self) -> ExtractorManager:
        return self.task_lineage.extractor_manager

    # -- task instance hooks -------------------------------------------------------------------

    @hookimpl
    @_guarded
    def on_task_instance_running(
        self, previous_state: TaskInstanceState | None, task_instance: RuntimeTaskInstance | TaskInstance
    ) -> None:
        if not _is_runtime_task_instance(task_instance):
            return
        install_routing_comms()  # from now on lineage threads reach the supervisor only via the broker
        self.task_lineage.on_running(task_instance)

    @hookimpl
    @_guarded
    def on_task_instance_success(
        self, previous_state: TaskInstanceState | None, task_instance: RuntimeTaskInstance | TaskInstance
    ) -> None:
        if _is_runtime_task_instance(task_instance):
            self.task_lineage.on_terminal("COMPLETE", task_instance)
        else:
            self._manual_state_change(RunState.COMPLETE, task_instance)

    @hookimpl
    @_guarded
    def on_task_instance_skipped(
        self, previous_state: TaskInstanceState | None, task_instance: RuntimeTaskInstance | TaskInstance
    ) -> None:
        if _is_runtime_task_instance(task_instance):
            self.task_lineage.on_terminal("SKIPPED", task_instance)
        else:
            self._manual_state_change(RunState.COMPLETE, task_instance)

    @hookimpl
    @_guarded
    def on_task_instance_failed(
        self,
        previous_state: TaskInstanceState | None,
        task_instance: RuntimeTaskInstance | TaskInstance,
        error: str | BaseException | None = None,
    ) -> None:
        if _is_runtime_task_instance(task_instance):
            self.task_lineage.on_terminal("FAIL", task_instance, error)
        else:
            self._manual_state_change(RunState.FAIL, task_instance, error)

    # -- DAG run hooks -------------------------------------------------------------------------

    @hookimpl
    @_guarded
    def on_dag_run_running(self, dag_run: DagRun, msg: str) -> None:
        self._emit_dag_run(RunState.START, dag_run, msg)

    @hookimpl
    @_guarded
    def on_dag_run_success(self, dag_run: DagRun, msg: str) -> None:
        self._emit_dag_run(RunState.COMPLETE, dag_run, msg)

    @hookimpl
    @_guarded
    def on_dag_run_failed(self, dag_run: DagRun, msg: str) -> None:
        self._emit_dag_run(RunState.FAIL, dag_run, msg)

    # -- lifecycle -----------------------------------------------------------------------------

    @hookimpl
    @_guarded
    def on_starting(self, component: object) -> None:
        log.debug("OpenLineage listener starting in %s", type(component).__name__)
        if type(component).__name__ == "Job":
            self._job = component  # its job_type is set by its runner, after this hook
        if type(component).__name__ == "Job" and conf.spool_dir():
            # A long-lived process (scheduler, triggerer, DAG processor): its emitter replays the spool.
            self._background()
        if type(component).__name__ == "Job" and _launched_as_scheduler():
            # The helper's interpreter start-up (~2 s of CPU) then overlaps the scheduler's own rather
            # than its first loops.
            self._dag_run_helper()

    @hookimpl
    @_guarded
    def before_stopping(self, component: object) -> None:
        if self._task_lineage is not None:
            self._task_lineage.finish()
        if self._dag_run_process is not None and component is self._job:
            self._dag_run_process.shutdown()

    # -- helpers -------------------------------------------------------------------------------

    def _background(self) -> BackgroundEmitter | None:
        """The process's emitter; None while the client configuration is unusable (logged once)."""
        try:
            config = client_config.resolved_client_config()
        except client_config.ClientConfigError:
            return None
        return get_background_emitter(lambda: client_config.build_client(config))

    def _dag_run_helper(self) -> EmitterProcess | None:
        """
        The scheduler's DAG-run event helper: started with the scheduler (``on_starting``), or at the
        first DAG-run event where the command line did not tell.

        Only in the scheduler (a long-lived loop); elsewhere, or when it cannot start, None: events
        are then built on the process's emitter thread.
        """
        if not self._dag_run_process_tried and (_is_scheduler(self._job) or _launched_as_scheduler()):
            self._dag_run_process_tried = True
            self._start_dag_run_process()
        return self._dag_run_process

    def _start_dag_run_process(self) -> None:
        try:
            client_config.resolved_client_config()
        except client_config.ClientConfigError:
            return  # logged once by client_config; the in-process path skips the events the same way
        from airflow.providers.openlineage.long_lived.dag_run_process import helper_argv

        process = EmitterProcess(
            helper_argv(), max_queue_size=DAG_RUN_QUEUE_SIZE, shutdown_timeout=float(conf.execution_timeout())
        )
        if process.start():
            self._dag_run_process = process
            log.info("OpenLineage DAG-run events are built and sent by helper process %s", process.pid)

    def _emit_dag_run(self, state: RunState, dag_run: DagRun, msg: str | None) -> None:
        """
        On the scheduler's loop: copy the DAG run's values and queue them, nothing more.

        With the helper process (the scheduler), the copy is pickled for it; else the process's
        emitter thread builds the event.
        """
        process = self._dag_run_helper()
        if process is not None:
            values = DagRunSnapshot.portable_values(dag_run)
            if safe_getattr(safe_getattr(dag_run, "dag"), "deadline"):
                # Read in the loop's own transaction, as the event describes them: a new run's
                # deadlines may not be committed yet, and a successful run's are pruned in this same
                # transaction. Only DAGs with deadline alerts pay this query on the loop.
                values["deadlines"] = plain_deadlines(dag_run)
            process.submit((state, values, msg))
            return
        emitter = self._background()
        if emitter is not None:
            snapshot = DagRunSnapshot.of(dag_run)
            emitter.submit_build(snapshot.route_key, functools.partial(dag_run_event, state, snapshot, msg))

    def _manual_state_change(
        self, state: RunState, task_instance: TaskInstance, error: str | BaseException | None = None
    ) -> None:
        """On the caller's thread (an API request): copy the task instance and queue; nothing is built."""
        emitter = self._background()
        if emitter is not None:
            snapshot = TaskInstanceSnapshot.of(task_instance)
            emitter.submit_build(snapshot.route_key, functools.partial(_manual_event, state, snapshot, error))


def _manual_event(state: RunState, snapshot: TaskInstanceSnapshot, error: str | BaseException | None) -> Any:
    """On the emitter's thread: the redacted event of a state changed outside the task."""
    return redact_event(build_manual_task_event(state, snapshot, error))


def _is_scheduler(job: Any) -> bool:
    """True for the scheduler's Job (its loop is what DAG-run hooks must not slow down)."""
    return job is not None and str(getattr(job, "job_type", "")) == "SchedulerJob"


def _launched_as_scheduler() -> bool:
    """``airflow scheduler``: known from the command line at ``on_starting``, before the Job has its type."""
    return len(sys.argv) > 1 and sys.argv[1] == "scheduler"


@functools.cache
def get_openlineage_listener() -> OpenLineageListener:
    """The process-wide listener (the plugin registers this same object)."""
    return OpenLineageListener()
