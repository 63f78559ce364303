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

One :class:`TaskLineage` per task-runner process; it hosts one :class:`~.task_attempt.TaskAttempt`
at a time, one after another (``airflow dags test`` runs every task instance in one process). When an
attempt's segment begins it chooses the sender (fork or thread) and fixes the deadline, then for every
event runs extraction and event building in a bounded thread whose supervisor requests the main thread
serves (``extractors.supervisor_broker``) and hands the event to the sender, which redacts it off the
main thread (:class:`~.redaction.DeferredRedaction`). The terminal event closes the sender. All of it
is bounded by one :class:`~airflow.providers.openlineage.emission.deadline.AttemptDeadline` per
segment. A segment that resumes an attempt (after deferral or reschedule) sends no START.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from openlineage.client.event_v2 import RunState

from airflow.providers.openlineage import conf
from airflow.providers.openlineage.config import client_config
from airflow.providers.openlineage.describe.airflow_description import one_event_build
from airflow.providers.openlineage.describe.assets import runtime_outlet_assets
from airflow.providers.openlineage.describe.emission_policy import (
    EmissionPolicy,
    resolve_task_emission_policy,
)
from airflow.providers.openlineage.describe.events import (
    TaskRunIdentity,
    build_task_event,
    get_dag_run_from_ti,
    get_user_provided_run_facets,
    utcnow,
)
from airflow.providers.openlineage.describe.introspection import template_context
from airflow.providers.openlineage.emission import extra_events, metrics
from airflow.providers.openlineage.emission.base import EmissionMode, EventSender, OpenLineageEvent
from airflow.providers.openlineage.emission.deadline import AttemptDeadline, FixedDeadline
from airflow.providers.openlineage.emission.fork_sender import ForkSender
from airflow.providers.openlineage.emission.spool import Spool, configured_spool
from airflow.providers.openlineage.emission.spooling import Spooling
from airflow.providers.openlineage.emission.thread_sender import ThreadSender
from airflow.providers.openlineage.extractors.base import OperatorLineage
from airflow.providers.openlineage.extractors.manager import ExtractorManager
from airflow.providers.openlineage.redact.redaction import DeferredRedaction, redact_event, sensitive_values
from airflow.providers.openlineage.task_runner.attempt_emission import AttemptEmission, task_success_overtime
from airflow.providers.openlineage.task_runner.attempt_notice import remove_notice, write_notice
from airflow.providers.openlineage.task_runner.child_context import ChildLineageContext, container_family
from airflow.providers.openlineage.task_runner.supervisor_broker import state_reported_at
from airflow.providers.openlineage.task_runner.task_attempt import (
    MAX_ATTEMPT_EVENTS,
    AttemptKey,
    AttemptPhase,
    TaskAttempt,
    is_resumed_segment,
)

if TYPE_CHECKING:
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

log = logging.getLogger(__name__)

#: ``event_type`` tag of the ``ol.extract`` timer, as today's provider sets it per hook.
_METRIC_EVENT_TYPES = {"START": "running", "COMPLETE": "complete", "FAIL": "fail", "SKIPPED": "complete"}
_STATE_BY_EVENT = {"START": "running", "COMPLETE": "success", "FAIL": "failed", "SKIPPED": "skipped"}


def _drop_child_context(attempt: TaskAttempt) -> None:
    """The attempt's lineage variables leave the process's environment (once)."""
    if attempt.child_context is not None:
        attempt.child_context.remove()
        attempt.child_context = None


def _attempt_key(task_instance: RuntimeTaskInstance) -> AttemptKey:
    """The attempt ``task_instance`` stands for (read here, once per hook)."""
    try:
        map_index = getattr(task_instance, "map_index", -1)
    except Exception:  # noqa: BLE001 - a misbehaving property: the unmapped index
        map_index = -1
    return AttemptKey.of(
        task_instance.dag_id,
        task_instance.task_id,
        task_instance.run_id,
        map_index,
        task_instance.try_number,
    )


def _ti_state(event_name: str) -> Any:
    """The TaskInstanceState an event stands for (what custom facet functions receive)."""
    from airflow.utils.state import TaskInstanceState

    return TaskInstanceState(_STATE_BY_EVENT[event_name])


def _conf_and_params(task_instance: RuntimeTaskInstance) -> list[Any]:
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
    """Emits each task attempt's START and terminal events, one attempt after another."""

    def __init__(self) -> None:
        self._extractor_manager: ExtractorManager | None = None
        self._config: dict[str, Any] | None = None
        self._config_ok = False
        # Replaced whole by the main thread; other threads read it once (extras arrive from any thread).
        self._attempt: TaskAttempt | None = None
        extra_events.attach(self.take_extra)

    @property
    def extractor_manager(self) -> ExtractorManager:
        if self._extractor_manager is None:
            self._extractor_manager = ExtractorManager()
        return self._extractor_manager

    @property
    def attempt(self) -> TaskAttempt | None:
        """The attempt segment this runner hosts now (or hosted last)."""
        return self._attempt

    @property
    def emission(self) -> AttemptEmission | None:
        return self._attempt.emission if self._attempt is not None else None

    @property
    def policy(self) -> EmissionPolicy:
        """The emission policy of the current attempt."""
        return self._attempt.policy if self._attempt is not None else EmissionPolicy.defaults()

    def _client_factory(self) -> Any:
        return client_config.build_client(self._config, announce=False)

    def _begin(self, task_instance: RuntimeTaskInstance, *, resumed: bool) -> TaskAttempt:
        """
        A new segment for ``task_instance``'s attempt; one still open before it is let go first.

        A segment left open (its runner went on to another task instance without a terminal event or
        a stop hook) gets the same bounded ending as a runner that stops: what it holds goes out.
        """
        previous = self._attempt
        if previous is not None:
            if previous.open:
                self._suspend(previous)
            else:
                self._release(previous)
        key = _attempt_key(task_instance)
        policy = resolve_task_emission_policy(task_instance.task, task_instance.dag_id, task_instance.task_id)
        emission = None
        if not policy.emit:
            log.info("OpenLineage events of task `%s` are turned off by the emission policy", key.task_id)
        else:
            timeout = conf.execution_timeout()
            mode = EmissionMode.THREAD if conf.execute_in_thread() else EmissionMode.FORK
            sender = make_sender(mode, self._client_factory, close_timeout=timeout, spool=configured_spool())
            emission = AttemptEmission(sender, AttemptDeadline(timeout, task_success_overtime()))
        attempt = TaskAttempt(key, policy, emission, resumed=resumed)
        self._attempt = attempt
        return attempt

    def _open_attempt_for(self, key: AttemptKey) -> TaskAttempt | None:
        """The open segment of the attempt ``key`` names, or None."""
        attempt = self._attempt
        if attempt is not None and attempt.open and attempt.key == key:
            return attempt
        return None

    def accepts_extra_events(self) -> bool:
        """True between the beginning and the terminal event of an attempt whose events are on."""
        attempt = self._attempt
        return attempt is not None and attempt.accepts_extra_events()

    def take_extra(self, event: OpenLineageEvent) -> bool:
        """The taker attached to :mod:`.extra_events`: True when an open attempt took ``event``."""
        attempt = self._attempt
        if attempt is None or not attempt.accepts_extra_events():
            return False
        self.submit_extra(event)
        return True

    def submit_extra(self, event: OpenLineageEvent) -> None:
        """
        An event emitted by task code (public API, a provider's own query events) during the attempt.

        It joins the attempt's sender, so the terminal deadline bounds it too. Safe from any thread;
        only the task runner's main thread touches the sender. At most ``MAX_ATTEMPT_EVENTS`` wait;
        beyond that the oldest is dropped and counted. Outside an open attempt it is let go.
        """
        attempt = self._attempt
        if attempt is None or not attempt.accepts_extra_events():
            log.debug("OpenLineage: an event emitted outside a task attempt is not sent by the task's sender")
            return
        attempt.hold_extra(event)
        if threading.current_thread() is threading.main_thread():
            attempt.hand_over_extras()

    def _build(
        self,
        attempt: TaskAttempt,
        event_name: str,
        task_instance: RuntimeTaskInstance,
        error: str | BaseException | None = None,
    ) -> DeferredRedaction | None:
        """Runs in the bounded extraction thread: configuration, extraction, event (redacted later)."""
        with one_event_build():
            return self._build_one(attempt, event_name, task_instance, error)

    def _build_one(
        self,
        attempt: TaskAttempt,
        event_name: str,
        task_instance: RuntimeTaskInstance,
        error: str | BaseException | None,
    ) -> DeferredRedaction | None:
        if not self._config_ok:
            try:
                self._config = client_config.resolved_client_config()
            except client_config.ClientConfigError:
                return None  # logged by client_config (once per distinct error); retried next event
            self._config_ok = True
        event_time = None if event_name == "START" else utcnow()
        state = _ti_state(event_name)
        # What this module needs of the task instance is read first, in this frame; then the task
        # instance goes down once to each of extraction and event building (see dev/task_instance_walk).
        # (Both are kept per segment: a terminal event reuses what its START derived.)
        secrets = attempt.secrets if attempt.secrets is not None else self._secrets_of(attempt, task_instance)
        identity = attempt.identity or self._identity_of(attempt, task_instance)
        task = task_instance.task
        task_type = getattr(task, "task_type", None)
        operator_name = task_type.lower() if isinstance(task_type, str) else None
        runtime_outlets = None
        if event_name != "START":
            try:
                runtime_outlets = runtime_outlet_assets(template_context(task_instance))
            except Exception:  # noqa: BLE001 - no runtime context (not a running task): none
                runtime_outlets = []
        if attempt.policy.extract_operator_metadata:
            manager = self.extractor_manager
            started = time.monotonic()
            lineage = manager.extract_metadata(
                None,
                task,
                state,
                task_instance,
                controls=attempt.policy,
                runtime_outlets=runtime_outlets,
            )
            metrics.timing(
                "extract",
                time.monotonic() - started,
                {"event_type": _METRIC_EVENT_TYPES.get(event_name), "operator_name": operator_name},
            )
            for child in manager.child_events:
                attempt.hold_extra(redact_event(child, secrets))
        else:
            lineage = OperatorLineage()
        if event_name == "START":
            write_notice(identity)  # the supervisor closes the run if this runner dies
        event = build_task_event(
            RunState.COMPLETE if event_name == "SKIPPED" else RunState[event_name],
            task_instance,
            inputs=lineage.inputs,
            outputs=lineage.outputs,
            extra_run_facets={**lineage.run_facets, **get_user_provided_run_facets(task_instance, state)},
            extra_job_facets=lineage.job_facets,
            error=error,
            event_time=event_time,
            include_full_task_info=attempt.policy.include_full_task_info,
            identity=identity,
            runtime_outlets=runtime_outlets,
        )
        # Redacted by the sender, off this thread, just before it is serialised.
        return DeferredRedaction(event, secrets)

    @staticmethod
    def _identity_of(attempt: TaskAttempt, task_instance: RuntimeTaskInstance) -> TaskRunIdentity:
        """The attempt's run identity (run id, parent, root): derived at its segment's first event only."""
        if attempt.identity is None:
            attempt.identity = TaskRunIdentity(task_instance, get_dag_run_from_ti(task_instance))
        return attempt.identity

    @staticmethod
    def _secrets_of(attempt: TaskAttempt, task_instance: RuntimeTaskInstance) -> frozenset[str]:
        """Values under sensitive keys of the run's ``conf`` and the task's ``params`` (once per segment)."""
        if attempt.secrets is None:
            attempt.secrets = sensitive_values(*_conf_and_params(task_instance))
        return attempt.secrets

    def on_running(self, task_instance: RuntimeTaskInstance) -> None:
        """
        A runner begins (or resumes) an attempt.

        The first segment sends START; a resumed one (deferred task back from its trigger, sensor
        poking again after a reschedule) sends nothing: the attempt's START went out from the runner
        that began it, and one attempt is one run.
        """
        attempt = self._begin(task_instance, resumed=is_resumed_segment(task_instance))
        emission = attempt.emission
        if emission is None:
            return
        attempt.child_context = self._child_context(attempt, task_instance)
        if attempt.resumed:
            log.debug("OpenLineage: task attempt %s resumes; its START was sent when it began", attempt.key)
            write_notice(self._identity_of(attempt, task_instance))
            return
        event = emission.build_start(lambda: self._build(attempt, "START", task_instance))
        attempt.hand_over_extras()
        emission.send_start(event)

    def _child_context(
        self, attempt: TaskAttempt, task_instance: RuntimeTaskInstance
    ) -> ChildLineageContext | None:
        """The attempt's run handed on to the jobs its task starts, as the options say."""
        task = task_instance.task
        family = container_family(task)
        container_option = family is not None and conf.container_inject_parent_job_info(family[0])
        processes = conf.child_process_parent_job_info()
        if not (processes or container_option):
            return None
        identity = self._identity_of(attempt, task_instance)
        return ChildLineageContext.install(
            identity, task, processes=processes, container_option=container_option
        )

    def on_terminal(
        self, event_name: str, task_instance: RuntimeTaskInstance, error: str | BaseException | None = None
    ) -> None:
        key = _attempt_key(task_instance)
        attempt = self._open_attempt_for(key)
        if attempt is None:
            last = self._attempt
            if last is not None and last.key == key and last.phase is AttemptPhase.ENDED:
                log.debug("OpenLineage: attempt %s already had its terminal event", key)
                return
            # No segment began in this runner (its running hook was not called): the terminal
            # event is all this runner sends.
            attempt = self._begin(task_instance, resumed=True)
        remove_notice()  # the terminal event is this runner's to send now
        emission = attempt.emission
        if emission is None:
            attempt.phase = AttemptPhase.ENDED
            return
        event = emission.build_terminal(
            event_name, lambda: self._build(attempt, event_name, task_instance, error), state_reported_at()
        )
        attempt.hand_over_extras()
        attempt.phase = AttemptPhase.ENDED
        emission.send_terminal(event, event_name)
        # Only now, with the sender done: a client reading os.environ (its configuration from
        # OPENLINEAGE__* variables) while a key is deleted would fail with a KeyError.
        _drop_child_context(attempt)
        log.info(emission.summary())

    def _suspend(self, attempt: TaskAttempt) -> None:
        """The segment ends without a terminal event: what is pending goes out within its deadline."""
        attempt.phase = AttemptPhase.SUSPENDED
        remove_notice()
        emission = attempt.emission
        if emission is None:
            _drop_child_context(attempt)
            return
        attempt.hand_over_extras()
        emission.end_without_terminal()
        _drop_child_context(attempt)  # after the sender is done (see on_terminal)
        log.info(emission.summary())

    def finish(self) -> None:
        """Before the task runner stops: what is pending goes out or is let go; no child is left."""
        attempt = self._attempt
        if attempt is None:
            return
        if attempt.open:
            # No terminal event in this runner (deferred, rescheduled, awaiting input): START may
            # still be on its way, and the runner exits right after this hook.
            self._suspend(attempt)
        else:
            self._release(attempt)

    @staticmethod
    def _release(attempt: TaskAttempt) -> None:
        """An ended segment's fork child is let go (once): none outlives the segment or the runner."""
        _drop_child_context(attempt)  # already gone unless its terminal hook stopped half-way
        if attempt.released or attempt.emission is None:
            return
        attempt.released = True
        sender = attempt.emission.sender
        if not isinstance(sender, ForkSender):
            return
        # Nothing outstanding: the idle child is told to end (no new fork can start here). Else it
        # is terminated: the terminal phase already had its deadline. Children that only had their
        # exit left are reaped.
        if sender.pending or not sender.close(FixedDeadline(0.6)):
            sender.abandon(FixedDeadline(0.5))
        sender.reap(FixedDeadline(0.5))
