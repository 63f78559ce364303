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


def test_a_hung_call_does_not_hold_shutdown_without_wait():
    pool = DaemonThreadPool(1)
    release = threading.Event()
    pool.submit(release.wait)
    pool.shutdown(wait=False)  # returns at once although the call is still running
    release.set()


def test_listener_submit_callable_logs_a_failure_once(caplog):
    listener = OpenLineageListener()
    with caplog.at_level(logging.WARNING):
        future = listener.submit_callable(lambda: {}["missing"])
        with pytest.raises(KeyError):
            future.result(timeout=5)
        listener.executor.shutdown()
    assert caplog.text.count("OpenLineage submitted call failed: KeyError") == 1
