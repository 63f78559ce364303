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
Build the OpenLineage client configuration and client from ``[openlineage]`` settings.

Precedence, first match wins (the same as the provider this one replaces):

1. ``config_conn_id``: the connection's extra JSON is the whole client configuration.
2. ``config_path``: an OpenLineage YAML file (an empty file means "client defaults").
3. ``transport``: a JSON transport object.
4. Nothing: the client discovers its own configuration (``OPENLINEAGE_URL``, ``OPENLINEAGE__*``
   variables, ``OPENLINEAGE_CONFIG`` or ``openlineage.yml``).

The configuration is resolved once per process where Connections are reachable (the task runner's
main thread, or the scheduler); a failure is not remembered but retried on the next event. The
resulting plain dict is what senders build clients from, so a forked child or a sender thread never
needs the supervisor channel.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import yaml

from airflow.providers.openlineage import conf
from airflow.providers.openlineage.config.token_provider import (
    AirflowConnectionConfigProvider,
    resolve_airflow_connection_auth,
)
from airflow.providers.openlineage.redact.config_masking import mask_config_text

log = logging.getLogger(__name__)

_UNRESOLVED = object()
_lock = threading.Lock()
_resolved: Any = _UNRESOLVED
_failures_logged: set[str] = set()


class ClientConfigError(Exception):
    """The configured client configuration cannot be used; the message names the option."""


def load_client_config() -> dict[str, Any] | None:
    """Return the client configuration dict, or None for "let the client discover its own"."""
    # 1. A connection holding the whole configuration.
    conn_id = conf.config_conn_id()
    if conn_id:
        try:
            config = AirflowConnectionConfigProvider(conn_id).get_config()
            return resolve_airflow_connection_auth(dict(config), config_conn_id=conn_id)
        except Exception as err:
            msg = f"[openlineage] config_conn_id `{conn_id}`: {err}"
            raise ClientConfigError(msg) from err
    # 2. A YAML file.
    path = conf.config_path(check_legacy_env_var=False)
    if path:
        try:
            with open(path) as stream:
                config = yaml.safe_load(stream)
            if config is None:
                return None
            if not isinstance(config, dict):
                raise TypeError("the file must hold a mapping")
            return resolve_airflow_connection_auth(config)
        except Exception as err:
            msg = f"[openlineage] config_path `{path}`: {err}"
            raise ClientConfigError(msg) from err
    # 3. A JSON transport.
    transport = conf.transport()
    if transport:
        try:
            return resolve_airflow_connection_auth({"transport": dict(transport)})
        except Exception as err:
            msg = f"[openlineage] transport: {err}"
            raise ClientConfigError(msg) from err
    # 4. Client-side discovery.
    return None


def _sync_client_logging_level() -> None:
    """Let the client log at Airflow's level unless the user chose one for it."""
    if "OPENLINEAGE_CLIENT_LOGGING" in os.environ:
        return
    try:
        from airflow.configuration import conf as airflow_conf

        level = airflow_conf.get("logging", "logging_level", fallback="INFO").upper()
    except Exception:  # noqa: BLE001 - only a logging nicety
        return
    if level != "INFO":
        os.environ["OPENLINEAGE_CLIENT_LOGGING"] = level


def resolved_client_config() -> dict[str, Any] | None:
    """
    Resolve the configuration and remember it once it resolved.

    Only a success is cached. A failure (a typo in ``config_path``, or a transient one, such as the
    deadline hitting while ``config_conn_id`` is read) raises :class:`ClientConfigError` so the caller
    skips this event, and is tried again on the next; each distinct error is logged once per process.
    """
    global _resolved
    with _lock:
        if _resolved is not _UNRESOLVED:
            return _resolved
        _sync_client_logging_level()
        try:
            _resolved = load_client_config()
        except ClientConfigError as err:
            message = str(err)
            if message not in _failures_logged:
                _failures_logged.add(message)
                log.warning(
                    "OpenLineage client configuration is unusable, events are not sent until it is: %s",
                    mask_config_text(message),
                )
            raise
        return _resolved


def build_client(config: dict[str, Any] | None, *, announce: bool = True) -> Any:
    """
    Build an OpenLineage client from an already resolved configuration (no Airflow calls).

    The client logs its transport at INFO on every construction. A task attempt builds one client and
    ends its log with the provider's own summary line, so it passes ``announce=False`` and the task log
    is spared that line (a log record costs ~0.5 ms of the task runner's CPU).
    """
    from openlineage.client import OpenLineageClient

    if not announce:
        _install_quiet_filter()
    _quiet.active = not announce
    try:
        return OpenLineageClient(config=config) if config is not None else OpenLineageClient()
    finally:
        _quiet.active = False


_quiet = threading.local()
_TRANSPORT_ANNOUNCEMENT = "OpenLineageClient will use"


class _QuietTransportAnnouncement(logging.Filter):
    """Drops the client's transport announcement made while this thread builds a quiet client."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            getattr(_quiet, "active", False)
            and record.levelno == logging.INFO
            and str(record.msg).startswith(_TRANSPORT_ANNOUNCEMENT)
        )


_quiet_filter = _QuietTransportAnnouncement()


def _install_quiet_filter() -> None:
    client_logger = logging.getLogger("openlineage.client.client")
    if _quiet_filter not in client_logger.filters:
        client_logger.addFilter(_quiet_filter)


def reset() -> None:
    """Forget the resolved configuration (tests, and forked children that must not reuse state)."""
    global _resolved
    with _lock:
        _resolved = _UNRESOLVED
        _failures_logged.clear()
