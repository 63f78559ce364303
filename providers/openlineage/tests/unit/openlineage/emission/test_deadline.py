"""The attempt deadline, on a fake clock: every branch of how START and terminal phases are bounded."""

from __future__ import annotations

import pytest

from airflow.providers.openlineage.emission.deadline import AttemptDeadline, FixedDeadline, Phase


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


def test_outside_a_phase_nothing_may_wait(clock):
    deadline = AttemptDeadline(10, 20, clock=clock)
    assert deadline.phase is Phase.IDLE
    assert deadline.remaining() == 0.0
    assert deadline.expired


def test_start_phase_is_fixed_when_start_begins(clock):
    deadline = AttemptDeadline(10, 20, clock=clock)
    deadline.begin_start()
    clock.advance(4)
    assert deadline.remaining() == pytest.approx(6)
    assert deadline.remaining(reserve=0.5) == pytest.approx(5.5)
    clock.advance(7)
    assert deadline.remaining() == 0.0
    assert deadline.expired


def test_execute_time_is_not_charged_and_terminal_gets_what_start_left(clock):
    deadline = AttemptDeadline(10, 60, clock=clock, overtime_margin=2.5)
    deadline.begin_start()
    clock.advance(3)  # START extraction blocked 3 s
    deadline.end_start()
    assert deadline.start_blocked == pytest.approx(3)
    clock.advance(3600)  # execute(): not lineage's time
    deadline.begin_terminal(state_reported_at=clock.now)
    assert deadline.remaining() == pytest.approx(7)
    assert not deadline.capped_by_overtime
    clock.advance(7.01)
    assert deadline.expired


def test_terminal_is_capped_by_overtime_counted_from_the_state_report(clock):
    """execution_timeout 30 with the default overtime 20: the task's callbacks ran 4 s after its report."""
    deadline = AttemptDeadline(30, 20, clock=clock, overtime_margin=2.5)
    assert not deadline.fits_in_overtime()
    deadline.begin_start()
    deadline.end_start()
    reported = clock.now
    clock.advance(4)  # on_success_callback and other listeners ran first
    deadline.begin_terminal(state_reported_at=reported)
    assert deadline.capped_by_overtime
    assert deadline.remaining() == pytest.approx(20 - 2.5 - 4)


def test_terminal_extraction_and_wait_share_one_end(clock):
    """The terminal cap is spent once: extraction and the wait after it read the same instant."""
    deadline = AttemptDeadline(30, 20, clock=clock, overtime_margin=2.5)
    deadline.begin_terminal(state_reported_at=clock.now)
    clock.advance(17.4)  # a slow COMPLETE extraction
    assert deadline.remaining() == pytest.approx(0.1)
    clock.advance(0.2)
    assert deadline.remaining() == 0.0  # the send that follows gets nothing more


def test_unknown_report_time_means_now_and_a_future_report_is_clamped(clock):
    deadline = AttemptDeadline(30, 20, clock=clock, overtime_margin=2.5)
    deadline.begin_terminal(state_reported_at=None)
    assert deadline.remaining() == pytest.approx(17.5)
    deadline.begin_terminal(state_reported_at=clock.now + 100)
    assert deadline.remaining() == pytest.approx(17.5)


def test_terminal_without_start_ends_start_and_gets_the_whole_budget(clock):
    deadline = AttemptDeadline(5, 60, clock=clock)
    deadline.begin_start()
    clock.advance(1)
    deadline.begin_terminal(state_reported_at=clock.now)  # START never ended (e.g. it raised)
    assert deadline.start_blocked == pytest.approx(1)
    assert deadline.remaining() == pytest.approx(4)


def test_start_that_used_everything_leaves_nothing_for_terminal(clock):
    deadline = AttemptDeadline(5, 60, clock=clock)
    deadline.begin_start()
    clock.advance(9)  # an extraction that was abandoned late
    deadline.end_start()
    assert deadline.start_blocked == 5  # charged at most the whole budget
    deadline.begin_terminal(state_reported_at=clock.now)
    assert deadline.expired


def test_cut_ends_the_phase_at_once(clock):
    deadline = AttemptDeadline(10, 60, clock=clock)
    deadline.begin_terminal(state_reported_at=clock.now)
    deadline.cut()
    assert deadline.expired


def test_blocked_counts_both_phases(clock):
    deadline = AttemptDeadline(10, 60, clock=clock)
    deadline.begin_start()
    clock.advance(1)
    deadline.end_start()
    clock.advance(100)
    deadline.begin_terminal(state_reported_at=clock.now)
    clock.advance(2)
    assert deadline.blocked == pytest.approx(3)
    deadline.end_terminal()
    assert deadline.terminal_blocked == pytest.approx(2)
    assert deadline.blocked == pytest.approx(3)


def test_fixed_deadline(clock):
    deadline = FixedDeadline(2, clock=clock)
    clock.advance(1.5)
    assert deadline.remaining() == pytest.approx(0.5)
    assert deadline.remaining(reserve=1) == 0.0
    deadline.cut()
    assert deadline.expired
