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
In the supervisor (the worker process that forks task runners): close the run of a runner that died.

The Task SDK supervisor is the first to learn that its runner exited without reporting a final state
(SIGKILL, the OOM killer, a crash in C code): it then reports the task instance failed (or up for
retry) to the API server, and no listener hook runs anywhere. Right after that report, this watch
reads the runner's attempt notice (:mod:`~airflow.providers.openlineage.task_runner.attempt_notice`); a notice
still there means the runner never reached its terminal event, so the attempt's FAIL is queued on
this process's background emitter (a daemon thread: the supervisor's own work never waits for it).

Installed when the provider's listener is imported (the scheduler, before it starts LocalExecutor
workers; a worker that loads plugins). Nothing here talks to the runner's supervisor channel.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
from collections.abc import Callable
from typing import Any

from airflow.providers.openlineage.config import client_config
from airflow.providers.openlineage.describe.events import build_runner_death_event
from airflow.providers.openlineage.emission.background import get_background_emitter
from airflow.providers.openlineage.task_runner.attempt_notice import take_notice

log = logging.getLogger(__name__)

_FAILED_STATES = frozenset({"failed", "up_for_retry"})
_WRAPPED = "_openlineage_watch"


def death_message(exit_code: int | None) -> str:
    """What the FAIL event says of the runner's end."""
    if exit_code is not None and exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = f"signal {-exit_code}"
        return f"Task runner was killed by {name} before it reported a final state"
    return f"Task runner exited with code {exit_code} before it reported a final state"


def after_runner_exit(supervisor: Any) -> None:
    """Queue the FAIL of a runner that died before its terminal event; nothing else."""
    runner_pid = getattr(supervisor, "pid", None)
    if not isinstance(runner_pid, int) or runner_pid == os.getpid():
        return  # in-process runs (``dags test``) have no separate runner
    notice = take_notice(runner_pid)
    if notice is None:
        return
    final_state = getattr(supervisor, "final_state", None)
    state = str(getattr(final_state, "value", final_state))
    if state not in _FAILED_STATES:
        # SERVER_TERMINATED: the state was changed from outside (the API server sent its event).
        return
    message = death_message(getattr(supervisor, "_exit_code", None))
    try:
        config = client_config.resolved_client_config()
    except client_config.ClientConfigError:
        return  # logged once by client_config
    emitter = get_background_emitter(lambda: client_config.build_client(config))
    event = build_runner_death_event(notice, message)
    if emitter.submit(event):
        log.warning(
            "OpenLineage: the task runner of %s died (%s); its FAIL event is sent by the supervisor",
            notice["job_name"],
            message,
        )


def _watched(update_state: Callable[[Any], Any]) -> Callable[[Any], Any]:
    @functools.wraps(update_state)
    def update_task_state_if_needed(self: Any) -> Any:
        try:
            return update_state(self)
        finally:
            try:
                after_runner_exit(self)
            except Exception as err:  # noqa: BLE001 - the supervisor must go on whatever lineage does
                log.warning("OpenLineage runner-death check failed: %s: %s", type(err).__name__, err)

    setattr(update_task_state_if_needed, _WRAPPED, True)
    return update_task_state_if_needed


def install_supervisor_watch() -> bool:
    """Wrap the supervisor's final-state report (once per process); False where the SDK has none."""
    try:
        from airflow.sdk.execution_time.supervisor import ActivitySubprocess
    except ImportError:
        return False
    update_state = getattr(ActivitySubprocess, "update_task_state_if_needed", None)
    if update_state is None:
        return False
    if getattr(update_state, _WRAPPED, False):
        return True
    ActivitySubprocess.update_task_state_if_needed = _watched(update_state)  # type: ignore[method-assign]
    return True


__all__ = ["after_runner_exit", "death_message", "install_supervisor_watch"]
