"""Configuration accessors: defaults, environment overrides and fallbacks, one warning per bad value."""

from __future__ import annotations

import logging

import pytest

from airflow.providers.openlineage import conf


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_defaults(monkeypatch):
    for name in ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG", "OPENLINEAGE_NAMESPACE", "OPENLINEAGE_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    assert conf.execution_timeout() == 10
    assert conf.execute_in_thread() is False
    assert conf.namespace() == "default"
    assert conf.transport() == {}
    assert conf.emission_policy() == []
    assert conf.dag_state_change_process_pool_size() == 1
    assert conf.is_disabled() is True  # nothing configured: inert


@pytest.mark.parametrize(
    ("option", "value", "accessor", "expected"),
    [
        ("EXECUTION_TIMEOUT", "abc", conf.execution_timeout, 10),
        ("EXECUTION_TIMEOUT", "-3", conf.execution_timeout, 10),
        ("TRANSPORT", "{not json", conf.transport, {}),
        ("TRANSPORT", "[1, 2]", conf.transport, {}),
        ("EMISSION_POLICY", "{oops", conf.emission_policy, []),
        ("EXECUTE_IN_THREAD", "maybe", conf.execute_in_thread, False),
        ("DAG_STATE_CHANGE_PROCESS_POOL_SIZE", "0", conf.dag_state_change_process_pool_size, 1),
    ],
)
def test_bad_value_warns_once_and_falls_back(monkeypatch, caplog, option, value, accessor, expected):
    monkeypatch.setenv(f"AIRFLOW__OPENLINEAGE__{option}", value)
    with caplog.at_level(logging.WARNING, logger="airflow.providers.openlineage.conf"):
        assert accessor() == expected
        assert accessor() == expected  # read again (nothing is cached under pytest): no second line
    lines = _warnings(caplog)
    assert len(lines) == 1, lines
    assert f"[openlineage] {option.lower()}" in lines[0]
    assert value in lines[0]


def test_environment_overrides_and_fallbacks(monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT", "3")
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD", "True")
    monkeypatch.setenv("OPENLINEAGE_NAMESPACE", "from_env")
    monkeypatch.setenv("OPENLINEAGE_EXTRACTORS", "a.B; c.D ;")
    assert conf.execution_timeout() == 3
    assert conf.execute_in_thread() is True
    assert conf.namespace() == "from_env"
    assert conf.custom_extractors() == {"a.B", "c.D"}
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__NAMESPACE", "from_conf")
    conf.clear_cache()
    assert conf.namespace() == "from_conf"


@pytest.mark.parametrize(
    "env",
    [
        {"AIRFLOW__OPENLINEAGE__TRANSPORT": '{"type": "console"}'},
        {"OPENLINEAGE_URL": "http://127.0.0.1:1"},
        {"OPENLINEAGE__TRANSPORT__TYPE": "console"},
        {"AIRFLOW__OPENLINEAGE__CONFIG_PATH": "/tmp/x.yml"},
        {"OPENLINEAGE_CONFIG": "/tmp/x.yml"},
        {"AIRFLOW__OPENLINEAGE__CONFIG_CONN_ID": "ol"},
    ],
)
def test_is_disabled_enabled_by_any_source(monkeypatch, env):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert conf.is_disabled() is False
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    conf.clear_cache()
    assert conf.is_disabled() is True


def test_kill_switch(monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", '{"type": "console"}')
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__DISABLED", "true")
    assert conf.is_disabled() is True


def test_unimportable_extractor_warns_once(monkeypatch, caplog):
    from airflow.providers.openlineage.extractors.manager import ExtractorManager

    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXTRACTORS", "no.such.module.Extractor")
    with caplog.at_level(logging.WARNING):
        manager = ExtractorManager()
        ExtractorManager()
    assert set(manager.extractors) == {"PythonOperator", "BashOperator"}  # the built-ins only
    lines = [line for line in _warnings(caplog) if "no.such.module.Extractor" in line]
    assert len(lines) == 1
    assert "[openlineage] extractors" in lines[0]


def test_values_are_read_afresh_under_pytest_and_memoised_elsewhere(monkeypatch):
    """Tests (ours and other providers') see a changed option at once; a real process reads it once."""
    import os
    import subprocess
    import sys

    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__NAMESPACE", "first")
    assert conf.namespace() == "first"
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__NAMESPACE", "second")
    assert conf.namespace() == "second"

    program = (
        "import os\n"
        "from airflow.providers.openlineage import conf\n"
        "os.environ['AIRFLOW__OPENLINEAGE__NAMESPACE'] = 'first'\n"
        "print(conf.namespace())\n"
        "os.environ['AIRFLOW__OPENLINEAGE__NAMESPACE'] = 'second'\n"
        "print(conf.namespace())\n"
        "conf.clear_cache()\n"
        "print(conf.namespace())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_VERSION"}
    out = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    assert out == ["first", "first", "second"]
