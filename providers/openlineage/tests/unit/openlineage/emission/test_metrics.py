"""Metrics go out under today's provider's ``ol.*`` names and tags, and never raise."""

from __future__ import annotations

import pytest
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

from airflow.providers.openlineage.emission import delivery, metrics


class RecordingStats:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict]] = []

    def incr(self, name, **kwargs):
        self.calls.append(("incr", name, kwargs.get("tags", {})))

    def timing(self, name, value, **kwargs):
        self.calls.append(("timing", name, kwargs.get("tags", {})))

    def gauge(self, name, value, **kwargs):
        self.calls.append(("gauge", name, kwargs.get("tags", {})))


class Transport:
    kind = "http"


class Client:
    transport = Transport()

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def emit(self, event) -> None:
        if self.fail:
            raise ConnectionError("refused")


EVENT = RunEvent(
    eventType=RunState.COMPLETE,
    eventTime="2025-06-01T00:00:00+00:00",
    run=Run(runId="01890f6e-0000-7000-8000-000000000001"),
    job=Job(namespace="default", name="d.t"),
    producer="p",
)


@pytest.fixture
def stats(monkeypatch):
    recording = RecordingStats()
    monkeypatch.setattr(metrics, "_stats", lambda: recording)
    monkeypatch.setattr(metrics, "enabled", lambda: True)
    return recording


def test_a_send_is_timed_as_ol_emit_attempts_with_todays_tags(stats):
    delivery.send_event(Client(), EVENT)
    tags = {"event_type": "complete", "transport_type": "http"}
    assert ("timing", "ol.emit.attempts", tags) in stats.calls
    assert ("gauge", "ol.event.size", tags) in stats.calls
    assert ("incr", "ol.emit.success", {}) in stats.calls


def test_a_failed_send_counts_ol_emit_failed(stats):
    with pytest.raises(ConnectionError):
        delivery.send_event(Client(fail=True), EVENT)
    assert ("incr", "ol.emit.failed", {}) in stats.calls
    assert ("timing", "ol.emit.attempts", {"event_type": "complete", "transport_type": "http"}) in stats.calls


def test_a_broken_stats_backend_never_raises(monkeypatch):
    class Broken:
        def __getattr__(self, name):
            raise RuntimeError("statsd down")

    monkeypatch.setattr(metrics, "_stats", lambda: Broken())
    metrics.incr("emit.failed", {"team_name": "a"})
    metrics.timing("emit.attempts", 0.1)
    metrics.gauge("event.size", 10)
