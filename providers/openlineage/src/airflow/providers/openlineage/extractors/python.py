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
"""``PythonOperator``: the callable's source code as a ``sourceCode`` job facet."""

from __future__ import annotations

import inspect
from typing import Any

from openlineage.client.facet_v2 import source_code_job

from airflow.providers.openlineage.extractors.base import BaseExtractor, OperatorLineage
from airflow.providers.openlineage.extractors.source import unknown_operator_facet


class PythonExtractor(BaseExtractor):
    """No datasets can be known from arbitrary Python; the code itself is the lineage we can give."""

    @classmethod
    def get_operator_classnames(cls) -> list[str]:
        return ["PythonOperator"]

    def _execute_extraction(self) -> OperatorLineage:
        job_facets: dict[str, Any] = {}
        if self.source_code_enabled:
            code = self._source_code()
            if code is not None:
                job_facets["sourceCode"] = source_code_job.SourceCodeJobFacet(
                    language="python", sourceCode=code
                )
        return OperatorLineage(
            job_facets=job_facets, run_facets=unknown_operator_facet(self.operator, "PythonOperator")
        )

    def _source_code(self) -> str | None:
        func = getattr(self.operator, "python_callable", None)
        return None if func is None else self.get_source_code(func)

    def get_source_code(self, callable: Any) -> str | None:
        """Source of ``callable``; a builtin gives its repr, unreadable source None (one WARNING)."""
        if inspect.isbuiltin(callable):
            return str(callable)
        try:
            return inspect.getsource(callable)
        except TypeError:
            return str(callable)
        except OSError as err:
            self.log.warning("OpenLineage could not read the source of %r: %s", callable, err)
            return None
