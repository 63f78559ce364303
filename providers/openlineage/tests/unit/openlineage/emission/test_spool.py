"""The spool's storage: atomic owner-only files in order, the size bound, locks, bad directories."""

from __future__ import annotations

import logging
import os
import stat
import time

import pytest
from openlineage.client.serde import Serde
from spool_support import new_spool, run_event

from airflow.providers.openlineage.emission import spool as spool_module
from airflow.providers.openlineage.emission.spool import CORRUPT_DIR, open_spool
from airflow.providers.openlineage.emission.spooled_event import decode


def test_files_are_owner_only_in_write_order_and_hold_the_event_as_sent(tmp_path):
    spool = new_spool(tmp_path)
    events = [run_event("START"), run_event("COMPLETE"), run_event("FAIL")]
    for event in events:
        assert spool.write(event, "test")
    entries = spool.entries()
    assert [entry.kind for entry in entries] == ["START", "COMPLETE", "FAIL"]
    assert [entry.run_id for entry in entries] == [event.run.runId for event in events]
    for entry, event in zip(entries, events, strict=False):
        assert stat.S_IMODE(entry.path.stat().st_mode) == 0o600
        decoded, envelope = decode(entry.path.read_bytes())
        assert Serde.to_json(decoded) == Serde.to_json(event)
        assert envelope["reason"] == "test"
    assert not [p for p in spool.directory.iterdir() if p.name.startswith(".")]  # no temporary left


def test_a_full_spool_drops_its_oldest_events_and_says_so_once(tmp_path, caplog, monkeypatch):
    counted = []
    monkeypatch.setattr(spool_module.metrics, "incr", counted.append)
    first = run_event("START")
    size = len(spool_module.encode(first, "test"))
    spool = new_spool(tmp_path, max_bytes=size * 3 + size // 2)
    events = [first] + [run_event("START") for _ in range(5)]
    with caplog.at_level(logging.WARNING):
        for event in events:
            assert spool.write(event, "test")
    kept = [entry.run_id for entry in spool.entries()]
    assert kept == [event.run.runId for event in events[-3:]]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "is full" in warnings[0]
    assert "spool_max_size_mb" in warnings[0]
    assert counted.count("spool.dropped.full") == 3
    assert counted.count("spool.spooled") == 6


def test_an_event_larger_than_the_spool_is_dropped(tmp_path, caplog):
    spool = new_spool(tmp_path, max_bytes=100)
    with caplog.at_level(logging.WARNING):
        assert not spool.write(run_event("START"), "test")
    assert spool.entries() == []
    assert "larger than the spool" in caplog.text


@pytest.mark.parametrize("problem", ["missing", "file", "read-only"])
def test_an_unusable_directory_is_one_warning_naming_the_option(tmp_path, caplog, problem):
    target = tmp_path / "spool"
    if problem == "file":
        target.write_text("")
    elif problem == "read-only":
        target.mkdir(mode=0o500)
    if problem == "read-only" and os.access(target, os.W_OK):
        pytest.skip("running as root: a mode 0500 directory is still writable (the other cases run)")
    spool_module.reset_opened()
    with caplog.at_level(logging.WARNING):
        assert open_spool(str(target), 1) is None
        assert open_spool(str(target), 1) is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "[openlineage] spool_dir" in warnings[0]
    assert str(target) in warnings[0]
    spool_module.reset_opened()


def test_a_directory_that_goes_away_drops_events_with_one_warning(tmp_path, caplog):
    spool = new_spool(tmp_path)
    spool.directory.rmdir()  # e.g. a volume unmounted under a running worker
    with caplog.at_level(logging.WARNING):
        assert not spool.write(run_event("START"), "test")
        assert not spool.write(run_event("COMPLETE"), "test")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "dropped" in warnings[0]
    assert str(spool.directory) in warnings[0]


def test_a_claimed_file_cannot_be_claimed_by_another_process(tmp_path):
    spool = new_spool(tmp_path)
    spool.write(run_event("START"), "test")
    (entry,) = spool.entries()
    claim = spool.claim(entry)
    assert claim is not None
    pid = os.fork()
    if pid == 0:
        os._exit(0 if spool.claim(entry) is None else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    claim.release()
    assert spool.claim(entry) is not None


def test_a_forked_child_does_not_keep_its_parents_claims(tmp_path):
    """flock belongs to the open file: a child forked while a claim is held must not keep it locked."""
    spool = new_spool(tmp_path)
    spool.write(run_event("START"), "test")
    (entry,) = spool.entries()
    claim = spool.claim(entry)
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a long-lived child (a LocalExecutor worker forked by the scheduler)
        os.write(ready_write, b"1")  # past fork(): its at-fork handlers ran
        time.sleep(3)
        os._exit(0)
    assert os.read(ready_read, 1) == b"1"
    try:
        claim.release()
        again = spool.claim(entry)
        assert again is not None  # free as soon as the parent lets go, though the child still lives
        again.release()
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def test_a_file_deleted_by_its_holder_is_not_claimed_by_one_who_opened_it_before(tmp_path):
    spool = new_spool(tmp_path)
    spool.write(run_event("START"), "test")
    (entry,) = spool.entries()
    claim = spool.claim(entry)
    late_fd = os.open(entry.path, os.O_RDONLY)  # another reader opened it already
    claim.delete()
    os.close(late_fd)
    assert spool.claim(entry) is None
    assert spool.entries() == []


def test_corrupt_files_are_moved_aside(tmp_path, caplog):
    spool = new_spool(tmp_path)
    spool.write(run_event("START"), "test")
    (entry,) = spool.entries()
    entry.path.write_bytes(b'{"format": 1, "event": {"trunc')
    claim = spool.claim(entry)
    with caplog.at_level(logging.WARNING):
        spool.move_aside(claim, "truncated")
    assert spool.entries() == []
    assert (spool.directory / CORRUPT_DIR / entry.path.name).exists()
    assert "moved to corrupt/" in caplog.text
    assert spool.status().corrupt == 1


def test_temporary_files_of_killed_writers_are_removed_once_stale(tmp_path):
    spool = new_spool(tmp_path)
    stale = spool.directory / ".tmp-0000000000000000001-1-000001.x.START.json"
    fresh = spool.directory / ".tmp-0000000000000000002-1-000002.x.START.json"
    stale.write_text("{")
    fresh.write_text("{")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    assert spool.entries() == []
    assert not stale.exists()
    assert fresh.exists()


def test_status_and_purge(tmp_path):
    spool = new_spool(tmp_path)
    for state in ("START", "COMPLETE"):
        spool.write(run_event(state), "test")
    status = spool.status()
    assert status.files == 2
    assert status.bytes > 0
    assert status.oldest is not None
    held = spool.claim(spool.entries()[0])  # being replayed elsewhere: purge leaves it
    assert spool.purge() == 1
    held.release()
    assert spool.purge() == 1
    assert spool.status().files == 0


def test_the_directory_is_synced_after_the_rename(tmp_path, monkeypatch):
    """Defect 9: the rename itself is made durable, not only the file's content."""
    synced: list[bool] = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(spool_module.os, "fsync", recording_fsync)
    spool = new_spool(tmp_path)
    assert spool.write(run_event("START"), "test")
    assert synced == [False, True]  # the file, then the directory holding its new name


def test_a_complete_temporary_file_left_by_a_crash_is_recovered_not_deleted(tmp_path):
    """Defect 9: a synced temporary file whose rename was lost is put in place once stale."""
    spool = new_spool(tmp_path)
    event = run_event("START")
    data = spool_module.encode(event, "test")
    name = f"{time.time_ns():019d}-4242-000001-{len(data)}.{event.run.runId}.START.json"
    complete = spool.directory / f".tmp-{name}"
    complete.write_bytes(data)
    torn = spool.directory / f".tmp-{name.replace('000001', '000002')}"
    torn.write_bytes(data[: len(data) // 2])
    old = time.time() - 3600
    for path in (complete, torn):
        os.utime(path, (old, old))
    entries = spool.entries()
    assert [entry.name for entry in entries] == [name]
    assert Serde.to_json(decode(entries[0].path.read_bytes())[0]) == Serde.to_json(event)
    assert not complete.exists()
    assert not torn.exists()  # half a file: nothing to recover
