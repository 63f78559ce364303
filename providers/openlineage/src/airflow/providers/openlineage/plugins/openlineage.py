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
"""The Airflow plugin: registers the listener and the macros unless lineage is disabled."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow.providers.openlineage import conf


def _is_disabled() -> bool:
    try:
        return conf.is_disabled()
    except Exception:  # noqa: BLE001 - a broken configuration disables lineage, never Airflow
        return True


class OpenLineageProviderPlugin(AirflowPlugin):
    """
    Listener, ``lineage_*`` macros and a hook-lineage reader; nothing at all when disabled.

    The reader is what makes Airflow collect the datasets and SQL that hooks report (without a
    registered reader the collector is a no-op), which become task lineage when no extractor gave any.
    """

    name = "OpenLineageProviderPlugin"
    if _is_disabled():
        macros: list = []
        listeners: list = []
        hook_lineage_readers: list = []
    else:
        from airflow.providers.common.compat.sdk import HookLineageReader

        from airflow.providers.openlineage.plugins.listener import get_openlineage_listener  # type: ignore[misc]
        from airflow.providers.openlineage.plugins.macros import (  # type: ignore[misc]
            lineage_job_name,
            lineage_job_namespace,
            lineage_parent_id,
            lineage_root_job_name,
            lineage_root_job_namespace,
            lineage_root_parent_id,
            lineage_root_run_id,
            lineage_run_id,
        )

        macros = [
            lineage_job_namespace,
            lineage_job_name,
            lineage_run_id,
            lineage_parent_id,
            lineage_root_run_id,
            lineage_root_job_name,
            lineage_root_job_namespace,
            lineage_root_parent_id,
        ]
        listeners = [get_openlineage_listener()]
        hook_lineage_readers = [HookLineageReader]
