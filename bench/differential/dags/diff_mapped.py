"""Dynamic task mapping: expand, expand_kwargs, partial operators, mapped task groups, XCom input."""

from __future__ import annotations

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task, task_group
from diff_common import DEFAULTS, START

with DAG(
    dag_id="diff_mapped_expand", schedule=None, start_date=START, default_args=DEFAULTS
) as mapped_expand:

    @task
    def double(x: int) -> int:
        return 2 * x

    double.expand(x=[1, 2, 3])

with DAG(
    dag_id="diff_mapped_kwargs", schedule=None, start_date=START, default_args=DEFAULTS
) as mapped_kwargs:

    @task
    def add(a: int, b: int) -> int:
        return a + b

    add.expand_kwargs([{"a": 1, "b": 2}, {"a": 3, "b": 4}])

with DAG(
    dag_id="diff_mapped_classic", schedule=None, start_date=START, default_args=DEFAULTS
) as mapped_classic:
    BashOperator.partial(task_id="echo", env={"K": "v"}).expand(bash_command=["echo a", "echo b"])

with DAG(dag_id="diff_mapped_xcom", schedule=None, start_date=START, default_args=DEFAULTS) as mapped_xcom:

    @task
    def make_items() -> list[str]:
        return ["x", "y"]

    @task
    def use(item: str) -> str:
        return item.upper()

    use.expand(item=make_items())

with DAG(dag_id="diff_mapped_group", schedule=None, start_date=START, default_args=DEFAULTS) as mapped_group:

    @task_group
    def per_file(name: str):
        @task
        def read(name: str) -> str:
            return name

        @task
        def write(content: str) -> str:
            return content

        return write(read(name))

    per_file.expand(name=["a.csv", "b.csv"])
