"""Asset-triggered runs: a producer updates an asset, the scheduler starts the consumer on it.

The consumer's DAG-run events carry ``jobDependencies`` (the producing task's job and run) and its
run is created by the scheduler, so its run id and times are its own on each side; the harness
normalises those (see ``ASSET_TRIGGERED`` in ``run.py``).
"""

from __future__ import annotations

from airflow.sdk import DAG, Asset, task
from diff_common import DEFAULTS, START

DAILY = Asset("s3://diff-assets/daily.csv", extra={"team": "diff"})
LOOKUP = Asset(name="diff_lookup", uri="file:///tmp/diff/lookup.json")

with DAG("diff_asset_producer", schedule=None, start_date=START, default_args=DEFAULTS, tags=["diff"]):

    @task(outlets=[DAILY, LOOKUP])
    def publish(*, outlet_events=None):
        outlet_events[DAILY].extra = {"rows": 10}
        return "published"

    publish()

with DAG(
    "diff_asset_consumer",
    schedule=DAILY & LOOKUP,
    start_date=START,
    default_args=DEFAULTS,
    tags=["diff"],
    doc_md="Runs when both assets were updated.",
):

    @task(inlets=[DAILY])
    def consume():
        return "consumed"

    consume()
