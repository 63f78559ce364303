"""Events whose redaction is left to the sender are finished off the hook's thread, and only once."""

from __future__ import annotations

import json
import os
import threading

from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.facet_v2 import documentation_job as job_facet
from openlineage.client.serde import Serde
from sender_support import FileClient, _lines

from airflow.providers.openlineage.emission.deadline import FixedDeadline
from airflow.providers.openlineage.emission.fork_sender import ForkSender
from airflow.providers.openlineage.emission.thread_sender import ThreadSender
from airflow.providers.openlineage.redact.redaction import MASK, DeferredRedaction

SECRET = "canary-deferred-7f3a"


class Deferred:
    """A payload that records, in its event, which process and thread finished it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    def __call__(self) -> dict:
        self.calls += 1
        return {"name": f"{self.name}@{os.getpid()}/{threading.current_thread().name}"}


def test_the_thread_sender_finishes_deferred_events_on_its_own_thread(tmp_path):
    out = tmp_path / "events"
    sender = ThreadSender(lambda: FileClient(out), name="sender-under-test")
    assert sender.start()
    assert sender.is_alive()
    start, complete = Deferred("START"), Deferred("COMPLETE")
    sender.submit(start)
    sender.submit(complete)
    assert sender.close(FixedDeadline(10))
    assert [r["name"] for r in _lines(out)] == [
        f"START@{os.getpid()}/sender-under-test",
        f"COMPLETE@{os.getpid()}/sender-under-test",
    ]
    assert (start.calls, complete.calls, sender.sent) == (1, 1, 2)


def test_a_fork_child_finishes_what_it_was_forked_with_the_runner_what_goes_through_the_pipe(tmp_path):
    out = tmp_path / "events"
    sender = ForkSender(lambda: FileClient(out, delay=0.2))
    start, complete = Deferred("START"), Deferred("COMPLETE")
    sender.submit(start)  # forks: the child inherits the payload and finishes it itself
    sender.submit(complete)  # the child is running: finished and pickled in the runner for its pipe
    assert sender.close(FixedDeadline(30))
    names = [r["name"] for r in _lines(out)]
    assert names[0].startswith("START@")
    assert not names[0].startswith(f"START@{os.getpid()}/")
    # finished in the runner, off its main thread
    assert names[1] == f"COMPLETE@{os.getpid()}/openlineage-fork-preparer"
    assert start.calls == 0
    assert complete.calls == 1
    assert sender.sent == 2


def test_an_event_that_cannot_be_finished_is_counted_failed_not_sent(tmp_path):
    out = tmp_path / "events"

    def broken() -> dict:
        raise ValueError("redaction failed")

    for sender in (ThreadSender(lambda: FileClient(out)), ForkSender(lambda: FileClient(out, delay=0.2))):
        sender.submit(Deferred("START"))
        sender.submit(broken)
        assert sender.close(FixedDeadline(30))
        assert sender.failed == 1
    assert not any("broken" in r["name"] for r in _lines(out))


def test_deferred_redaction_masks_once_and_names_the_event_before_it():
    from airflow.sdk._shared.secrets_masker import mask_secret

    mask_secret(SECRET)
    event = RunEvent(
        eventType=RunState.START,
        eventTime="2026-12-05T00:00:00+00:00",
        run=Run(runId="01936f1c-0000-7000-8000-000000000000"),
        job=Job(
            namespace="default",
            name="dag.task",
            facets={"documentation": job_facet.DocumentationJobFacet(description=f"uses {SECRET}")},
        ),
        producer="test",
    )
    deferred = DeferredRedaction(event, frozenset({"conf-secret-value"}))
    assert deferred.eventType is RunState.START
    assert deferred.job.name == "dag.task"
    assert deferred.run.runId == event.run.runId
    assert SECRET in Serde.to_json(event)  # nothing happens at the hook
    finished = deferred()
    assert finished is event
    assert deferred() is event
    text = json.dumps(json.loads(Serde.to_json(finished)))
    assert SECRET not in text
    assert MASK in text
