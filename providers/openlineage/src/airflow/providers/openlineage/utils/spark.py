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
Pass the running task's lineage identity (and, optionally, the http transport) on to Spark jobs.

Operators that submit Spark applications (EMR, Glue, Dataproc, Databricks, Livy, spark-submit) call
these helpers, through ``common.compat``, to add ``spark.openlineage.*`` properties: the Spark
OpenLineage listener then reports the application as a child of this task, to the same backend.
Properties already set by the user are never overwritten, and inputs are never mutated.

This module is the public path (``airflow.providers.openlineage.utils.spark``); other providers'
tests patch its ``get_openlineage_listener``, so the transport is looked up through that name.
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.providers.openlineage.plugins.listener import OpenLineageListener

log = logging.getLogger(__name__)

_PARENT_PREFIX = "spark.openlineage.parent"
_TRANSPORT_PREFIX = "spark.openlineage.transport"


def _parent_job_information(context: Any) -> dict[str, str]:
    from airflow.providers.openlineage.plugins import macros

    ti = context["ti"]
    return {
        "spark.openlineage.parentJobNamespace": macros.lineage_job_namespace(),
        "spark.openlineage.parentJobName": macros.lineage_job_name(ti),
        "spark.openlineage.parentRunId": macros.lineage_run_id(ti),
        "spark.openlineage.rootParentRunId": macros.lineage_root_run_id(ti),
        "spark.openlineage.rootParentJobName": macros.lineage_root_job_name(ti),
        "spark.openlineage.rootParentJobNamespace": macros.lineage_job_namespace(),
    }


def _http_properties(transport: Any, prefix: str) -> dict[str, str]:
    config = transport.config
    properties = {
        f"{prefix}.type": "http",
        f"{prefix}.url": transport.url,
        f"{prefix}.endpoint": transport.endpoint,
        f"{prefix}.timeoutInMillis": str(int(transport.timeout) * 1000),
    }
    if config.compression:
        properties[f"{prefix}.compression"] = str(getattr(config.compression, "value", config.compression))
    bearer = config.auth.get_bearer() if config.auth is not None else None
    if bearer:
        properties[f"{prefix}.auth.type"] = "api_key"
        properties[f"{prefix}.auth.apiKey"] = bearer
    for name, value in (config.custom_headers or {}).items():
        properties[f"{prefix}.headers.{name}"] = value
    return properties


def get_openlineage_listener() -> OpenLineageListener:
    """The provider's listener, imported on first use (operators import this module at parse time)."""
    from airflow.providers.openlineage.plugins import listener

    return listener.get_openlineage_listener()


def _transport_information() -> dict[str, str]:
    transport = get_openlineage_listener().adapter.get_or_create_openlineage_client().transport
    kind = getattr(transport, "kind", None)
    if kind == "http":
        return _http_properties(transport, _TRANSPORT_PREFIX)
    if kind == "composite":
        properties = {
            f"{_TRANSPORT_PREFIX}.type": "composite",
            f"{_TRANSPORT_PREFIX}.continueOnFailure": str(transport.config.continue_on_failure),
        }
        children = 0
        for index, child in enumerate(transport.transports):
            if getattr(child, "kind", None) != "http":
                log.info("OpenLineage: Spark gets only http transports; `%s` is skipped", child.kind)
                continue
            children += 1
            name = child.name or f"http{index}"
            properties.update(_http_properties(child, f"{_TRANSPORT_PREFIX}.transports.{name}"))
        return properties if children else {}
    log.info("OpenLineage: Spark gets only http transports; `%s` is not passed on", kind)
    return {}


def _has_prefix(properties: dict[str, Any], prefix: str) -> bool:
    return any(str(key).startswith(prefix) for key in properties)


def inject_parent_job_information_into_spark_properties(properties: dict, context: Any) -> dict:
    """``properties`` plus this task as the Spark job's parent (unchanged if a parent is already set)."""
    if _has_prefix(properties, _PARENT_PREFIX):
        log.info("OpenLineage: Spark properties already name a parent job; left as they are")
        return properties
    return {**properties, **_parent_job_information(context)}


def inject_transport_information_into_spark_properties(properties: dict, context: Any) -> dict:
    """``properties`` plus this provider's http transport (unchanged if a transport is already set)."""
    if _has_prefix(properties, _TRANSPORT_PREFIX):
        log.info("OpenLineage: Spark properties already name a transport; left as they are")
        return properties
    return {**properties, **_transport_information()}


def _append_glue_conf(script_args: dict, properties: dict[str, str]) -> dict:
    if not properties:
        return script_args
    rendered = " --conf ".join(f"{key}={value}" for key, value in properties.items())
    existing = script_args.get("--conf")
    return {**script_args, "--conf": f"{existing} --conf {rendered}" if existing else rendered}


def inject_parent_job_information_into_glue_arguments(script_args: dict, context: Any) -> dict:
    """Glue ``--conf`` script argument extended with the parent-job properties."""
    if _PARENT_PREFIX in str(script_args.get("--conf", "")):
        return script_args
    return _append_glue_conf(script_args, _parent_job_information(context))


def inject_transport_information_into_glue_arguments(script_args: dict, context: Any) -> dict:
    """Glue ``--conf`` script argument extended with the transport properties."""
    if _TRANSPORT_PREFIX in str(script_args.get("--conf", "")):
        return script_args
    return _append_glue_conf(script_args, _transport_information())


def _with_spark_defaults(configuration_overrides: dict | None, properties: dict[str, str]) -> dict:
    overrides = copy.deepcopy(configuration_overrides or {})
    entries = overrides.setdefault("applicationConfiguration", [])
    defaults = next((e for e in entries if e.get("classification") == "spark-defaults"), None)
    if defaults is None:
        defaults = {"classification": "spark-defaults", "properties": {}}
        entries.append(defaults)
    defaults.setdefault("properties", {}).update(properties)
    return overrides


def _spark_defaults(configuration_overrides: dict | None) -> dict[str, Any]:
    for entry in (configuration_overrides or {}).get("applicationConfiguration", []) or []:
        if entry.get("classification") == "spark-defaults":
            return entry.get("properties", {}) or {}
    return {}


def inject_parent_job_information_into_emr_serverless_properties(
    configuration_overrides: dict | None, context: Any
) -> dict:
    """EMR Serverless overrides with the parent-job properties in ``spark-defaults``."""
    if _has_prefix(_spark_defaults(configuration_overrides), _PARENT_PREFIX):
        return copy.deepcopy(configuration_overrides or {})
    return _with_spark_defaults(configuration_overrides, _parent_job_information(context))


def inject_transport_information_into_emr_serverless_properties(
    configuration_overrides: dict | None, context: Any
) -> dict:
    """EMR Serverless overrides with the transport properties in ``spark-defaults``."""
    if _has_prefix(_spark_defaults(configuration_overrides), _TRANSPORT_PREFIX):
        return copy.deepcopy(configuration_overrides or {})
    return _with_spark_defaults(configuration_overrides, _transport_information())
