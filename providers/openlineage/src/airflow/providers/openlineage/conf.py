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
The ``[openlineage]`` configuration section: one typed accessor per option.

Every accessor reads Airflow's configuration (so ``AIRFLOW__OPENLINEAGE__<OPTION>`` environment
variables override ``airflow.cfg`` as for any option), applies the ``OPENLINEAGE_*`` environment
fallbacks that earlier OpenLineage integrations honoured, and never raises: a value that cannot be
parsed is reported with exactly one WARNING naming the option and the value, and the documented
default is used instead. Values are memoised for the life of the process; tests call
:func:`clear_cache`.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

_CONFIG_SECTION = "openlineage"
DEFAULT_EXECUTION_TIMEOUT = 10
DEFAULT_POOL_SIZE = 1
DEFAULT_SPOOL_MAX_SIZE_MB = 256

_TRUE_WORDS = frozenset({"true", "t", "1", "yes", "y", "on"})
_FALSE_WORDS = frozenset({"false", "f", "0", "no", "n", "off", ""})

_T = TypeVar("_T")
_memoised: list[Callable[..., Any]] = []
_warned: set[tuple[str, str]] = set()


def _memoise(func: Callable[..., _T]) -> Callable[..., _T]:
    """
    Cache an accessor for the process lifetime and register it with :func:`clear_cache`.

    Under pytest nothing is cached (as with today's provider): a test that changes an option, by
    ``conf_vars`` or the environment, is seen at once, by this provider's tests and other providers'.
    """
    if os.getenv("PYTEST_VERSION"):
        return _uncached(func)
    cached = functools.cache(func)
    _memoised.append(cached)
    return cached


def _uncached(func: Callable[..., _T]) -> Callable[..., _T]:
    @functools.wraps(func)
    def read(*args: Any, **kwargs: Any) -> _T:
        return func(*args, **kwargs)

    read.cache_clear = lambda: None  # type: ignore[attr-defined]
    return read


def _identity(func: Callable[..., _T]) -> Callable[..., _T]:
    return func


# Kept for modules of other providers that memoise through ``conf.cache``: like Airflow's own
# provider, memoisation is switched off while pytest runs so tests can vary the configuration (and,
# as there, the no-op decorator is then also reachable as ``conf.decorator``).
if os.getenv("PYTEST_VERSION"):
    decorator = _identity
    cache = decorator
else:
    cache = functools.cache  # type: ignore[assignment]  # the same call shape as the no-op


def clear_cache() -> None:
    """Forget every memoised value and every warning already given (for tests and config reloads)."""
    for cached in _memoised:
        cached.cache_clear()  # type: ignore[attr-defined]
    _warned.clear()


# Options whose value may hold credentials: logged only through ``mask_config_text``.
SENSITIVE_OPTIONS = frozenset({"transport"})


def warn_bad_value(option: str, value: object, fallback: str) -> None:
    """Log one WARNING per process for a bad value of ``[openlineage] option`` (secrets masked)."""
    from airflow.providers.openlineage.redact.config_masking import mask_config_text

    key = (option, repr(value))
    if key in _warned:
        return
    _warned.add(key)
    shown = mask_config_text(str(value))
    log.warning(
        "Invalid value for [openlineage] %s: `%s`; %s. Lineage goes on and the task is not affected.",
        option,
        shown,
        mask_config_text(fallback) if option in SENSITIVE_OPTIONS else fallback,
    )


def _get(option: str, default: str = "") -> str:
    from airflow.configuration import conf

    try:
        value = conf.get(_CONFIG_SECTION, option, fallback=default)
    except Exception as err:  # noqa: BLE001 - a broken airflow.cfg must not stop a task
        warn_bad_value(option, f"<unreadable: {err}>", f"using `{default}`")
        return default
    return default if value is None else str(value)


def _is_true(value: object) -> bool:
    """Interpret a configuration value as a boolean the way earlier integrations did."""
    return str(value).lower().strip() in ("true", "1", "t")


def _get_bool(option: str, default: bool = False) -> bool:
    raw = _get(option, str(default))
    word = raw.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    warn_bad_value(option, raw, f"expected true or false, using `{default}`")
    return default


def _get_int(option: str, default: int, minimum: int) -> int:
    raw = _get(option, str(default))
    try:
        value = int(raw.strip())
    except ValueError:
        warn_bad_value(option, raw, f"expected an integer, using `{default}`")
        return default
    if value < minimum:
        warn_bad_value(option, raw, f"expected an integer >= {minimum}, using `{default}`")
        return default
    return value


def _split_paths(raw: str) -> set[str]:
    return {part.strip() for part in raw.split(";") if part.strip()}


@_memoise
def config_path(check_legacy_env_var: bool = True) -> str:
    """[openlineage] config_path, falling back to ``OPENLINEAGE_CONFIG`` when asked to."""
    path = _get("config_path").strip()
    if not path and check_legacy_env_var:
        path = os.getenv("OPENLINEAGE_CONFIG", "").strip()
    return path


@_memoise
def config_conn_id() -> str:
    """[openlineage] config_conn_id."""
    return _get("config_conn_id").strip()


@_memoise
def is_source_enabled() -> bool:
    """Inverse of [openlineage] disable_source_code (or ``OPENLINEAGE_AIRFLOW_DISABLE_SOURCE_CODE``)."""
    if _get_bool("disable_source_code"):
        return False
    return not _is_true(os.getenv("OPENLINEAGE_AIRFLOW_DISABLE_SOURCE_CODE", ""))


@_memoise
def disabled_operators() -> set[str]:
    """[openlineage] disabled_for_operators as a set of fully qualified class paths."""
    return _split_paths(_get("disabled_for_operators"))


@_memoise
def selective_enable() -> bool:
    """[openlineage] selective_enable."""
    return _get_bool("selective_enable")


@_memoise
def spark_inject_parent_job_info() -> bool:
    """[openlineage] spark_inject_parent_job_info."""
    return _get_bool("spark_inject_parent_job_info")


@_memoise
def child_process_parent_job_info() -> bool:
    """[openlineage] child_process_parent_job_info: child processes inherit the lineage context."""
    return _get_bool("child_process_parent_job_info", default=True)


@_memoise
def container_inject_parent_job_info(option: str) -> bool:
    """[openlineage] kubernetes_inject_parent_job_info / docker_inject_parent_job_info (off by default)."""
    return _get_bool(option, default=False)


@_memoise
def spark_inject_transport_info() -> bool:
    """[openlineage] spark_inject_transport_info."""
    return _get_bool("spark_inject_transport_info")


@_memoise
def custom_extractors() -> set[str]:
    """[openlineage] extractors (or ``OPENLINEAGE_EXTRACTORS``) as a set of import paths."""
    raw = _get("extractors") or os.getenv("OPENLINEAGE_EXTRACTORS", "")
    return _split_paths(raw)


@_memoise
def custom_run_facets() -> set[str]:
    """[openlineage] custom_run_facets as a set of import paths."""
    return _split_paths(_get("custom_run_facets"))


@_memoise
def namespace() -> str:
    """[openlineage] namespace, then ``OPENLINEAGE_NAMESPACE``, then ``default``."""
    return _get("namespace").strip() or os.getenv("OPENLINEAGE_NAMESPACE", "").strip() or "default"


@_memoise
def transport() -> dict[str, Any]:
    """[openlineage] transport parsed as a JSON object; ``{}`` when unset or invalid."""
    raw = _get("transport").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as err:
        warn_bad_value("transport", raw, f"not valid JSON ({err.msg} at position {err.pos}), ignoring it")
        return {}
    if not isinstance(value, dict):
        warn_bad_value("transport", raw, "expected a JSON object, ignoring it")
        return {}
    return value


def _has_transport_env_var() -> bool:
    return any(name.startswith("OPENLINEAGE__TRANSPORT") and value for name, value in os.environ.items())


@_memoise
def is_disabled() -> bool:
    """
    Whether the integration is off.

    1. ``[openlineage] disabled`` true, or ``OPENLINEAGE_DISABLED`` truthy: off.
    2. On when any source of client configuration exists: ``config_conn_id``, ``transport``,
       ``config_path`` (or ``OPENLINEAGE_CONFIG``), ``OPENLINEAGE_URL`` or an
       ``OPENLINEAGE__TRANSPORT...`` variable.
    3. Otherwise off: with nowhere to send events, nothing is built.
    """
    if _get_bool("disabled") or _is_true(os.getenv("OPENLINEAGE_DISABLED", "")):
        return True
    configured = (
        config_conn_id()
        or transport()
        or config_path(True)
        or os.getenv("OPENLINEAGE_URL")
        or _has_transport_env_var()
    )
    return not configured


@_memoise
def dag_state_change_process_pool_size() -> int:
    """[openlineage] dag_state_change_process_pool_size (at least 1)."""
    return _get_int("dag_state_change_process_pool_size", DEFAULT_POOL_SIZE, minimum=1)


@_memoise
def execution_timeout() -> int:
    """[openlineage] execution_timeout in seconds (a non-negative integer)."""
    return _get_int("execution_timeout", DEFAULT_EXECUTION_TIMEOUT, minimum=0)


@_memoise
def execute_in_thread() -> bool:
    """[openlineage] execute_in_thread."""
    return _get_bool("execute_in_thread")


@_memoise
def include_full_task_info() -> bool:
    """[openlineage] include_full_task_info."""
    return _get_bool("include_full_task_info")


@_memoise
def debug_mode() -> bool:
    """[openlineage] debug_mode."""
    return _get_bool("debug_mode")


@_memoise
def spool_dir() -> str:
    """[openlineage] spool_dir: where undeliverable events are kept for replay; empty = no spool."""
    return _get("spool_dir", "").strip()


@_memoise
def spool_max_size_mb() -> int:
    """[openlineage] spool_max_size_mb (at least 1)."""
    return _get_int("spool_max_size_mb", DEFAULT_SPOOL_MAX_SIZE_MB, minimum=1)


@_memoise
def emission_policy() -> list[Any]:
    """[openlineage] emission_policy parsed as a JSON array; ``[]`` when invalid."""
    raw = _get("emission_policy", "[]").strip() or "[]"
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as err:
        warn_bad_value(
            "emission_policy", raw, f"not valid JSON ({err.msg} at position {err.pos}), ignoring it"
        )
        return []
    if not isinstance(value, list):
        warn_bad_value("emission_policy", raw, "expected a JSON array of rules, ignoring it")
        return []
    return value


@_memoise
def multi_team() -> bool:
    """Airflow's ``[core] multi_team``, read from Airflow 3.3 on (runs then belong to teams)."""
    from airflow.providers.openlineage.version_compat import AIRFLOW_V_3_3_PLUS

    if not AIRFLOW_V_3_3_PLUS:
        return False
    from airflow.configuration import conf as airflow_conf

    try:
        return airflow_conf.getboolean("core", "multi_team", fallback=False)
    except Exception:  # noqa: BLE001 - an unreadable value: no teams, as Airflow's default
        return False
