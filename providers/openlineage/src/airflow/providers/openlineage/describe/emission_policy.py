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
``[openlineage] emission_policy``: which events are emitted and what they contain.

A policy is a JSON array of rules ``{"scope": {...}, "controls": {...}, "match_mode": ..., "locked": ...}``.
Rules are validated one by one: a malformed rule is reported with one WARNING naming what is wrong and
dropped; the other rules still apply. Deprecated options (``disabled_for_operators``,
``disable_source_code``, ``include_full_task_info``, ``selective_enable``) are translated into rules
placed *before* the user's, so the user's rules win within a tier.

Resolution, field by field: a task event walks the tiers dag+task, dag, operator, global, then the
built-in default; the first tier where some rule sets the field decides it, and inside a tier the last
rule wins (two different values in one tier are reported as a contradiction). DAG-run events use only
the dag tier (rules scoped to exactly ``{"dag_id": ...}``) and the global tier, and only ``emit``.

DAG authors override the configured result per DAG or task with
``api.emission_policy.extend_global_openlineage_emission_policy`` (stored in the object's params
under ``_openlineage_emission_policy``), except for fields that a matching configured rule marks
``"locked": true``: such an override is dropped with one WARNING.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import warnings
from collections.abc import Iterable
from typing import Any

from airflow.providers.openlineage import conf

log = logging.getLogger(__name__)

EMIT = "emit"
EMIT_TASK_EVENTS = "emit_task_events"
EMIT_DAG_EVENTS = "emit_dag_events"
EXTRACT_OPERATOR_METADATA = "extract_operator_metadata"
INCLUDE_SOURCE_CODE = "include_source_code"
HOOK_LINEAGE = "hook_lineage"
INCLUDE_FULL_TASK_INFO = "include_full_task_info"
CONTROLS = (
    EMIT,
    EMIT_TASK_EVENTS,
    EMIT_DAG_EVENTS,
    EXTRACT_OPERATOR_METADATA,
    INCLUDE_SOURCE_CODE,
    HOOK_LINEAGE,
    INCLUDE_FULL_TASK_INFO,
)
SCOPE_OPERATOR = "operator"
SCOPE_DAG_ID = "dag_id"
SCOPE_TASK_ID = "task_id"
# The keys of a rule.
RULE_SCOPE = "scope"
RULE_CONTROLS = "controls"
RULE_MATCH_MODE = "match_mode"
RULE_LOCKED = "locked"
_RULE_KEYS = frozenset({RULE_SCOPE, RULE_CONTROLS, RULE_MATCH_MODE, RULE_LOCKED})
_SCOPE_KEYS = frozenset({SCOPE_OPERATOR, SCOPE_DAG_ID, SCOPE_TASK_ID})
OL_EMISSION_POLICY_PARAM = "_openlineage_emission_policy"
_TASK_FIELDS = (EMIT, EXTRACT_OPERATOR_METADATA, INCLUDE_SOURCE_CODE, HOOK_LINEAGE, INCLUDE_FULL_TASK_INFO)


@dataclasses.dataclass(frozen=True)
class EmissionPolicy:
    """What to do for one event: the resolved controls."""

    emit: bool = True
    extract_operator_metadata: bool = True
    include_source_code: bool = True
    hook_lineage: bool = True
    include_full_task_info: bool = False

    @classmethod
    def defaults(cls) -> EmissionPolicy:
        return cls()


@dataclasses.dataclass(frozen=True)
class Rule:
    """One validated rule."""

    scope: dict[str, str]
    controls: dict[str, bool]
    match_mode: str = "exact"
    locked: bool = False
    legacy: bool = False

    @property
    def has_dag(self) -> bool:
        return SCOPE_DAG_ID in self.scope

    @property
    def has_task(self) -> bool:
        return SCOPE_TASK_ID in self.scope

    @property
    def has_op(self) -> bool:
        return SCOPE_OPERATOR in self.scope

    @property
    def tier(self) -> str:
        if self.has_task:
            return "dag+task"
        if self.has_dag:
            return "dag"
        if self.has_op:
            return "operator"
        return "global"

    def _matches(self, key: str, value: str | None) -> bool:
        pattern = self.scope[key]
        if value is None:
            return False
        if self.match_mode == "regex":
            return re.fullmatch(pattern, value) is not None
        return pattern == value

    def matches_task(self, operator: str, dag_id: str, task_id: str) -> bool:
        values = {SCOPE_OPERATOR: operator, SCOPE_DAG_ID: dag_id, SCOPE_TASK_ID: task_id}
        return all(self._matches(key, values[key]) for key in self.scope)

    def matches_dag(self, dag_id: str) -> bool:
        return set(self.scope) <= {SCOPE_DAG_ID} and all(self._matches(k, dag_id) for k in self.scope)

    def task_value(self, field: str) -> bool | None:
        if field == EMIT:
            return self.controls.get(EMIT_TASK_EVENTS, self.controls.get(EMIT))
        return self.controls.get(field)

    def dag_emit(self) -> bool | None:
        return self.controls.get(EMIT_DAG_EVENTS, self.controls.get(EMIT))


def _problem(rule: Any) -> str | None:
    """What is wrong with a rule, or None when it is valid."""
    if not isinstance(rule, dict):
        return "a rule must be a JSON object"
    if unknown := set(rule) - _RULE_KEYS:
        return f"unknown key(s) {sorted(unknown)}"
    scope, controls = rule.get(RULE_SCOPE), rule.get(RULE_CONTROLS)
    if not isinstance(scope, dict):
        return "`scope` must be an object ({} for every event)"
    if unknown := set(scope) - _SCOPE_KEYS:
        return f"unknown scope key(s) {sorted(unknown)}"
    if not all(isinstance(v, str) for v in scope.values()):
        return "scope values must be strings"
    if SCOPE_TASK_ID in scope and SCOPE_DAG_ID not in scope:
        return "`task_id` scope needs `dag_id`"
    if SCOPE_OPERATOR in scope and (SCOPE_DAG_ID in scope or SCOPE_TASK_ID in scope):
        return "`operator` scope cannot be combined with `dag_id`/`task_id`"
    if not isinstance(controls, dict) or not controls:
        return "`controls` must be a non-empty object"
    if unknown := set(controls) - set(CONTROLS):
        return f"unknown control(s) {sorted(unknown)}"
    if not all(isinstance(v, bool) for v in controls.values()):
        return "control values must be true or false"
    if EMIT_DAG_EVENTS in controls and (SCOPE_OPERATOR in scope or SCOPE_TASK_ID in scope):
        return "`emit_dag_events` cannot apply to an operator or task scope"
    match_mode = rule.get(RULE_MATCH_MODE, "exact")
    if match_mode not in ("exact", "regex"):
        return "`match_mode` must be `exact` or `regex`"
    if match_mode == "regex":
        for value in scope.values():
            try:
                re.compile(value)
            except re.error as err:
                return f"scope pattern `{value}` does not compile: {err}"
    if not isinstance(rule.get(RULE_LOCKED, False), bool):
        return "`locked` must be true or false"
    return None


def rule_problem(rule: Any) -> str | None:
    """What is wrong with one configured rule (None: it is valid); what the check command reports."""
    return _problem(rule)


def parse_rules(raw_rules: Iterable[Any]) -> list[Rule]:
    """Validate user rules; each bad rule gets one WARNING and is dropped."""
    rules = []
    for index, raw in enumerate(raw_rules):
        problem = _problem(raw)
        if problem:
            conf.warn_bad_value("emission_policy", raw, f"rule #{index} skipped: {problem}")
            continue
        rules.append(
            Rule(
                scope=dict(raw[RULE_SCOPE]),
                controls=dict(raw[RULE_CONTROLS]),
                match_mode=raw.get(RULE_MATCH_MODE, "exact"),
                locked=raw.get(RULE_LOCKED, False),
            )
        )
    return rules


#: The sets of deprecated options already warned about in this process.
_deprecation_warned: set[tuple[str, ...]] = set()


def legacy_rules() -> list[Rule]:
    """Rules equivalent to the deprecated options (selective_enable is handled per object)."""
    rules = [
        Rule(scope={SCOPE_OPERATOR: op}, controls={EMIT: False}, legacy=True)
        for op in sorted(conf.disabled_operators())
    ]
    translated = [f"disabled_for_operators={op}" for op in sorted(conf.disabled_operators())]
    if not conf.is_source_enabled():
        rules.append(Rule(scope={}, controls={INCLUDE_SOURCE_CODE: False}, legacy=True))
        translated.append("disable_source_code")
    if conf.include_full_task_info():
        rules.append(Rule(scope={}, controls={INCLUDE_FULL_TASK_INFO: True}, legacy=True))
        translated.append("include_full_task_info")
    if conf.selective_enable():
        translated.append("selective_enable")
    # Once per process and set of options (every time under pytest, where nothing is cached).
    if translated and (os.getenv("PYTEST_VERSION") or tuple(translated) not in _deprecation_warned):
        _deprecation_warned.add(tuple(translated))
        from airflow.exceptions import AirflowProviderDeprecationWarning

        warnings.warn(
            "[openlineage] options "
            + ", ".join(translated)
            + " are deprecated; express them as rules of [openlineage] emission_policy",
            AirflowProviderDeprecationWarning,
            stacklevel=2,
        )
    return rules


def configured_rules() -> list[Rule]:
    return [*legacy_rules(), *parse_rules(conf.emission_policy())]


def _problem_level(level: int) -> int:
    """Policy problems are WARNINGs, unless the caller asked to be quiet (then DEBUG, like the rest)."""
    return logging.WARNING if level >= logging.INFO else logging.DEBUG


def _resolve(
    candidates: list[tuple[str, Rule]], field: str, value_of, context: str, level: int = logging.INFO
) -> bool | None:
    for tier in ("dag+task", "dag", "operator", "global"):
        values = [
            (rule, value_of(rule)) for t, rule in candidates if t == tier and value_of(rule) is not None
        ]
        if not values:
            continue
        if len({value for _, value in values}) > 1:
            log.log(
                _problem_level(level),
                "OpenLineage emission policy: contradictory rules for '%s' in the %s tier for %s; "
                "the last one wins",
                field,
                tier,
                context,
            )
        rule, value = values[-1]
        log.log(
            level,
            "OpenLineage emission policy: '%s' %s for %s by %s",
            field,
            "enabled" if value else "disabled",
            context,
            rule,
        )
        return value
    return None


def authoring_flags(obj: Any) -> dict[str, bool]:
    """The flags a DAG author stored on a DAG or task (``_openlineage_emission_policy`` param)."""
    params = getattr(obj, "params", None)
    if params is None:
        return {}
    try:
        value = params.get(OL_EMISSION_POLICY_PARAM)
    except Exception:  # noqa: BLE001 - a param that does not resolve is no override
        return {}
    value = getattr(value, "value", value)
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if k in CONTROLS and isinstance(v, bool)}


def _locked(candidates: list[tuple[str, Rule]], controls: tuple[str, ...]) -> Rule | None:
    for _, rule in candidates:
        if rule.locked and not rule.legacy and any(c in rule.controls for c in controls):
            return rule
    return None


def _apply_authoring(
    resolved: dict[str, bool],
    flags: dict[str, bool],
    candidates: list[tuple[str, Rule]],
    fields: dict[str, tuple[str, ...]],
    context: str,
    level: int = logging.INFO,
) -> None:
    """Author overrides beat configured rules, except on locked fields (WARNING, override dropped)."""
    for field, keys in fields.items():
        wanted = next((flags[k] for k in keys if k in flags), None)
        if wanted is None:
            continue
        lock = _locked(candidates, (field, *keys) if field != EMIT else keys)
        if lock is not None:
            log.log(
                _problem_level(level),
                "OpenLineage emission policy: the DAG author's '%s=%s' for %s is ignored, the field "
                "is locked by %s",
                field,
                wanted,
                context,
                lock,
            )
            continue
        if resolved.get(field) != wanted:
            log.log(
                level,
                "OpenLineage emission policy: '%s' set to %s for %s by the DAG author",
                field,
                wanted,
                context,
            )
        resolved[field] = wanted


def resolve_task_emission_policy(
    operator: Any, dag_id: str, task_id: str, *, quiet: bool = False
) -> EmissionPolicy:
    """
    The policy of a task's events; never raises (an error gives the defaults and one WARNING).

    ``quiet``: how each field was decided goes to DEBUG (the scheduler asks for every task of every
    DAG run; the task runner logs it, once per attempt).
    """
    level = logging.DEBUG if quiet else logging.INFO
    try:
        from airflow.providers.openlineage.describe.run_ids import get_fully_qualified_class_name

        operator_path = get_fully_qualified_class_name(operator) if operator is not None else ""
        rules = configured_rules()
        if conf.selective_enable():
            rules.insert(0, Rule(scope={}, controls={EMIT: False}, legacy=True))
            if _selectively_enabled(operator):
                rules.insert(
                    1, Rule(scope={SCOPE_DAG_ID: dag_id, SCOPE_TASK_ID: task_id}, controls={EMIT: True})
                )
        candidates = [(r.tier, r) for r in rules if r.matches_task(operator_path, dag_id, task_id)]
        context = f"task `{dag_id}.{task_id}`"
        resolved = {}
        defaults = dataclasses.asdict(EmissionPolicy.defaults())
        for field in _TASK_FIELDS:
            value = _resolve(candidates, field, lambda rule, f=field: rule.task_value(f), context, level)
            resolved[field] = defaults[field] if value is None else value
        flags = authoring_flags(operator)
        if flags:
            task_fields: dict[str, tuple[str, ...]] = {field: (field,) for field in _TASK_FIELDS}
            task_fields[EMIT] = (EMIT_TASK_EVENTS, EMIT)
            _apply_authoring(resolved, flags, candidates, task_fields, context, level)
        return dataclasses.replace(EmissionPolicy.defaults(), **resolved)
    except Exception as err:  # noqa: BLE001 - policy errors never stop lineage or the task
        log.warning("OpenLineage emission policy could not be resolved, using defaults: %s", err)
        return EmissionPolicy.defaults()


def resolve_dag_emission_policy(dag_id: str, dag: Any = None) -> EmissionPolicy:
    """The policy of a DAG's run events (only ``emit`` applies); never raises."""
    try:
        rules = configured_rules()
        if conf.selective_enable():
            rules.insert(0, Rule(scope={}, controls={EMIT: False}, legacy=True))
            if dag is not None and is_dag_lineage_enabled(dag):
                rules.insert(1, Rule(scope={SCOPE_DAG_ID: dag_id}, controls={EMIT: True}))
        candidates = [(r.tier, r) for r in rules if r.matches_dag(dag_id)]
        value = _resolve(candidates, EMIT, Rule.dag_emit, f"DAG `{dag_id}`")
        resolved = {EMIT: True if value is None else value}
        flags = authoring_flags(dag) if dag is not None else {}
        if flags:
            _apply_authoring(resolved, flags, candidates, {EMIT: (EMIT_DAG_EVENTS, EMIT)}, f"DAG `{dag_id}`")
        return EmissionPolicy(emit=resolved[EMIT])
    except Exception as err:  # noqa: BLE001 - policy errors never stop lineage or the scheduler
        log.warning("OpenLineage emission policy could not be resolved, using defaults: %s", err)
        return EmissionPolicy.defaults()


def _selectively_enabled(obj: Any) -> bool:
    from airflow.providers.openlineage.describe.selective_enable import is_task_lineage_enabled

    return obj is not None and is_task_lineage_enabled(obj)


def is_dag_lineage_enabled(dag: Any) -> bool:
    from airflow.providers.openlineage.describe.selective_enable import is_dag_lineage_enabled as enabled

    return enabled(dag)
