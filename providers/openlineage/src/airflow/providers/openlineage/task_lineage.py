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
Task-event lineage in the task runner: what the listener's task hooks hand their work to.

One :class:`TaskLineage` per task-runner process. At START it chooses the sender (fork or thread) and
fixes the attempt's deadline, then for every event runs extraction and event building in a bounded
thread whose supervisor requests the main thread serves (``extractors.supervisor_broker``) and hands the
event to the sender, which redacts it off the main thread (:class:`~.redaction.DeferredRedaction`).
The terminal event closes the sender. All of it is bounded by one
:class:`~airflow.providers.openlineage.emission.deadline.AttemptDeadline` per task attempt.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from typing import Any

from openlineage.client.event_v2 import RunState

from airflow.providers.openlineage import client_config, conf
from airflow.providers.openlineage.airflow_description import one_event_build
from airflow.providers.openlineage.custom_facets import get_user_provided_run_facets
from airflow.providers.openlineage.emission import metrics
from airflow.providers.openlineage.emission.attempt import AttemptEmission, task_success_overtime
from airflow.providers.openlineage.emission.base import EmissionMode, EventSender, OpenLineageEvent
from airflow.providers.openlineage.emission.deadline import AttemptDeadline, FixedDeadline
from airflow.providers.openlineage.emission.fork_sender import ForkSender
from airflow.providers.openlineage.emission.spool import Spool, configured_spool
from airflow.providers.openlineage.emission.spooling import Spooling
from airflow.providers.openlineage.emission.thread_sender import ThreadSender
from airflow.providers.openlineage.emission_policy import EmissionPolicy, resolve_task_emission_policy
from airflow.providers.openlineage.events import (
    TaskRunIdentity,
    build_task_event,
    get_dag_run_from_ti,
    utcnow,
)
from airflow.providers.openlineage.extractors.base import OperatorLineage
from airflow.providers.openlineage.extractors.manager import ExtractorManager
from airflow.providers.openlineage.extractors.supervisor_broker import state_reported_at
from airflow.providers.openlineage.redaction import DeferredRedaction, redact_event, sensitive_values

log = logging.getLogger(__name__)

_STATE_BY_EVENT = {"START": "running", "COMPLETE": "success", "FAIL": "failed", "SKIPPED": "skipped"}
# At most this many events of one attempt are held (extras waiting for the main thread, and each
# sender's queue): a task running thousands of statements is bounded, START and the terminal event
# are never the ones dropped.
MAX_ATTEMPT_EVENTS = 4096


def _ti_state(event_name: str) -> Any:
    """The TaskInstanceState an event stands for (what custom facet functions receive)."""
    from airflow.utils.state import TaskInstanceState

    return TaskInstanceState(_STATE_BY_EVENT[event_name])


def _attempt_of(task_instance: Any) -> tuple[Any, ...]:
    """What tells one task attempt from another in this runner."""
    return (task_instance.dag_id, task_instance.task_id, task_instance.run_id, task_instance.try_number)


def _conf_and_params(task_instance: Any) -> list[Any]:
    """The DAG run's ``conf`` and the task's (and DAG's) ``params``, as plain dicts; what can be read."""
    found: list[Any] = []
    dag_run = getattr(task_instance, "dag_run", None)
    conf_value = getattr(dag_run, "conf", None)
    if isinstance(conf_value, dict):
        found.append(conf_value)
    task = getattr(task_instance, "task", None)
    for owner in (task, getattr(task, "dag", None)):
        params = getattr(owner, "params", None)
        dump = getattr(params, "dump", None)
        try:
            found.append(dump() if callable(dump) else dict(params or {}))
        except Exception:  # noqa: BLE001 - unreadable params hold nothing we can mask
            continue
    return found


def make_sender(
    mode: EmissionMode, client_factory: Callable[[], Any], close_timeout: float, spool: Spool | None = None
) -> EventSender:
    """The task-event sender for ``mode``; with a spool, what cannot be delivered is kept on disk."""
    if mode is EmissionMode.THREAD:
        sender = ThreadSender(
            client_factory,
            name="openlineage-task-sender",
            max_queue_size=MAX_ATTEMPT_EVENTS,
            spooling=Spooling(spool),
            replay_on_close=True,
        )
        sender.start()  # idle until START: handing START over then never waits for a thread to start
        return sender
    return ForkSender(
        client_factory,
        close_timeout=close_timeout,
        max_queue_size=MAX_ATTEMPT_EVENTS,
        spooling=Spooling(spool),
        replay_on_close=True,
    )


class TaskLineage:
    """Emits one task attempt's START and terminal events within one deadline."""

    def __init__(self) -> None:
        self._emission: AttemptEmission | None = None
        self._extractor_manager: ExtractorManager | None = None
        self._config: dict[str, Any] | None = None
        self._config_ok = False
        self._attempt: tuple[Any, ...] | None = None
        self._policy = EmissionPolicy.defaults()
        self._extra_lock = threading.Lock()
        self._extra_events: collections.deque[OpenLineageEvent] = collections.deque()
        self._extras_dropped = 0
        self._finished = True
        self._also_mask: frozenset[str] | None = None
        self._identity: tuple[tuple[Any, ...], TaskRunIdentity] | None = None

    @property
    def extractor_manager(self) -> ExtractorManager:
        if self._extractor_manager is None:
            self._extractor_manager = ExtractorManager()
        return self._extractor_manager

    @property
    def emission(self) -> AttemptEmission | None:
        return self._emission

    def _client_factory(self) -> Any:
        return client_config.build_client(self._config, announce=False)

    def _emission_for(self, task_instance: Any) -> AttemptEmission | None:
        """The attempt's emission, or None when the emission policy turns its events off."""
        attempt = _attempt_of(task_instance)
        if attempt != self._attempt:
            self._attempt = attempt
            self._emission = None
            self._also_mask = None
            self._policy = resolve_task_emission_policy(
                task_instance.task, task_instance.dag_id, task_instance.task_id
            )
            if not self._policy.emit:
                log.info("OpenLineage events of task `%s` are turned off by the emission policy", attempt[1])
            else:
                timeout = conf.execution_timeout()
                mode = EmissionMode.THREAD if conf.execute_in_thread() else EmissionMode.FORK
                sender = make_sender(
                    mode, self._client_factory, close_timeout=timeout, spool=configured_spool()
                )
                self._emission = AttemptEmission(sender, AttemptDeadline(timeout, task_success_overtime()))
                self._finished = False
        return self._emission

    @property
    def policy(self) -> EmissionPolicy:
        """The emission policy of the current attempt."""
        return self._policy

    def accepts_extra_events(self) -> bool:
        """True between START and the terminal event of an attempt whose events are on."""
        return self._emission is not None and not self._finished

    def submit_extra(self, event: OpenLineageEvent) -> None:
        """
        An event emitted by task code (public API, a provider's own query events) during the attempt.

        It joins the attempt's sender, so the terminal deadline bounds it too. Safe from any thread;
        only the task runner's main thread touches the sender. At most ``MAX_ATTEMPT_EVENTS`` wait;
        beyond that the oldest is dropped and counted.
        """
        with self._extra_lock:
            if len(self._extra_events) >= MAX_ATTEMPT_EVENTS:
                self._extra_events.popleft()
                self._extras_dropped += 1
                metrics.incr("emit.dropped")
                if self._extras_dropped == 1:
                    log.warning("OpenLineage: too many events emitted by the task; dropping the oldest")
            self._extra_events.append(event)
        if threading.current_thread() is threading.main_thread():
            self._flush_extra()

    def _flush_extra(self) -> None:
        with self._extra_lock:
            events, self._extra_events = self._extra_events, collections.deque()
        if self._emission is not None:
            for event in events:
                self._emission.submit_extra(event)

    def _build(self, event_name: str, task_instance: Any, error: Any = None) -> DeferredRedaction | None:
        """Runs in the bounded extraction thread: configuration, extraction, event (redacted later)."""
        with one_event_build():
            return self._build_one(event_name, task_instance, error)

    def _build_one(self, event_name: str, task_instance: Any, error: Any) -> DeferredRedaction | None:
        if not self._config_ok:
            try:
                self._config = client_config.resolved_client_config()
            except client_config.ClientConfigError:
                return None  # logged by client_config (once per distinct error); retried next event
            self._config_ok = True
        event_time = None if event_name == "START" else utcnow()
        state = _ti_state(event_name)
        if self._policy.extract_operator_metadata:
            manager = self.extractor_manager
            lineage = manager.extract_metadata(
                None, task_instance.task, state, task_instance, controls=self._policy
            )
            for child in manager.child_events:
                self.submit_extra(redact_event(child, self._secrets_of(task_instance)))
        else:
            lineage = OperatorLineage()
        run_facets = {**lineage.run_facets, **get_user_provided_run_facets(task_instance, state)}
        event = build_task_event(
            RunState.COMPLETE if event_name == "SKIPPED" else RunState[event_name],
            task_instance,
            inputs=lineage.inputs,
            outputs=lineage.outputs,
            extra_run_facets=run_facets,
            extra_job_facets=lineage.job_facets,
            error=error,
            event_time=event_time,
            include_full_task_info=self._policy.include_full_task_info,
            identity=self._identity_of(task_instance),
        )
        # Redacted by the sender, off this thread, just before it is serialised.
        return DeferredRedaction(event, self._secrets_of(task_instance))

    def _identity_of(self, task_instance: Any) -> TaskRunIdentity:
        """
        The attempt's run identity (run id, parent, root): derived at its first event only.

        Kept with the attempt it belongs to, so a late build of an earlier attempt cannot hand its
        identity to the next one.
        """
        attempt = _attempt_of(task_instance)
        if self._identity is None or self._identity[0] != attempt:
            self._identity = (attempt, TaskRunIdentity(task_instance, get_dag_run_from_ti(task_instance)))
        return self._identity[1]

    def _secrets_of(self, task_instance: Any) -> frozenset[str]:
        """Values under sensitive keys of the run's ``conf`` and the task's ``params`` (once per attempt)."""
        if self._also_mask is None:
            self._also_mask = sensitive_values(*_conf_and_params(task_instance))
        return self._also_mask

    def on_running(self, task_instance: Any) -> None:
        emission = self._emission_for(task_instance)
        if emission is None:
            return
        event = emission.build_start(lambda: self._build("START", task_instance))
        self._flush_extra()
        emission.send_start(event)

    def on_terminal(self, event_name: str, task_instance: Any, error: Any = None) -> None:
        emission = self._emission_for(task_instance)
        if emission is None:
            return
        event = emission.build_terminal(
            event_name, lambda: self._build(event_name, task_instance, error), state_reported_at()
        )
        self._flush_extra()
        self._finished = True
        emission.send_terminal(event, event_name)
        log.info(emission.summary())

    def finish(self) -> None:
        """Before the task runner stops: what is pending goes out or is let go; no child is left."""
        emission = self._emission
        if emission is None:
            return
        if not self._finished:
            # No terminal event in this runner (deferred, rescheduled, awaiting input): START may
            # still be on its way, and the runner exits right after this hook.
            self._flush_extra()
            self._finished = True
            emission.end_without_terminal()
            log.info(emission.summary())
            return
        sender = emission.sender
        if not isinstance(sender, ForkSender):
            return
        # Nothing outstanding: the idle child is told to end (no new fork can start here). Else it
        # is terminated: the runner is stopping and the terminal phase already had its deadline.
        # Children that only had their exit left are reaped: none outlives the runner.
        if sender.pending or not sender.close(FixedDeadline(0.6)):
            sender.abandon(FixedDeadline(0.5))
        sender.reap(FixedDeadline(0.5))
