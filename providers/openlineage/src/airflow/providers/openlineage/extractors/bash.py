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
"""``BashOperator``: the (rendered, redacted) command as a ``sourceCode`` job facet."""

from __future__ import annotations

from typing import Any

from openlineage.client.facet_v2 import source_code_job

from airflow.providers.openlineage.extractors.base import BaseExtractor, OperatorLineage
from airflow.providers.openlineage.extractors.source import unknown_operator_facet


class BashExtractor(BaseExtractor):
    """The command is all we know; secrets in it are masked with the rest of the event."""

    @classmethod
    def get_operator_classnames(cls) -> list[str]:
        return ["BashOperator"]

    def _execute_extraction(self) -> OperatorLineage:
        job_facets: dict[str, Any] = {}
        command = getattr(self.operator, "bash_command", None)
        if self.source_code_enabled and isinstance(command, str):
            job_facets["sourceCode"] = source_code_job.SourceCodeJobFacet(language="bash", sourceCode=command)
        return OperatorLineage(
            job_facets=job_facets, run_facets=unknown_operator_facet(self.operator, "BashOperator")
        )
