"""The listener's ``submit_callable`` pool: daemon threads, results and errors through futures."""

from __future__ import annotations

import logging
import threading

import pytest

from airflow.providers.openlineage.emission.daemon_pool import DaemonThreadPool
from airflow.providers.openlineage.plugins.listener import OpenLineageListener


def test_results_and_errors_come_back_on_daemon_threads():
    pool = DaemonThreadPool(2)
    seen: list[bool] = []

    def work(x):
        seen.append(threading.current_thread().daemon)
        return x * 2

    assert [pool.submit(work, n).result(timeout=5) for n in range(4)] == [0, 2, 4, 6]
    assert seen == [True] * 4
    with pytest.raises(ZeroDivisionError):
        pool.submit(lambda: 1 / 0).result(timeout=5)
    pool.shutdown()
    with pytest.raises(RuntimeError):
        pool.submit(work, 1)


def _returns_within(seconds: float, func) -> bool:
    """Whether ``func()`` returns within ``seconds`` (run on a daemon thread; a hang is not waited for)."""
    done = threading.Event()
    threading.Thread(target=lambda: (func(), done.set()), daemon=True).start()
    return done.wait(seconds)


def test_a_hung_call_does_not_hold_shutdown_without_wait():
    pool = DaemonThreadPool(1)
    release = threading.Event()
    running = pool.submit(release.wait, 30)
    try:
        assert _returns_within(5, lambda: pool.shutdown(wait=False))
        assert running.running()  # still at work: left to die with the process
    finally:
        release.set()


def test_shutdown_with_wait_is_bounded_by_its_timeout():
    """Defect 10: a hung call holds ``shutdown(wait=True)`` for at most its timeout."""
    pool = DaemonThreadPool(1)
    release = threading.Event()
    pool.submit(release.wait, 30)
    try:
        assert _returns_within(5, lambda: pool.shutdown(wait=True, timeout=0.2))
    finally:
        release.set()


def test_the_queue_is_bounded_and_a_refused_call_fails_its_future(caplog):
    """Defect 10: behind a hung call the queue stops growing; the caller's future says why."""
    pool = DaemonThreadPool(1, max_queued=3)
    release = threading.Event()
    pool.submit(release.wait, 30)
    try:
        with caplog.at_level(logging.WARNING):
            futures = [pool.submit(lambda: None) for _ in range(6)]
        refused = [future for future in futures if future.done()]
        assert len(refused) >= 2
        for future in refused:
            with pytest.raises(RuntimeError, match="queue is full"):
                future.result(timeout=0)
        assert caplog.text.count("queue is full") == 1
    finally:
        release.set()
        pool.shutdown(wait=True, timeout=5)


def test_listener_submit_callable_logs_a_failure_once(caplog):
    listener = OpenLineageListener()
    with caplog.at_level(logging.WARNING):
        future = listener.submit_callable(lambda: {}["missing"])
        with pytest.raises(KeyError):
            future.result(timeout=5)
        listener.executor.shutdown()
    assert caplog.text.count("OpenLineage submitted call failed: KeyError") == 1
