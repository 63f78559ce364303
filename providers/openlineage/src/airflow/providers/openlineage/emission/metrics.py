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
Metrics of the lineage path, sent through Airflow's ``Stats`` (StatsD / OpenTelemetry).

Names, all prefixed ``ol.``. Those today's provider sends, under the same names and tags:
``emit.attempts`` (timer per send; tags ``event_type``, ``transport_type``), ``emit.failed``
(counter), ``extract`` (timer per extraction; tags ``event_type``, ``operator_name``) and
``event.size`` (gauge, bytes of the serialised event; tags ``event_type``, ``transport_type``).
This provider's own: ``emit.success``, ``emit.dropped``, ``emit.timeout``, ``emit.worker_replaced``,
``spool.spooled``, ``spool.replayed``, ``spool.dropped.<reason>`` (counters), ``spool.bytes``
(gauge) and ``emit.duration`` (timer). The docs' metrics reference lists what each counts.
Reporting a metric never raises.
"""

from __future__ import annotations

import functools
from typing import Any

_PREFIX = "ol."


def _stats() -> Any:
    try:
        from airflow.sdk.observability.stats import Stats
    except ImportError:
        try:
            from airflow.stats import Stats
        except ImportError:
            return None
    return Stats


@functools.cache
def enabled() -> bool:
    """True when Airflow sends metrics (StatsD or OpenTelemetry): only then is an event size measured."""
    try:
        from airflow.configuration import conf

        return conf.getboolean("metrics", "statsd_on", fallback=False) or conf.getboolean(
            "metrics", "otel_on", fallback=False
        )
    except Exception:  # noqa: BLE001 - metrics are best effort
        return False


def _tagged(tags: dict[str, str | None] | None) -> dict[str, Any]:
    pruned = {key: value for key, value in (tags or {}).items() if value}
    return {"tags": pruned} if pruned else {}


def incr(name: str, tags: dict[str, str | None] | None = None) -> None:
    try:
        stats = _stats()
        if stats is not None:
            stats.incr(_PREFIX + name, **_tagged(tags))
    except Exception:  # noqa: BLE001 - metrics are best effort
        pass


def timing(name: str, seconds: float, tags: dict[str, str | None] | None = None) -> None:
    try:
        stats = _stats()
        if stats is not None:
            stats.timing(_PREFIX + name, seconds * 1000, **_tagged(tags))
    except Exception:  # noqa: BLE001 - metrics are best effort
        pass


def gauge(name: str, value: float, tags: dict[str, str | None] | None = None) -> None:
    try:
        stats = _stats()
        if stats is not None:
            stats.gauge(_PREFIX + name, value, **_tagged(tags))
    except Exception:  # noqa: BLE001 - metrics are best effort
        pass
