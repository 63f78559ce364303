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
"""An operator that does nothing and reports empty lineage."""

from __future__ import annotations

from typing import Any

from airflow.providers.openlineage.extractors.base import OperatorLineage

try:
    from airflow.sdk import BaseOperator
except ImportError:  # pragma: no cover
    from airflow.models.baseoperator import BaseOperator  # type: ignore[no-redef]


class EmptyOperator(BaseOperator):
    """Does nothing; unlike Airflow's EmptyOperator it always runs, so its events are emitted."""

    ui_color = "#e8f7e4"

    def execute(self, context: Any) -> None:
        pass

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        return OperatorLineage()

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        return OperatorLineage()

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> OperatorLineage:
        return OperatorLineage()
