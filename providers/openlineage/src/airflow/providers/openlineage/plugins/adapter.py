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
The OpenLineage adapter: the client, run-id builders and synchronous emission.

Kept for the code of other providers that import it (``OpenLineageAdapter.build_*_run_id``,
``get_openlineage_listener().adapter.emit``). :meth:`OpenLineageAdapter.emit` never blocks its
caller on the backend: inside a running task the event joins that task attempt's bounded sender
(fork or thread, sent before the attempt's terminal event, within its ``execution_timeout``);
elsewhere it goes to the process's background emitter.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from openlineage.client.event_v2 import RunState

from airflow.providers.openlineage import client_config
from airflow.providers.openlineage.redaction import redact_event
from airflow.providers.openlineage.run_ids import (
    _PRODUCER,
    build_dag_run_ol_run_id,
    build_task_instance_ol_run_id,
)

log = logging.getLogger(__name__)

__all__ = ["_PRODUCER", "OpenLineageAdapter", "RunState"]


class OpenLineageAdapter:
    """Owns this process's OpenLineage client; emits synchronously (for callers that want that)."""

    def __init__(self, client: Any = None, secrets_masker: Any = None) -> None:
        self._client = client
        self._secrets_masker = secrets_masker
        self._lock = threading.Lock()

    def get_openlineage_config(self) -> dict[str, Any] | None:
        """The resolved client configuration (None: the client discovers its own)."""
        return client_config.resolved_client_config()

    def get_or_create_openlineage_client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = client_config.build_client(self.get_openlineage_config())
            return self._client

    @staticmethod
    def build_dag_run_id(dag_id: str, logical_date: Any, clear_number: int) -> str:
        return build_dag_run_ol_run_id(dag_id=dag_id, logical_date=logical_date, clear_number=clear_number)

    @staticmethod
    def build_task_instance_run_id(
        dag_id: str, task_id: str, try_number: int, logical_date: Any, map_index: int
    ) -> str:
        return build_task_instance_ol_run_id(
            dag_id=dag_id,
            task_id=task_id,
            try_number=try_number,
            logical_date=logical_date,
            map_index=map_index,
        )

    def emit(self, event: Any) -> Any:
        """Redact ``event`` and hand it to a bounded sender; never raises. Returns the redacted event."""
        try:
            event = redact_event(event)
            if self._client is not None:  # a caller-supplied client: the caller chose synchronous sending
                self._client.emit(event)
                return event
            from airflow.providers.openlineage.plugins.listener import get_openlineage_listener

            task_lineage = get_openlineage_listener().active_task_lineage()
            if task_lineage is not None:
                task_lineage.submit_extra(event)
            else:
                from airflow.providers.openlineage.emission.background import get_background_emitter

                config = self.get_openlineage_config()
                get_background_emitter(lambda: client_config.build_client(config)).submit(event)
        except Exception as err:  # noqa: BLE001 - lineage never raises into its caller
            log.warning("Failed to emit OpenLineage event: %s: %s", type(err).__name__, err)
        return event
