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
Reading Airflow objects without being hurt by them: attributes whose properties may raise, and the
running task's template context. The bottom of ``describe/``: it imports nothing of the provider.
"""

from __future__ import annotations

from typing import Any


def safe_getattr(obj: Any, name: str, default: Any = None) -> Any:
    """``getattr`` that also swallows errors raised by properties."""
    try:
        return getattr(obj, name, default)
    except Exception:  # noqa: BLE001 - a misbehaving property must not break lineage
        return default


def template_context(task_instance: Any) -> dict[str, Any]:
    """
    The running task's template context: the one the task runner built and the task itself uses.

    A runtime TI keeps it once built (``_cached_template_context``), but ``get_template_context()``
    validates params and re-derives the run's dates on every call; lineage only reads from it (the
    DAG run, ``outlet_events``, the reschedule count), so the kept one is read where it exists.
    """
    cached = safe_getattr(task_instance, "_cached_template_context")
    if isinstance(cached, dict) and "dag_run" in cached:
        return cached
    return task_instance.get_template_context()


__all__ = ["safe_getattr", "template_context"]
