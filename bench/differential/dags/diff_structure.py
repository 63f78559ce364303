"""Structure: nested task groups, setup/teardown, edge labels, documentation, owners and params."""

from __future__ import annotations

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Label, Param, TaskGroup, setup, task, teardown
from diff_common import DEFAULTS, END, START, noop

with DAG(
    dag_id="diff_nested_groups",
    schedule=None,
    start_date=START,
    default_args=DEFAULTS,
    description="three levels of task groups",
) as nested_groups:
    with TaskGroup("outer", tooltip="the outer group") as outer:
        first = PythonOperator(task_id="first", python_callable=noop)
        with TaskGroup("middle", ui_color="#ffcc00"), TaskGroup("inner", prefix_group_id=False):
            deep = PythonOperator(task_id="deep", python_callable=noop)
        first >> deep
    after = BashOperator(task_id="after_groups", bash_command="echo after")
    outer >> after

with DAG(
    dag_id="diff_setup_teardown", schedule=None, start_date=START, default_args=DEFAULTS
) as setup_teardown:

    @setup
    def create_cluster():
        return "cluster-1"

    @task
    def work(cluster):
        return f"worked on {cluster}"

    @teardown
    def delete_cluster(cluster):
        return f"deleted {cluster}"

    cluster = create_cluster()
    work(cluster) >> delete_cluster(cluster)

with DAG(dag_id="diff_edge_labels", schedule=None, start_date=START, default_args=DEFAULTS) as edge_labels:
    load = PythonOperator(task_id="load", python_callable=noop)
    check = PythonOperator(task_id="check", python_callable=noop)
    publish = PythonOperator(task_id="publish", python_callable=noop)
    load >> Label("rows loaded") >> check >> Label("checked") >> publish

with DAG(
    dag_id="diff_docs",
    schedule=None,
    start_date=START,
    default_args={**DEFAULTS, "owner": "alice,bob"},
    doc_md="# The docs DAG\n\nIt has **markdown** documentation.",
    description="documented tasks",
    owner_links={"alice": "mailto:alice@example.com"},
    tags=["diff", "docs", "b-tag"],
) as docs:
    PythonOperator(task_id="md", python_callable=noop, doc_md="Task *markdown*")
    PythonOperator(task_id="rst", python_callable=noop, doc_rst="Task ``rst``")
    PythonOperator(task_id="json", python_callable=noop, doc_json='{"a": 1}')
    PythonOperator(task_id="yaml", python_callable=noop, doc_yaml="a: 1")
    PythonOperator(task_id="plain", python_callable=noop, doc="plain doc")

with DAG(
    dag_id="diff_params",
    schedule=None,
    start_date=START,
    default_args=DEFAULTS,
    params={
        "table": Param("orders", type="string"),
        "limit": Param(10, type="integer", minimum=1),
        "settings": {"region": "eu", "auth": {"password": "param-secret-value"}},
    },
) as params:
    BashOperator(task_id="echo_params", bash_command="echo {{ params.table }} {{ params.limit }}")

with DAG(
    dag_id="diff_operator_fields",
    schedule=None,
    start_date=START,
    default_args={**DEFAULTS, "retries": 2, "depends_on_past": False},
    max_active_tasks=3,
) as operator_fields:
    EmptyOperator(task_id="empty_start")
    PythonOperator(
        task_id="tuned",
        python_callable=noop,
        priority_weight=7,
        weight_rule="absolute",
        queue="default",
        pool="default_pool",
        max_active_tis_per_dag=1,
        trigger_rule="all_done",
        op_kwargs={"x": 1},
    )

with DAG(
    dag_id="diff_bash_and_python", schedule=None, start_date=START, default_args=DEFAULTS
) as bash_python:
    BashOperator(task_id="bash", bash_command="set -e; echo one && echo two", env={"LC_ALL": "C"})

    @task
    def taskflow(x: int = 2) -> int:
        """A TaskFlow function whose source becomes the sourceCode facet."""
        return x * 21

    @task.bash
    def bash_decorated() -> str:
        return "echo decorated"

    PythonOperator(task_id="classic_python", python_callable=noop)
    taskflow() >> bash_decorated()

with DAG(
    dag_id="diff_wide", schedule="@daily", start_date=START, end_date=END, default_args=DEFAULTS
) as wide:
    root = PythonOperator(task_id="root", python_callable=noop)
    for _i in range(4):
        root >> PythonOperator(task_id=f"leaf_{_i}", python_callable=noop)
