"""``airflow openlineage spool status | replay | purge`` against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

from receiver import Receiver, unused_port
from spool_support import run_event

from airflow.providers.openlineage import spool_cli
from airflow.providers.openlineage.emission.spool import configured_spool


def _configure(monkeypatch, tmp_path, url: str) -> Path:
    directory = tmp_path / "spool"
    directory.mkdir(mode=0o700)
    transport = {"type": "http", "url": url, "endpoint": "api/v1/lineage", "timeout": 5}
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(transport))
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__SPOOL_DIR", str(directory))
    return directory


def _spooled(count: int) -> list[str]:
    spool = configured_spool()
    run_ids = []
    for _ in range(count):
        event = run_event("COMPLETE")
        assert spool.write(event, "test")
        run_ids.append(event.run.runId)
    return run_ids


def _run(argv, ask=lambda prompt: "n"):
    out = io.StringIO()
    code = spool_cli.main(argv, out=out, ask=ask)
    return code, out.getvalue()


def test_status_reports_files_size_and_oldest(monkeypatch, tmp_path):
    directory = _configure(monkeypatch, tmp_path, f"http://127.0.0.1:{unused_port()}")
    _spooled(3)
    code, text = _run(["status"])
    assert code == 0
    assert f"Spool directory : {directory}" in text
    assert "Spooled events  : 3" in text
    code, text = _run(["status", "--json"])
    report = json.loads(text)
    assert report["files"] == 3
    assert report["bytes"] > 0
    assert report["oldest"]


def test_replay_delivers_everything_with_progress_and_empties_the_spool(monkeypatch, tmp_path):
    with Receiver("healthy") as receiver:
        _configure(monkeypatch, tmp_path, receiver.url)
        run_ids = _spooled(120)
        code, text = _run(["replay"])
        assert receiver.wait_for(120, timeout=10)
        received = [event["run"]["runId"] for event in receiver.events]
    assert code == 0, text
    assert received == run_ids
    assert "[##############################] 120/120" in text
    assert "Replayed 120 event(s); 0 still spooled" in text


def test_replay_waits_for_a_file_another_process_holds(monkeypatch, tmp_path):
    with Receiver("healthy") as receiver:
        _configure(monkeypatch, tmp_path, receiver.url)
        run_ids = _spooled(3)
        held = configured_spool().entries()[0]
        ready_read, ready_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # another replayer holding the oldest file for a second
            claim = configured_spool().claim(held)
            os.write(ready_write, b"1" if claim else b"0")
            time.sleep(1)
            os._exit(0)
        assert os.read(ready_read, 1) == b"1"
        code, text = _run(["replay", "--timeout", "20"])
        os.waitpid(pid, 0)
        received = [event["run"]["runId"] for event in receiver.events]
    assert code == 0, text
    assert sorted(received) == sorted(run_ids)
    assert "Replayed 3 event(s); 0 still spooled" in text


def test_replay_is_bounded_by_max_events(monkeypatch, tmp_path):
    with Receiver("healthy") as receiver:
        _configure(monkeypatch, tmp_path, receiver.url)
        _spooled(5)
        code, text = _run(["replay", "--max-events", "2"])
    assert code == 0
    assert "Replayed 2 event(s); 3 still spooled" in text


def test_replay_against_a_refusing_backend_keeps_everything_and_exits_1(monkeypatch, tmp_path):
    _configure(monkeypatch, tmp_path, f"http://127.0.0.1:{unused_port()}")
    _spooled(4)
    code, text = _run(["replay", "--timeout", "20"])
    assert code == 1
    assert "4 still spooled" in text
    assert "The backend failed" in text


def test_purge_asks_first(monkeypatch, tmp_path):
    _configure(monkeypatch, tmp_path, f"http://127.0.0.1:{unused_port()}")
    _spooled(2)
    code, text = _run(["purge"], ask=lambda prompt: "n")
    assert code == 0
    assert "Nothing deleted" in text
    assert len(configured_spool().entries()) == 2
    asked = []
    code, text = _run(["purge"], ask=lambda prompt: asked.append(prompt) or "y")
    assert "Delete 2 spooled OpenLineage event(s)" in asked[0]
    assert "Deleted 2 spooled event(s)" in text
    assert configured_spool().entries() == []


def test_with_the_spool_off_every_command_says_which_option_to_set(monkeypatch):
    monkeypatch.delenv("AIRFLOW__OPENLINEAGE__SPOOL_DIR", raising=False)
    code, text = _run(["status"])
    assert code == 2
    assert "[openlineage] spool_dir is not set" in text
