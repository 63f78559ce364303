"""DAGs for the end-to-end tests: lineage methods that use the supervisor, secrets, failure, mapping."""

from __future__ import annotations

import datetime as dt

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, BaseHook, BaseOperator, Variable, task, task_group


class SecretReadingOperator(BaseOperator):
    """Its lineage methods read a Variable and a Connection through the supervisor."""

    def execute(self, context):
        # The task's own supervisor calls, after lineage used the channel at START.
        assert Variable.get("plain_value") == "plain-42"
        context["ti"].xcom_push(key="k", value="v")
        assert context["ti"].xcom_pull(task_ids=self.task_id, key="k") == "v"

    def _lineage(self):
        from openlineage.client.event_v2 import Dataset
        from openlineage.client.facet_v2 import sql_job

        from airflow.providers.openlineage.extractors import OperatorLineage

        password = BaseHook.get_connection("secret_conn").password
        api_key = Variable.get("service_api_key")
        return OperatorLineage(
            inputs=[Dataset(namespace="postgres://db:5432", name="public.source")],
            outputs=[Dataset(namespace="postgres://db:5432", name="public.target")],
            job_facets={"sql": sql_job.SQLJobFacet(query=f"SELECT '{password}', '{api_key}' FROM source")},
        )

    def get_openlineage_facets_on_start(self):
        return self._lineage()

    def get_openlineage_facets_on_complete(self, task_instance):
        return self._lineage()


with DAG(dag_id="ol_e2e_basic", schedule=None, start_date=dt.datetime(2026, 1, 1), tags=["e2e"]) as basic:
    SecretReadingOperator(task_id="reads_secrets")

    @task
    def fails():
        raise RuntimeError("expected failure")

    @task
    def mapped(x):
        return x

    fails()
    mapped.expand(x=[1, 2])

    @task_group
    def group():
        @task
        def skips():
            from airflow.exceptions import AirflowSkipException

            raise AirflowSkipException("nothing to do")

        skips()

    group()
    BashOperator(
        task_id="macros",
        bash_command=(
            "echo '{{ macros.OpenLineageProviderPlugin.lineage_run_id(task_instance) }} "
            "{{ macros.OpenLineageProviderPlugin.lineage_parent_id(task_instance) }} "
            "{{ macros.OpenLineageProviderPlugin.lineage_root_parent_id(task_instance) }} "
            "{{ macros.OpenLineageProviderPlugin.lineage_job_name(task_instance) }}'"
        ),
    )


def _report_lineage_by_hand():
    """The public API from task code: dataset lineage and one query, as a DAG author writes it."""
    from openlineage.client.event_v2 import Dataset

    from airflow.providers.openlineage.api import emit_dataset_lineage, emit_query_lineage

    emit_dataset_lineage(
        inputs=[Dataset(namespace="postgres://db:5432", name="public.api_in")],
        outputs=[Dataset(namespace="postgres://db:5432", name="public.api_out")],
    )
    emit_query_lineage(
        query_id="q-1",
        query_source_namespace="postgres://db:5432",
        query_text="INSERT INTO public.api_out SELECT * FROM public.api_in",
        default_database="analytics",
    )


with DAG(dag_id="ol_e2e_sleep", schedule=None, start_date=dt.datetime(2026, 1, 1)) as sleep_dag:

    @task
    def sleep_one():
        """One second of work, then lineage reported by hand (no-ops when lineage is disabled)."""
        import time

        time.sleep(1)
        _report_lineage_by_hand()

    sleep_one()


class MisbehavingLineageOperator(BaseOperator):
    """Lineage methods that misbehave; the task's own supervisor calls must not notice."""

    def __init__(self, *, kind: str, phase: str = "start", **kwargs):
        super().__init__(**kwargs)
        self.kind = kind
        self.phase = phase

    def execute(self, context):
        ti = context["ti"]
        # The task's own calls, after lineage used (or tried to use) the channel at START.
        assert Variable.get("plain_value") == "plain-42"
        ti.xcom_push(key="mine", value={"n": 7})
        assert ti.xcom_pull(task_ids=self.task_id, key="mine", map_indexes=ti.map_index) == {"n": 7}
        assert BaseHook.get_connection("secret_conn").host == "db"
        return "ok"

    def _misbehave(self):
        import time

        deadline = time.monotonic() + 30
        if self.kind == "raise":
            raise RuntimeError("extractor exploded")
        if self.kind == "sleep":
            time.sleep(30)
        if self.kind == "own_thread":  # the extractor's own thread, not the one lineage started
            import threading

            def loop():
                while time.monotonic() < deadline:
                    assert Variable.get("service_api_key") == "ak-9f8e7d6c5b4a-e2e"

            worker = threading.Thread(target=loop, name="extractor-own-thread", daemon=True)
            worker.start()
            worker.join()
            return None
        while time.monotonic() < deadline:
            if self.kind == "variable":
                assert Variable.get("service_api_key") == "ak-9f8e7d6c5b4a-e2e"
            elif self.kind == "connection":
                assert BaseHook.get_connection("secret_conn").host == "db"
            elif self.kind == "big_variable":
                assert len(Variable.get("big_value")) == 5 * 1024 * 1024
        return None

    def get_openlineage_facets_on_start(self):
        return self._misbehave() if self.phase == "start" else None

    def get_openlineage_facets_on_complete(self, task_instance):
        return self._misbehave() if self.phase == "complete" else None


MISBEHAVIOURS = ["raise", "sleep", "variable", "connection", "big_variable", "own_thread"]

with DAG(dag_id="ol_e2e_misbehaving", schedule=None, start_date=dt.datetime(2026, 1, 1)) as misbehaving:
    for _phase in ("start", "complete"):
        for _kind in MISBEHAVIOURS:
            MisbehavingLineageOperator(task_id=f"{_phase}_{_kind}", kind=_kind, phase=_phase)
    # The racy cases again, so deadlines land at different points of an exchange.
    for _repeat in range(3):
        for _kind in ("variable", "connection", "big_variable", "own_thread"):
            MisbehavingLineageOperator(task_id=f"again_{_repeat}_{_kind}", kind=_kind)


class StopsOnTermOperator(BaseOperator):
    """Like most long-running operators: SIGTERM calls on_kill, which makes execute() give up."""

    def execute(self, context):
        import os
        import signal
        import time

        self._killed = False
        time.sleep(0.5)  # START is in flight now
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 30
        while not self._killed and time.monotonic() < deadline:
            time.sleep(0.05)
        raise RuntimeError("terminated by SIGTERM")

    def on_kill(self):
        self._killed = True


with DAG(dag_id="ol_e2e_sigterm", schedule=None, start_date=dt.datetime(2026, 1, 1)) as sigterm_dag:
    StopsOnTermOperator(task_id="terminated", retries=0)


with DAG(dag_id="ol_e2e_many", schedule=None, start_date=dt.datetime(2026, 1, 1)) as many_dag:

    @task
    def noop(i):
        return i

    noop.expand(i=list(range(50)))
