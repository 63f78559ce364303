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
Resolve ``airflow_connection_api_key`` auth blocks in an OpenLineage client configuration.

A transport's ``auth`` may name an Airflow connection instead of holding the API key itself; the
key is then read from that connection (password first, then well-known extra keys), so it lives in
Airflow's secret storage rather than in ``airflow.cfg``.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.exceptions import AirflowException

log = logging.getLogger(__name__)

AIRFLOW_CONNECTION_API_KEY_AUTH_TYPE = "airflow_connection_api_key"
_EXTRA_KEY_CANDIDATES = ("apiKey", "api_key", "apikey", "token", "access_token")


class OpenLineageAirflowConnectionConfigError(AirflowException):
    """The connection named by ``config_conn_id`` does not hold a usable client configuration."""


class OpenLineageAirflowConnectionAuthError(AirflowException):
    """An ``airflow_connection_api_key`` auth block cannot be turned into an API key."""


def get_connection(conn_id: str) -> Any:
    """Fetch a connection through the Task SDK where available, else through Airflow core."""
    try:
        from airflow.sdk import BaseHook
    except ImportError:  # pragma: no cover - Airflow 3.1+ always ships the Task SDK
        from airflow.hooks.base import BaseHook  # type: ignore[no-redef,attr-defined]
    return BaseHook.get_connection(conn_id)


class AirflowConnectionConfigProvider:
    """Read a whole OpenLineage client configuration from a connection's ``extra`` JSON."""

    def __init__(self, conn_id: str) -> None:
        if not conn_id:
            raise OpenLineageAirflowConnectionConfigError("[openlineage] config_conn_id names no connection")
        self.conn_id = conn_id

    def get_config(self) -> dict[str, Any]:
        conn = get_connection(self.conn_id)
        extra = conn.extra_dejson
        if not isinstance(extra, dict) or not isinstance(extra.get("transport"), dict):
            msg = (
                f"Connection `{self.conn_id}` named by [openlineage] config_conn_id must have an extra JSON "
                "object with a `transport` object"
            )
            raise OpenLineageAirflowConnectionConfigError(msg)
        return extra


class AirflowConnectionTokenProvider:
    """Turn one ``airflow_connection_api_key`` auth block into an API key."""

    def __init__(self, config: dict[str, Any], default_conn_id: str | None = None) -> None:
        conn_id: str | None = config.get("conn_id") or default_conn_id
        self.extra_key = config.get("extra_key")
        if not conn_id:
            msg = (
                f"Auth type `{AIRFLOW_CONNECTION_API_KEY_AUTH_TYPE}` needs `conn_id` "
                "(or [openlineage] config_conn_id)"
            )
            raise OpenLineageAirflowConnectionAuthError(msg)
        self.conn_id: str = conn_id

    def get_api_key(self) -> str:
        conn = get_connection(self.conn_id)
        password = (conn.password or "").strip()
        if password:
            return password
        extra = conn.extra_dejson if isinstance(conn.extra_dejson, dict) else {}
        keys = (self.extra_key,) if self.extra_key else _EXTRA_KEY_CANDIDATES
        for key in keys:
            value = extra.get(key)
            if value:
                return str(value)
        msg = f"Connection `{self.conn_id}` holds no API key (password or extra {', '.join(keys)})"
        raise OpenLineageAirflowConnectionAuthError(msg)


def resolve_airflow_connection_auth(config: Any, config_conn_id: str | None = None) -> Any:
    """Replace, in place, every ``airflow_connection_api_key`` auth block with an ``api_key`` one."""
    if isinstance(config, dict):
        auth = config.get("auth")
        if isinstance(auth, dict) and auth.get("type") == AIRFLOW_CONNECTION_API_KEY_AUTH_TYPE:
            api_key = AirflowConnectionTokenProvider(auth, default_conn_id=config_conn_id).get_api_key()
            config["auth"] = {"type": "api_key", "apiKey": api_key}
        for value in config.values():
            resolve_airflow_connection_auth(value, config_conn_id)
    elif isinstance(config, list):
        for item in config:
            resolve_airflow_connection_auth(item, config_conn_id)
    return config
