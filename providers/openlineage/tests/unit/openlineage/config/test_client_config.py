"""Only a resolved configuration is remembered; a failure is retried and each distinct one logged once."""

from __future__ import annotations

import logging

import pytest

from airflow.providers.openlineage.config import client_config


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


def _announcements(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("OpenLineageClient will use")]


def test_a_task_attempts_client_is_built_without_the_clients_transport_line(caplog):
    config = {"transport": {"type": "console"}}
    with caplog.at_level(logging.INFO, logger="openlineage.client.client"):
        quiet = client_config.build_client(config, announce=False)
        assert _announcements(caplog) == []
        loud = client_config.build_client(config)
    assert quiet.transport.kind == loud.transport.kind == "console"
    assert _announcements(caplog) == ["OpenLineageClient will use `console` transport"]


def test_the_quiet_build_drops_only_its_own_threads_announcement(caplog):
    import threading

    from openlineage.client import OpenLineageClient

    seen_other: list[object] = []
    with caplog.at_level(logging.INFO, logger="openlineage.client.client"):
        client_config.build_client({"transport": {"type": "console"}}, announce=False)
        other = threading.Thread(
            target=lambda: seen_other.append(OpenLineageClient(config={"transport": {"type": "console"}}))
        )
        other.start()
        other.join(10)
    assert seen_other
    assert len(_announcements(caplog)) == 1  # the other thread's client announced itself
