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
Metrics of the emission path, sent through Airflow's ``Stats`` (StatsD / OpenTelemetry).

Names, all prefixed ``ol.``: ``emit.success``, ``emit.failed``, ``emit.dropped``, ``emit.timeout``,
``emit.worker_replaced``, ``spool.spooled``, ``spool.replayed``, ``spool.dropped.<reason>`` (counters),
``spool.bytes`` (gauge) and ``emit.duration`` (timer). The docs' metrics reference lists
what each counts. Reporting a metric never raises.
"""

from __future__ import annotations

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


def incr(name: str) -> None:
    try:
        stats = _stats()
        if stats is not None:
            stats.incr(_PREFIX + name)
    except Exception:  # noqa: BLE001 - metrics are best effort
        pass


def timing(name: str, seconds: float) -> None:
    try:
        stats = _stats()
        if stats is not None:
            stats.timing(_PREFIX + name, seconds * 1000)
    except Exception:  # noqa: BLE001 - metrics are best effort
        pass


def gauge(name: str, value: float) -> None:
    try:
        stats = _stats()
        if stats is not None:
            stats.gauge(_PREFIX + name, value)
    except Exception:  # noqa: BLE001 - metrics are best effort
        pass
