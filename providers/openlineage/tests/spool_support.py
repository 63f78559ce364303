"""Real OpenLineage events and a backend whose behaviour a test (or a forked child) can switch by file."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from hang import hang
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.facet_v2 import sql_job

from airflow.providers.openlineage.emission.spool import Spool


def run_event(
    state: str, run_id: str | None = None, job: str = "dag.task", query: str = "select 1"
) -> RunEvent:
    return RunEvent(
        eventType=RunState[state],
        eventTime="2026-12-02T00:00:00+00:00",
        run=Run(runId=run_id or str(uuid.uuid4())),
        job=Job(namespace="spool-tests", name=job, facets={"sql": sql_job.SQLJobFacet(query=query)}),
        producer="https://example.com/spool-tests",
    )


class SwitchableBackend:
    """
    A client whose outcome is read from ``<dir>/mode`` at each emit: ``ok`` appends the event to
    ``<dir>/received``, ``fail`` raises, ``hang`` sleeps, ``hang-backlog`` sleeps for events of the
    job ``backlog`` only. Works across fork: the file is the switch.
    """

    def __init__(self, directory: Path, mode: str = "ok") -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.set(mode)

    def set(self, mode: str) -> None:
        (self.directory / "mode").write_text(mode)

    def client(self) -> _Client:
        return _Client(self.directory)

    def received(self) -> list[tuple[str, str, str]]:
        path = self.directory / "received"
        if not path.exists():
            return []
        return [tuple(json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


class _Client:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def emit(self, event: RunEvent) -> None:
        (self.directory / "entered").touch()  # tests wait on it: an event reached the backend
        mode = (self.directory / "mode").read_text()
        if mode == "fail":
            raise ConnectionRefusedError("backend refused the connection")
        if mode == "hang" or (mode == "hang-backlog" and event.job.name == "backlog"):
            hang(60)
        line = json.dumps([event.run.runId, event.eventType.value, event.job.name]) + "\n"
        fd = os.open(self.directory / "received", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


def new_spool(tmp_path: Path, max_bytes: int = 64 * 1024 * 1024) -> Spool:
    directory = tmp_path / "spool"
    directory.mkdir(mode=0o700, exist_ok=True)
    return Spool(directory, max_bytes)
