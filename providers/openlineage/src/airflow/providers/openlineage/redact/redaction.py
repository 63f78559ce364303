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
Mask secrets in an event before it leaves the process.

Airflow registers every connection password, sensitive Variable and other secret it hands to a task
with its secrets masker; the same masker redacts task logs. An event is walked here field by field
(attrs facets, dicts, lists, strings) and every string goes through the masker, so a secret is
replaced wherever it appears: a facet value, a rendered command or SQL text built from it, or a value
stored under a sensitive key name.

It fails closed: everything under a sensitive key (``password``, ``api_key``, ``secret``... as
Airflow's masker decides) is masked, however deeply nested, and a value nested deeper than the walker
goes is masked rather than passed through.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Any

import attrs

log = logging.getLogger(__name__)

MASK = "***"
_MAX_DEPTH = 20
Redactor = Callable[[Any, "str | None"], Any]
KeyCheck = Callable[[str], bool]


# Airflow's own list of sensitive key names, matched as parts of a lower-cased name. Used only when no
# masker module can be imported, so that redaction never passes a ``password`` through.
FALLBACK_SENSITIVE_NAMES = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "authorization",
        "passphrase",
        "passwd",
        "password",
        "private_key",
        "secret",
        "token",
        "keyfile_dict",
        "service_account",
    }
)
_warned_no_masker = False


def _fallback_key_check(name: str) -> bool:
    lowered = name.lower()
    return any(part in lowered for part in FALLBACK_SENSITIVE_NAMES)


def _warn_no_masker() -> None:
    global _warned_no_masker
    if not _warned_no_masker:
        _warned_no_masker = True
        log.warning(
            "OpenLineage found no Airflow secrets masker to import; events are masked by key name only"
        )


def _masker_modules() -> list[Any]:
    """Both copies of Airflow's masker: the Task SDK's (task runner) and core's (scheduler, API server)."""
    found = []
    for module_name in ("airflow.sdk._shared.secrets_masker", "airflow._shared.secrets_masker"):
        try:
            found.append(__import__(module_name, fromlist=["redact"]))
        except ImportError:
            continue
    return found


class _Maskers:
    """The masking functions of every masker found, and whether a key name is sensitive to any."""

    def __init__(self, also_mask: frozenset[str] = frozenset(), *, batch: bool = False) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self.also_mask = sorted(also_mask, key=len, reverse=True)
        modules = _masker_modules()
        self.redactors: list[Redactor] = [module.redact for module in modules]
        # Within one event the same string (a DAG id, an owner, a date) recurs under the same key:
        # it is masked once. Kept per _Maskers, i.e. per event: a secret registered later is seen.
        self._masked: dict[tuple[str, str | None], Any] = {}
        # A key name's sensitivity, asked once per name and event (Airflow normalises the name with a
        # regular expression on every call; an event has ~50 names and ~150 strings).
        self._sensitive: dict[str, bool] = {}
        self._unsure: set[str] = set()  # names a check failed on: the maskers get the name as before
        self.key_checks: list[KeyCheck] = [
            module.should_hide_value_for_key
            for module in modules
            if hasattr(module, "should_hide_value_for_key")
        ]
        if not modules:  # fail closed: keys are still checked, by Airflow's default names
            _warn_no_masker()
            self.key_checks = [_fallback_key_check]
        # Every masker says whether a key is sensitive: then a string under a key none of them calls
        # sensitive is masked by its content alone, and the maskers are asked without the name.
        self._names_checked = bool(self.redactors) and len(self.key_checks) == len(self.redactors)
        # Batch mode (see ``redact_event``): such strings are kept as they are and collected, so that
        # the maskers read them all at once; ``collected_unchanged`` says whether that was right.
        self.collected: list[str] | None = [] if batch and self._names_checked else None

    def sensitive(self, name: str | None) -> bool:
        if not name:
            return False
        found = self._sensitive.get(name)
        if found is None:
            found = self._sensitive[name] = self._sensitive_uncached(name)
        return found

    def _sensitive_uncached(self, name: str) -> bool:
        for check in self.key_checks:
            try:
                if check(name):
                    return True
            except Exception:  # noqa: BLE001 - an unusable check cannot clear a key either
                self._unsure.add(name)
                continue
        return False

    def mask_string(self, value: Any, name: str | None) -> Any:
        if self.collected is not None and type(value) is str and self._by_content_alone(name):
            self.collected.append(value)
            return value
        if type(value) is str:
            key = (value, name)
            found = self._masked.get(key)
            if found is None:
                found = self._masked[key] = self._mask_uncached(value, name)
            return found
        return self._mask_uncached(value, name)

    def _by_content_alone(self, name: str | None) -> bool:
        """No masker calls ``name`` sensitive (and none failed to say): only a string's content counts."""
        return self._names_checked and not self.sensitive(name) and name not in self._unsure

    def collected_unchanged(self) -> bool:
        """
        Whether masking the collected strings one by one would leave every one of them as it is.

        For a string under a key no masker calls sensitive, Airflow's masker only replaces registered
        secrets (one regular expression of literal alternatives). Joined with NUL, the strings hold a
        secret, or one of ``also_mask``, exactly when one of them does; a match the join made up
        across two strings only costs the per-string pass. Any error: not known unchanged.
        """
        if not self.collected:
            return True
        joined = "\x00".join(self.collected)
        try:
            if any(redactor(joined, None) != joined for redactor in self.redactors):
                return False
        except Exception:  # noqa: BLE001 - an unusable masker: the per-string pass decides
            return False
        return not any(secret in joined for secret in self.also_mask)

    def _mask_uncached(self, value: Any, name: str | None) -> Any:
        if not self.redactors and self.sensitive(name):
            return _mask_all(value)  # no masker to ask: a sensitive key's value is masked here
        if self._by_content_alone(name):
            name = None  # the same outcome, without each masker normalising the name again
        for redactor in self.redactors:
            value = redactor(value, name)
        if self.also_mask and isinstance(value, str):
            for secret in self.also_mask:
                if secret in value:
                    value = value.replace(secret, MASK)
        return value


def _mask_all(value: Any) -> Any:
    """Everything under a sensitive key: containers keep their shape, every leaf string is masked."""
    if isinstance(value, dict):
        return {key: _mask_all(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_mask_all(item) for item in value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return MASK


def _skip_fields(obj: Any) -> set[str]:
    skip = set(getattr(obj, "_additional_skip_redact", []) or [])
    skip.update(getattr(obj, "_skip_redact", []) or [])
    return skip


def _redact_value(value: Any, name: str | None, maskers: _Maskers, depth: int) -> Any:
    if type(value) is str and depth <= _MAX_DEPTH:  # most leaves: straight to the maskers
        return maskers.mask_string(value, name)
    if value is None or isinstance(value, (bool, int, float, enum.Enum)):
        return value
    if depth > _MAX_DEPTH:
        return MASK  # too deep to inspect: fail closed
    if attrs.has(type(value)):
        _redact_attrs(value, maskers, depth + 1)
        return value
    if isinstance(value, (dict, list, tuple)) and maskers.sensitive(name):
        return _mask_all(value)
    if isinstance(value, dict):
        return {key: _redact_value(item, str(key), maskers, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(item, name, maskers, depth + 1) for item in value)
    return maskers.mask_string(value, name)


def _redact_attrs(obj: Any, maskers: _Maskers, depth: int) -> None:
    skip = _skip_fields(obj)
    for field in attrs.fields(type(obj)):
        if field.name in skip or field.name.lstrip("_") in skip or field.name in ("_producer", "_schemaURL"):
            continue
        current = getattr(obj, field.name)
        redacted = _redact_value(current, field.name, maskers, depth)
        if redacted is not current:
            object.__setattr__(obj, field.name, redacted)


def redact_structure(value: Any, name: str | None = None) -> Any:
    """A masked copy of a JSON-native value (dicts, lists, strings)."""
    return _redact_value(value, name, _Maskers(), 0)


def redact_event(event: Any, also_mask: frozenset[str] = frozenset()) -> Any:
    """
    Mask secrets in ``event`` in place and return it (callers drop the event if this raises).

    ``also_mask``: values to replace wherever they appear although Airflow's masker does not know them,
    e.g. what a DAG run's ``conf`` or the task's ``params`` hold under a sensitive key, once a template
    rendered it into a command or a query.
    """
    # Most events hold no secret: one pass masks what sits under sensitive keys and collects the
    # other strings, which the maskers then read in one call each. Only when that finds something
    # does the per-string pass run (what the first pass masked stays masked: masking is idempotent).
    batched = _Maskers(also_mask, batch=True)
    _redact_attrs(event, batched, 0)
    if batched.collected is None or not batched.collected_unchanged():
        _redact_attrs(event, _Maskers(also_mask), 0)
    return event


class DeferredRedaction:
    """
    An event built at a hook whose redaction is left to its sender, off the task's main thread.

    The secrets to mask are fixed at the hook (``also_mask``); Airflow's masker is asked when the
    sender finishes the event, so it knows at least what it knew at the hook. Calling it redacts once
    and returns the event (what a sender does just before serialising, sending or spooling); it raises
    what redaction raised, and the sender then drops the event. ``eventType``, ``job`` and ``run`` are
    the event's, for log lines and run ordering (names and ids, never payload).
    """

    __slots__ = ("_also_mask", "_event", "_redacted")

    def __init__(self, event: Any, also_mask: frozenset[str] = frozenset()) -> None:
        self._event = event
        self._also_mask = also_mask
        self._redacted = False

    def __call__(self) -> Any:
        if not self._redacted:
            redact_event(self._event, self._also_mask)
            self._redacted = True
        return self._event

    @property
    def eventType(self) -> Any:  # noqa: N802 - the event's own attribute name
        return getattr(self._event, "eventType", None)

    @property
    def job(self) -> Any:
        return getattr(self._event, "job", None)

    @property
    def run(self) -> Any:
        return getattr(self._event, "run", None)


# Shorter values are left alone, as Airflow's masker does (masking "1" everywhere would ruin events).
MIN_SECRET_LENGTH = 5


def sensitive_values(*structures: Any) -> frozenset[str]:
    """Every string held under a sensitive key of ``structures`` (dicts and lists, at any depth)."""
    maskers = _Maskers()
    found: set[str] = set()

    def leaves(value: Any, depth: int) -> None:
        if depth > _MAX_DEPTH:
            return
        if isinstance(value, dict):
            for item in value.values():
                leaves(item, depth + 1)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                leaves(item, depth + 1)
        elif isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
            found.add(value)

    def walk(value: Any, depth: int) -> None:
        if depth > _MAX_DEPTH:
            return
        if isinstance(value, dict):
            for key, item in value.items():
                if maskers.sensitive(str(key)):
                    leaves(item, depth + 1)
                else:
                    walk(item, depth + 1)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                walk(item, depth + 1)

    for structure in structures:
        walk(structure, 0)
    return frozenset(found)
