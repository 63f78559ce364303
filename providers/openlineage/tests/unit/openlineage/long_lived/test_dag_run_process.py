"""The scheduler's DAG-run event helper: builds from the portable copy and the DAG it loads itself."""

from __future__ import annotations

import datetime
import io
import os
import pickle
import signal
import types

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from openlineage.client.event_v2 import RunState
from receiver import Receiver

from airflow.providers.openlineage.config import client_config
from airflow.providers.openlineage.describe.snapshots import DagRunSnapshot
from airflow.providers.openlineage.emission.background import BackgroundEmitter
from airflow.providers.openlineage.long_lived.dag_run_process import DagLoader, serve
from airflow.providers.openlineage.long_lived.emitter_process import encode_message


class _Loader:
    """Stands in for the database read: the DAG the scheduler would have resolved for the run."""

    def __init__(self, dag: DAG) -> None:
        self.dag = dag
        self.asked: list[str] = []

    def dag_of(self, snapshot: DagRunSnapshot, state: RunState | None = None) -> DAG:
        self.asked.append(snapshot.created_dag_version_id)
        return self.dag


def _dag_run(dag: DAG, run_id: str, state: str) -> types.SimpleNamespace:
    when = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    return types.SimpleNamespace(
        dag=dag,  # the scheduler's object: the helper never gets it
        dag_id=dag.dag_id,
        run_id=run_id,
        state=state,
        conf={"password": "hunter2", "region": "eu"},
        run_type="manual",
        logical_date=when,
        data_interval_start=when,
        data_interval_end=when,
        start_date=when,
        end_date=when if state != "running" else None,
        run_after=when,
        clear_number=0,
        bundle_version=None,
        created_dag_version_id="v-1",
    )


def test_events_are_built_from_the_copy_with_the_dag_the_helper_loaded(monkeypatch, spec):
    with DAG("helper_dag", schedule=None, description="two tasks") as dag:
        EmptyOperator(task_id="first") >> EmptyOperator(task_id="second")
    loader = _Loader(dag)
    stream = io.BytesIO()
    for run_id in ("r1", "r2"):
        for state, run_state in (("running", RunState.START), ("success", RunState.COMPLETE)):
            values = DagRunSnapshot.portable_values(_dag_run(dag, run_id, state))
            assert "dag" not in values
            stream.write(encode_message((run_state, values, "")))
    stream.seek(0)
    with Receiver("healthy") as receiver:
        monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", _json(receiver.transport(timeout=5)))
        config = client_config.resolved_client_config()
        emitter = BackgroundEmitter(lambda: client_config.build_client(config), workers=1, drain_timeout=5)
        assert serve(stream, emitter, loader) == 4
        emitter.shutdown()
        receiver.wait_for(4, timeout=10)
        events = list(receiver.events)
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"] * 2
    for event in events:
        spec.validate_event(event)
        assert event["job"]["name"] == "helper_dag"
        assert "hunter2" not in _json(event)  # redacted in the helper as in the scheduler
    start = events[0]
    # From the loaded DAG: its tasks (START's airflow job facet) and its description.
    assert set(start["job"]["facets"]["airflow"]["tasks"]) == {"first", "second"}
    assert start["job"]["facets"]["documentation"]["description"] == "two tasks"
    assert loader.asked == ["v-1"] * 4


def _json(value: object) -> str:
    import json

    return json.dumps(value)


def test_a_note_not_loaded_is_left_to_the_emitter_which_reads_it_with_the_versions(monkeypatch):
    from airflow.models.dagrun import DagRun

    from airflow.providers.openlineage.describe import dag_run_lineage

    orm_run = DagRun(dag_id="helper_dag", run_id="r9", run_type="manual")
    # A relationship not loaded would be a query on the scheduler's loop: not read there.
    assert "note" not in DagRunSnapshot.portable_values(orm_run)
    assert "note" in DagRunSnapshot.portable_values(orm_run, defer_lazy=False)

    with DAG("helper_dag", schedule=None) as dag:
        EmptyOperator(task_id="only")
    read_from_db = {"dag_versions": [], "deadlines": [], "note": "from the database"}
    monkeypatch.setattr(
        dag_run_lineage,
        "fetch_dag_run_records",
        lambda dag_id, run_id, skip=(): {k: v for k, v in read_from_db.items() if k not in skip},
    )
    values = DagRunSnapshot.portable_values(_dag_run(dag, "r9", "running"))
    deferred = dag_run_lineage.dag_run_event(RunState.START, DagRunSnapshot(**values, dag=dag))
    assert deferred.run.facets["airflowDagRun"].dagRun["note"] == "from the database"
    # A note read at the hook is the one sent.
    at_hook = dag_run_lineage.dag_run_event(RunState.START, DagRunSnapshot(**values, dag=dag, note="at hook"))
    assert at_hook.run.facets["airflowDagRun"].dagRun["note"] == "at hook"


class _CapturingHelper:
    """Stands in for the helper process: keeps what the hook hands over, as the helper would get it."""

    def __init__(self) -> None:
        self.messages: list = []

    def submit(self, message) -> bool:
        self.messages.append(pickle.loads(pickle.dumps(message)))
        return True


def test_the_hook_reads_deadlines_in_the_loops_transaction_only_for_dags_with_deadline_alerts(monkeypatch):
    from airflow.providers.openlineage.plugins.listener import OpenLineageListener

    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", '{"type": "console"}')
    listener = OpenLineageListener()
    helper = _CapturingHelper()
    monkeypatch.setattr(listener, "_dag_run_helper", lambda: helper)
    with DAG("helper_dag", schedule=None) as dag:
        EmptyOperator(task_id="only")
    alert = types.SimpleNamespace(name="soon", description=None, reference={"reference_type": "X"})
    deadline = types.SimpleNamespace(
        deadline_time=datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC), missed=False, deadline_alert=alert
    )
    with_alerts = _dag_run(dag, "r1", "success")
    with_alerts.dag = types.SimpleNamespace(deadline=["alert-id"])  # as the SerializedDAG lists alerts
    with_alerts.deadlines = [deadline]
    without_alerts = _dag_run(dag, "r2", "success")
    without_alerts.deadlines = [deadline]  # would be a query on the loop: not read for such DAGs
    listener.on_dag_run_success(dag_run=with_alerts, msg="")
    listener.on_dag_run_success(dag_run=without_alerts, msg="")
    (_, first, _), (_, second, _) = helper.messages
    (copied,) = first["deadlines"]
    assert (copied.deadline_time.year, copied.missed, copied.deadline_alert.name) == (2030, False, "soon")
    assert "deadlines" not in second


class _Bag:
    """DBDagBag's lookup by version id, without a database."""

    def get_dag(self, version_id: str, session: object) -> str:
        return f"dag@{version_id}"


def test_loader_takes_the_creation_version_at_start_and_the_latest_later_read_once_per_burst(monkeypatch):
    from airflow.models.dag_version import DagVersion

    now = [100.0]
    latest = {"id": "v2"}
    asked: list[str] = []

    def get_latest_version(dag_id: str, session: object = None) -> types.SimpleNamespace:
        asked.append(dag_id)
        return types.SimpleNamespace(id=latest["id"])

    monkeypatch.setattr(DagVersion, "get_latest_version", staticmethod(get_latest_version))
    loader = DagLoader(clock=lambda: now[0])
    loader._bag = _Bag()
    run = DagRunSnapshot(dag_id="d", run_id="r", bundle_version=None, created_dag_version_id="v1")
    assert loader.dag_of(run, RunState.START) == "dag@v1"
    assert asked == []
    assert loader.dag_of(run, RunState.COMPLETE) == "dag@v2"
    latest["id"] = "v3"
    assert loader.dag_of(run, RunState.COMPLETE) == "dag@v2"  # within LATEST_FOR: not asked again
    assert asked == ["d"]
    now[0] += DagLoader.LATEST_FOR
    assert loader.dag_of(run, RunState.FAIL) == "dag@v3"
    assert asked == ["d", "d"]
    pinned = DagRunSnapshot(dag_id="d", run_id="r", bundle_version="abc", created_dag_version_id="v1")
    assert loader.dag_of(pinned, RunState.COMPLETE) == "dag@v1"  # a versioned bundle keeps its version
    assert asked == ["d", "d"]


class Job:
    """Named like Airflow's Job: ``on_starting`` gets it before its runner sets ``job_type``."""

    job_type = None


def test_the_scheduler_starts_its_helper_at_on_starting_once_and_other_jobs_do_not(monkeypatch):
    from airflow.providers.openlineage.plugins.listener import OpenLineageListener

    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", '{"type": "console"}')
    for argv, expected in ((["airflow", "scheduler"], 1), (["airflow", "triggerer"], 0)):
        monkeypatch.setattr("sys.argv", argv)
        listener = OpenLineageListener()
        starts: list[int] = []
        monkeypatch.setattr(listener, "_start_dag_run_process", lambda starts=starts: starts.append(1))
        listener.on_starting(component=Job())
        assert len(starts) == expected, argv
        listener._job.job_type = "SchedulerJob" if expected else "TriggererJob"
        listener._dag_run_helper()  # the first DAG-run event: never a second start
        assert len(starts) == expected, argv


class _SigtermOnFirstSubmit:
    """An emitter that records what it is given; the first submit brings a SIGTERM (mid-dispatch)."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def submit_build(self, key: str, build: object) -> None:
        if not self.keys:
            os.kill(os.getpid(), signal.SIGTERM)
        self.keys.append(key)


def test_a_sigterm_mid_dispatch_submits_every_message_once():
    """Defect 6: the SIGTERM handler only asks the loop to stop; it never raises inside a dispatch."""
    with DAG("sigterm_dag", schedule=None) as dag:
        EmptyOperator(task_id="only")
    stream = io.BytesIO()
    for run_id in ("r1", "r2", "r3"):
        values = DagRunSnapshot.portable_values(_dag_run(dag, run_id, "running"))
        stream.write(encode_message((RunState.START, values, "")))
    stream.seek(0)
    emitter = _SigtermOnFirstSubmit()
    previous = signal.getsignal(signal.SIGTERM)
    try:
        assert serve(stream, emitter, _Loader(dag), quiet=0.05, stop_on_sigterm=True) == 3
    finally:
        assert signal.getsignal(signal.SIGTERM) is previous  # serve puts back what it found
        signal.signal(signal.SIGTERM, previous)
    assert sorted(emitter.keys) == sorted(set(emitter.keys))
    assert len(emitter.keys) == 3
