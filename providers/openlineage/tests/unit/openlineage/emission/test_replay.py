"""Replaying the spool: order per run, never twice at once, stop on failure, buffering clients."""

from __future__ import annotations

import collections
import json
import logging
import os
import uuid

from openlineage.client import OpenLineageClient
from openlineage.client.transport.file import FileConfig, FileTransport
from spool_support import SwitchableBackend, new_spool, run_event

from airflow.providers.openlineage.emission.deadline import FixedDeadline
from airflow.providers.openlineage.emission.replay import BackgroundReplayer, replay


def _spool_runs(spool, runs=3):
    """START then COMPLETE of ``runs`` runs, interleaved the way a DAG's tasks spool them."""
    events = []
    for state in ("START", "COMPLETE"):
        for index in range(runs):
            events.append(run_event(state, run_id=f"0190a000-0000-7000-8000-00000000000{index}"))
    for event in events:
        assert spool.write(event, "test")
    return [(e.run.runId, e.eventType.value, e.job.name) for e in events]


def test_replay_sends_in_spool_order_and_empties_it(tmp_path):
    spool = new_spool(tmp_path)
    expected = _spool_runs(spool)
    backend = SwitchableBackend(tmp_path / "backend")
    result = replay(spool, backend.client, FixedDeadline(10))
    assert result.sent == 6
    assert not result.failed
    assert backend.received() == expected
    assert spool.entries() == []


def test_a_run_whose_start_is_held_elsewhere_waits_while_other_runs_go(tmp_path):
    spool = new_spool(tmp_path)
    _spool_runs(spool, runs=2)
    held = spool.claim(spool.entries()[0])  # run 0's START, being sent by another process
    backend = SwitchableBackend(tmp_path / "backend")
    result = replay(spool, backend.client, FixedDeadline(10))
    received = backend.received()
    assert [(r[0][-1], r[1]) for r in received] == [("1", "START"), ("1", "COMPLETE")]
    assert result.waiting == 2
    held.release()
    replay(spool, backend.client, FixedDeadline(10))
    assert [(r[0][-1], r[1]) for r in backend.received()[2:]] == [("0", "START"), ("0", "COMPLETE")]


def test_the_first_failed_send_ends_the_pass_and_keeps_every_file(tmp_path):
    spool = new_spool(tmp_path)
    _spool_runs(spool)
    backend = SwitchableBackend(tmp_path / "backend", mode="fail")
    result = replay(spool, backend.client, FixedDeadline(10))
    assert result.failed
    assert result.sent == 0
    assert "refused" in result.error
    assert len(spool.entries()) == 6


def test_a_buffering_client_that_does_not_deliver_on_close_keeps_the_files(tmp_path):
    spool = new_spool(tmp_path)
    _spool_runs(spool, runs=1)

    class Buffering:
        def emit(self, event):
            pass

        def close(self, timeout):
            return False  # its queue was not delivered

    result = replay(spool, Buffering, FixedDeadline(10))
    assert result.sent == 0
    assert result.failed
    assert len(spool.entries()) == 2


def test_corrupt_files_never_block_the_rest(tmp_path):
    spool = new_spool(tmp_path)
    expected = _spool_runs(spool, runs=1)
    broken = (
        spool.directory / "0000000000000000001-1-000000-9.0190a000-0000-7000-8000-0000000000ff.START.json"
    )
    broken.write_bytes(b"\x00not json")
    backend = SwitchableBackend(tmp_path / "backend")
    result = replay(spool, backend.client, FixedDeadline(10))
    assert result.corrupt == 1
    assert result.sent == 2
    assert backend.received() == expected


def test_two_processes_replaying_at_once_never_send_an_event_twice(tmp_path):
    spool = new_spool(tmp_path)
    for index in range(150):
        run_id = str(uuid.uuid4())
        spool.write(run_event("START", run_id=run_id, job=f"job{index}"), "test")
        spool.write(run_event("COMPLETE", run_id=run_id, job=f"job{index}"), "test")
    backend = SwitchableBackend(tmp_path / "backend")
    children = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                replay(spool, backend.client, FixedDeadline(30), batch_size=5)
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    for pid in children:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    replay(spool, backend.client, FixedDeadline(30))  # what waited behind the other process
    received = backend.received()
    counts = collections.Counter(received)
    assert len(counts) == 300
    assert max(counts.values()) == 1, counts.most_common(3)
    by_run = collections.defaultdict(list)
    for run_id, state, _ in received:
        by_run[run_id].append(state)
    assert all(states == ["START", "COMPLETE"] for states in by_run.values())


def test_a_replayed_event_goes_through_a_real_client_unchanged(tmp_path):
    """Rebuilt events pass the client's own checks (type, tags merge) and serialise to the same JSON."""
    spool = new_spool(tmp_path)
    original = run_event("START")
    out = tmp_path / "events.ndjson"

    def client():
        return OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=str(out), append=True)))

    client().emit(original)  # what the backend would have got live (the client adds its tags facet)
    live = json.loads(out.read_text().splitlines()[0])
    spool.write(original, "test")
    assert replay(spool, client, FixedDeadline(10)).sent == 1
    replayed = json.loads(out.read_text().splitlines()[1])
    assert replayed == live


def test_the_background_replayer_drains_the_spool_with_one_info_line(tmp_path, caplog):
    spool = new_spool(tmp_path)
    expected = _spool_runs(spool)
    backend = SwitchableBackend(tmp_path / "backend", mode="fail")
    replayer = BackgroundReplayer(spool, backend.client)
    with caplog.at_level(logging.INFO, logger="airflow.providers.openlineage.emission.replay"):
        assert replayer.run_pass()  # backend down: wait for the next interval
        backend.set("ok")
        assert replayer.run_pass()
        assert replayer.run_pass()  # nothing left: no second line
    assert backend.received() == expected
    drained = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert drained == ["OpenLineage spool drained: 6 spooled event(s) delivered"]
