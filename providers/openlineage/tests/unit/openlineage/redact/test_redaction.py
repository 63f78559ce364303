"""Redaction fails closed: nested lists and dicts keep keys for the masker, deep values are masked."""

from __future__ import annotations

import json

import pytest
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.facet_v2 import documentation_job as job_facet
from openlineage.client.serde import Serde

from airflow.providers.openlineage.describe.airflow_description import (
    describe_dag_run,
    describe_task,
    to_json_value,
)
from airflow.providers.openlineage.describe.facets import AirflowDagRunFacet
from airflow.providers.openlineage.redact.redaction import (
    MASK,
    redact_event,
    redact_structure,
    sensitive_values,
)

SECRET = "canary-9d1e-unit"
UNREGISTERED = "canary-unregistered-4c2b"


@pytest.fixture
def masker():
    from airflow.sdk._shared.secrets_masker import mask_secret

    return mask_secret


def test_password_nested_in_a_list_of_dicts_is_masked():
    conf = {"targets": [{"host": "db1", "password": SECRET}], "api_key": SECRET, "plain": "ok"}
    masked = redact_structure(to_json_value(conf))
    assert masked["targets"] == [{"host": "db1", "password": MASK}]
    assert masked["api_key"] == MASK
    assert masked["plain"] == "ok"


def test_everything_under_a_sensitive_key_is_masked_however_nested():
    value = {"secret": {"user": "bob", "nested": [{"deeper": SECRET}], "port": 5432}}
    assert redact_structure(value) == {"secret": {"user": MASK, "nested": [{"deeper": MASK}], "port": 5432}}


def test_a_value_past_the_depth_limit_is_masked_not_passed():
    deep: dict = {"leaf": SECRET}
    for _ in range(40):
        deep = {"level": deep}
    assert SECRET not in json.dumps(redact_structure(deep))


def test_a_list_attribute_is_masked_before_it_becomes_a_string():
    rendered = to_json_value([{"password": SECRET}, "plain"])
    assert isinstance(rendered, str)
    assert SECRET not in rendered
    assert "plain" in rendered


def test_a_registered_secret_is_masked_anywhere_in_an_event(masker):
    masker(SECRET)
    event = RunEvent(
        eventType=RunState.START,
        eventTime="2026-01-01T00:00:00+00:00",
        run=Run(runId="01890000-0000-7000-8000-000000000000", facets={}),
        job=Job(
            namespace="default",
            name="job",  # names are never redacted (OpenLineage marks them so); facets are
            facets={"documentation": job_facet.DocumentationJobFacet(description=f"uses {SECRET} here")},
        ),
        producer="test",
    )
    assert SECRET not in Serde.to_json(redact_event(event))


class _DagRun:
    dag_id = "dag"
    run_id = "manual__1"
    conf = {"targets": [{"host": "db1", "password": SECRET}], "api_key": SECRET}
    clear_number = 0


def test_dag_run_conf_keeps_lists_and_masks_what_they_hold():
    facet = AirflowDagRunFacet(dag={}, dagRun=describe_dag_run(_DagRun()))
    serialized = Serde.to_json(redact_structure(facet))
    assert SECRET not in serialized
    assert '"targets": [{"host": "db1", "password": "***"}]' in serialized


class _Task:
    task_id = "t"
    task_type = "BashOperator"
    bash_command = "echo hi"
    env = {"API_TOKEN": SECRET}
    _secret_cache = {"password": SECRET}  # an internal attribute: never listed

    def __init__(self):
        self.some_client = object()


def test_full_task_info_is_an_explicit_list_of_attributes():
    info = describe_task(_Task(), include_full_task_info=True)
    assert info["bash_command"] == "echo hi"
    assert "_secret_cache" not in info
    assert "some_client" not in info
    assert SECRET not in json.dumps(redact_structure(info))


def test_values_under_sensitive_keys_are_masked_where_a_template_rendered_them():
    # Never registered with Airflow's masker (unlike SECRET, which a test above registers).
    conf = {"targets": [{"host": "db1", "password": UNREGISTERED}], "region": "eu-west-1", "api_key": "short"}
    secrets = sensitive_values(conf, {"settings": {"token": [UNREGISTERED + "-2"]}})
    assert secrets == {UNREGISTERED, UNREGISTERED + "-2", "short"}
    rendered = {"bash_command": f"deploy --password {UNREGISTERED}-2 --region eu-west-1"}
    masked = redact_structure(rendered)  # Airflow's masker does not know these values...
    assert UNREGISTERED in masked["bash_command"]
    event_facet = AirflowDagRunFacet(dag={}, dagRun=rendered)
    redacted = Serde.to_json(redact_event(event_facet, secrets))  # ...the provider does
    assert UNREGISTERED not in redacted
    assert "eu-west-1" in redacted


def test_each_string_is_masked_as_airflows_own_redact_would_mask_it(masker):
    from airflow.sdk._shared.secrets_masker import redact

    from airflow.providers.openlineage.redact.redaction import _Maskers

    masker(SECRET)
    maskers = _Maskers()
    cases = [
        (f"prefix {SECRET} suffix", "sql"),
        (f"prefix {SECRET} suffix", None),
        ("harmless text", "password"),
        ("harmless text", "my_api_key"),
        ("harmless text", "owner"),
        (SECRET, "Access-Token"),
    ]
    for value, name in cases:
        assert maskers.mask_string(value, name) == redact(value, name), (value, name)


def test_a_key_name_is_checked_once_per_event_and_a_failing_check_keeps_the_name():
    from airflow.providers.openlineage.redact.redaction import _Maskers

    maskers = _Maskers()
    asked: list[str] = []

    def check(name: str) -> bool:
        asked.append(name)
        if name == "odd":
            raise ValueError("unusable")
        return name == "password"

    seen: list[str | None] = []
    maskers.key_checks = [check]
    maskers.redactors = [lambda value, name: seen.append(name) or value]
    for value in ("a-value", "another-value", "third-value"):
        maskers.mask_string(value, "owner")
    maskers.mask_string("a-value", "odd")
    maskers.mask_string("a-value", "password")
    assert asked == ["owner", "odd", "password"]
    # not sensitive: asked without the name; unsure (the check failed) or sensitive: with it
    assert seen == [None, None, None, "odd", "password"]


def _event_with(description: str, extra: dict | None = None) -> RunEvent:
    return RunEvent(
        eventType=RunState.START,
        eventTime="2026-01-01T00:00:00+00:00",
        run=Run(runId="01890000-0000-7000-8000-000000000000", facets={}),
        job=Job(
            namespace="default",
            name="job",
            facets={
                "documentation": job_facet.DocumentationJobFacet(description=description),
                **(extra or {}),
            },
        ),
        producer="test",
    )


def test_an_event_without_secrets_is_read_by_each_masker_once(monkeypatch):
    import airflow.providers.openlineage.redact.redaction as redaction

    calls: list[str | None] = []

    def counting(value, name=None):
        calls.append(name)
        return value

    fake = type(
        "FakeMasker",
        (),
        {"redact": staticmethod(counting), "should_hide_value_for_key": staticmethod(lambda n: False)},
    )
    monkeypatch.setattr(redaction, "_masker_modules", lambda: [fake, fake])
    event = _event_with("nothing to hide", {"other": job_facet.DocumentationJobFacet(description="plain")})
    redact_event(event)
    assert calls == [None, None]  # both maskers, once each, over every string of the event


def test_a_secret_found_in_the_joined_strings_is_masked_string_by_string(masker):
    masker(SECRET)
    event = _event_with("plain", {"other": job_facet.DocumentationJobFacet(description=f"has {SECRET}")})
    redacted = Serde.to_json(redact_event(event))
    assert SECRET not in redacted
    assert '"description": "plain"' in redacted
    assert '"description": "has ***"' in redacted


def test_a_value_only_the_provider_knows_is_masked_after_the_joined_check():
    secret = UNREGISTERED + "-batched"
    event = _event_with(f"deploy --token {secret}")
    redacted = Serde.to_json(redact_event(event, frozenset({secret})))
    assert secret not in redacted
    assert "deploy --token ***" in redacted


def test_a_secret_under_a_sensitive_key_is_masked_in_the_single_pass(monkeypatch):
    import airflow.providers.openlineage.redact.redaction as redaction

    passes = []
    real = redaction._Maskers

    def counted(*args, **kwargs):
        passes.append(kwargs.get("batch", False))
        return real(*args, **kwargs)

    monkeypatch.setattr(redaction, "_Maskers", counted)
    facet = AirflowDagRunFacet(dag={}, dagRun={"conf": {"password": "hunter2-unregistered"}})
    redacted = Serde.to_json(redact_event(facet))
    assert "hunter2-unregistered" not in redacted
    assert passes == [True]  # masked by its key name; nothing else to look for


def test_with_no_masker_importable_sensitive_keys_are_still_masked(monkeypatch, caplog):
    """Defect 7: no masker module means masking by key name alone, never a pass-through."""
    from airflow.providers.openlineage.redact import redaction

    monkeypatch.setattr(redaction, "_masker_modules", lambda: [])
    monkeypatch.setattr(redaction, "_warned_no_masker", False)
    conf = {"password": "hunter2-unit", "nested": {"api_key": "k-12345", "list": [{"token": "t-12345"}]}}
    with caplog.at_level("WARNING", logger=redaction.__name__):
        masked = redact_structure(to_json_value(conf))
        event = RunEvent(
            eventType=RunState.START,
            eventTime="2026-12-07T00:00:00+00:00",
            run=Run(
                runId="01936f1c-0000-7000-8000-000000000000",
                facets={
                    "airflow": AirflowDagRunFacet(
                        dag={"dag_id": "d"}, dagRun={"conf": {"db_password": "hunter2-unit"}}
                    )
                },
            ),
            job=Job(namespace="default", name="d.t"),
            producer="https://example.com",
        )
        text = Serde.to_json(redact_event(event))
    assert masked == {"password": MASK, "nested": {"api_key": MASK, "list": [{"token": MASK}]}}
    assert "hunter2-unit" not in text
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "masker" in warnings[0]
