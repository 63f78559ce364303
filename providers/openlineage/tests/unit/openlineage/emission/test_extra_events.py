"""The sink at the bottom: events from task code reach the running attempt, else the background emitter."""

from __future__ import annotations

from airflow.providers.openlineage.emission import extra_events


class _Background:
    def __init__(self) -> None:
        self.events: list[object] = []

    def submit(self, event: object) -> None:
        self.events.append(event)


def test_an_attached_attempt_takes_the_event_and_nothing_goes_to_the_background(monkeypatch):
    background = _Background()
    monkeypatch.setattr(extra_events, "get_background_emitter", lambda factory: background)
    taken: list[object] = []

    def taker(event: object) -> bool:
        taken.append(event)
        return True

    extra_events.attach(taker)
    try:
        extra_events.emit_extra("query-event", config={})
    finally:
        extra_events.detach(taker)
    assert taken == ["query-event"]
    assert background.events == []


def test_without_an_open_attempt_the_background_emitter_sends_it(monkeypatch):
    background = _Background()
    monkeypatch.setattr(extra_events, "get_background_emitter", lambda factory: background)

    def closed_attempt(event: object) -> bool:
        return False  # attached, but its attempt ended

    extra_events.attach(closed_attempt)
    try:
        extra_events.emit_extra("late-event", config={})
    finally:
        extra_events.detach(closed_attempt)
    extra_events.emit_extra("no-attempt", config={})
    assert background.events == ["late-event", "no-attempt"]


def test_detach_leaves_a_newer_taker_attached():
    def first(event: object) -> bool:
        return True

    def second(event: object) -> bool:
        return True

    extra_events.attach(first)
    extra_events.attach(second)
    extra_events.detach(first)
    try:
        assert extra_events.offer("event")
    finally:
        extra_events.detach(second)
    assert not extra_events.offer("event")
