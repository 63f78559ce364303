"""Emission policy: validation (one warning per bad rule), tiers, last-rule-wins, legacy options."""

from __future__ import annotations

import json
import logging

import pytest

from airflow.providers.openlineage.describe import emission_policy as ep


class BashOperator:
    """Stands in for an operator; its class path is this module + class name."""


BASH = f"{__name__}.BashOperator"


def _policy(monkeypatch, rules):
    from airflow.providers.openlineage import conf

    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EMISSION_POLICY", json.dumps(rules))
    conf.clear_cache()


def test_defaults_without_rules(monkeypatch):
    _policy(monkeypatch, [])
    assert ep.resolve_task_emission_policy(BashOperator(), "d", "t") == ep.EmissionPolicy.defaults()
    assert ep.resolve_dag_emission_policy("d").emit is True


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"scope": {}, "controls": {"emit": False}, "colour": 1}, "unknown key"),
        ({"scope": {"dag": "x"}, "controls": {"emit": False}}, "unknown scope key"),
        ({"scope": {}, "controls": {"emitt": False}}, "unknown control"),
        ({"scope": {}, "controls": {}}, "non-empty"),
        ({"scope": {"task_id": "t"}, "controls": {"emit": False}}, "needs `dag_id`"),
        ({"scope": {"operator": "x", "dag_id": "d"}, "controls": {"emit": False}}, "cannot be combined"),
        ({"scope": {}, "controls": {"emit": "no"}}, "true or false"),
        ({"scope": {"dag_id": "("}, "controls": {"emit": False}, "match_mode": "regex"}, "does not compile"),
        ("not a rule", "JSON object"),
    ],
)
def test_bad_rule_warns_once_and_the_rest_applies(monkeypatch, caplog, rule, problem):
    _policy(monkeypatch, [rule, {"scope": {"dag_id": "d"}, "controls": {"include_source_code": False}}])
    with caplog.at_level(logging.WARNING):
        first = ep.resolve_task_emission_policy(BashOperator(), "d", "t")
        ep.resolve_task_emission_policy(BashOperator(), "d", "t")
    lines = [r.getMessage() for r in caplog.records if "emission_policy" in r.getMessage()]
    assert len(lines) == 1, lines
    assert problem in lines[0]
    assert first.include_source_code is False  # the valid rule still applied
    assert first.emit is True


def test_tiers_most_specific_first(monkeypatch):
    _policy(
        monkeypatch,
        [
            {"scope": {}, "controls": {"emit": False}},
            {"scope": {"operator": BASH}, "controls": {"emit": True, "hook_lineage": False}},
            {"scope": {"dag_id": "d"}, "controls": {"hook_lineage": True}},
            {
                "scope": {"dag_id": "d", "task_id": "off"},
                "controls": {"emit_task_events": False, "emit": True},
            },
        ],
    )
    assert ep.resolve_task_emission_policy(BashOperator(), "d", "t").emit is True
    assert ep.resolve_task_emission_policy(BashOperator(), "d", "t").hook_lineage is True
    assert ep.resolve_task_emission_policy(BashOperator(), "other", "t").hook_lineage is False
    assert ep.resolve_task_emission_policy(object(), "other", "t").emit is False
    assert ep.resolve_task_emission_policy(BashOperator(), "d", "off").emit is False


def test_last_rule_in_a_tier_wins_with_a_warning(monkeypatch, caplog):
    _policy(
        monkeypatch,
        [{"scope": {}, "controls": {"emit": False}}, {"scope": {}, "controls": {"emit": True}}],
    )
    with caplog.at_level(logging.WARNING):
        assert ep.resolve_task_emission_policy(BashOperator(), "d", "t").emit is True
    assert any("contradictory" in r.getMessage() for r in caplog.records)


def test_dag_events_use_dag_and_global_tiers_only(monkeypatch):
    _policy(
        monkeypatch,
        [
            {"scope": {}, "controls": {"emit_dag_events": False}},
            {"scope": {"dag_id": "keep.*"}, "controls": {"emit": True}, "match_mode": "regex"},
            {"scope": {"operator": BASH}, "controls": {"emit": True}},
        ],
    )
    assert ep.resolve_dag_emission_policy("keep_me").emit is True
    assert ep.resolve_dag_emission_policy("drop_me").emit is False
    assert ep.resolve_task_emission_policy(object(), "drop_me", "t").emit is True  # task events unaffected


def test_legacy_options_translate(monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__DISABLED_FOR_OPERATORS", BASH)
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__DISABLE_SOURCE_CODE", "True")
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__INCLUDE_FULL_TASK_INFO", "True")
    policy = ep.resolve_task_emission_policy(BashOperator(), "d", "t")
    assert policy.emit is False
    assert policy.include_source_code is False
    assert policy.include_full_task_info is True
    # A user rule at the operator tier beats the translated one.
    _policy(monkeypatch, [{"scope": {"operator": BASH}, "controls": {"emit": True}}])
    assert ep.resolve_task_emission_policy(BashOperator(), "d", "t").emit is True


def test_legacy_options_give_a_deprecation_warning_naming_them(monkeypatch):
    from airflow.exceptions import AirflowProviderDeprecationWarning

    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__DISABLED_FOR_OPERATORS", BASH)
    for _ in range(2):  # under pytest (nothing cached) every resolution warns, as with today's provider
        with pytest.warns(AirflowProviderDeprecationWarning, match="disabled_for_operators"):
            ep.resolve_task_emission_policy(BashOperator(), "d", "t")


def test_errors_give_defaults(monkeypatch):
    monkeypatch.setattr(ep, "configured_rules", lambda: 1 / 0)
    assert ep.resolve_task_emission_policy(BashOperator(), "d", "t") == ep.EmissionPolicy.defaults()
    assert ep.resolve_dag_emission_policy("d") == ep.EmissionPolicy.defaults()
