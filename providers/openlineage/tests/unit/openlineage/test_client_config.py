"""Only a resolved configuration is remembered; a failure is retried and each distinct one logged once."""

from __future__ import annotations

import logging

import pytest

from airflow.providers.openlineage import client_config


def test_a_failure_is_retried_and_a_later_success_is_kept(monkeypatch, caplog):
    outcomes = [client_config.ClientConfigError("[openlineage] config_conn_id `c`: deadline"), {"a": 1}]
    calls = []

    def load():
        calls.append(1)
        outcome = outcomes[min(len(calls), len(outcomes)) - 1]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(client_config, "load_client_config", load)
    with caplog.at_level(logging.WARNING, logger=client_config.__name__):
        with pytest.raises(client_config.ClientConfigError):
            client_config.resolved_client_config()
        assert client_config.resolved_client_config() == {"a": 1}
        assert client_config.resolved_client_config() == {"a": 1}
    assert len(calls) == 2  # the success is cached
    assert len(caplog.records) == 1


def test_each_distinct_failure_is_logged_once(monkeypatch, caplog):
    errors = iter(["first", "first", "second", "first"])

    def load():
        raise client_config.ClientConfigError(f"[openlineage] config_path `x`: {next(errors)}")

    monkeypatch.setattr(client_config, "load_client_config", load)
    with caplog.at_level(logging.WARNING, logger=client_config.__name__):
        for _ in range(4):
            with pytest.raises(client_config.ClientConfigError):
                client_config.resolved_client_config()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "first" in messages[0]
    assert "second" in messages[1]
