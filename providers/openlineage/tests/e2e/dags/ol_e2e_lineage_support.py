"""
Things the e2e tests configure by import path: a custom extractor and run facet function (extraction
test), and an http transport sharing a lock with task code (forking a multi-threaded runner).
"""

from __future__ import annotations

import sys
import threading
import time

import attrs
from openlineage.client.event_v2 import Dataset
from openlineage.client.facet_v2 import RunFacet
from openlineage.client.transport.http import HttpTransport

from airflow.providers.openlineage.extractors import BaseExtractor, OperatorLineage


class CustomExtractor(BaseExtractor):
    """Registered through ``[openlineage] extractors`` for ``CustomExtractedOperator``."""

    @classmethod
    def get_operator_classnames(cls) -> list[str]:
        return ["CustomExtractedOperator"]

    def _execute_extraction(self) -> OperatorLineage:
        return OperatorLineage(
            inputs=[Dataset(namespace="kafka://broker:9092", name=self.operator.topic)],
            outputs=[Dataset(namespace="s3://warehouse", name=f"topics/{self.operator.topic}")],
        )


@attrs.define
class E2eRunFacet(RunFacet):
    """A user-defined run facet."""

    state: str = ""
    task: str = ""


def e2e_run_facets(task_instance, ti_state):
    return {
        "e2eCustom": E2eRunFacet(state=str(getattr(ti_state, "value", ti_state)), task=task_instance.task_id)
    }


def broken_run_facets(task_instance, ti_state):
    raise ValueError("a user's facet function that breaks")


try:
    from airflow.sdk.bases.secrets_backend import BaseSecretsBackend
except ImportError:  # Airflow 3.1
    from airflow.secrets.base_secrets import BaseSecretsBackend


class CanarySecretsBackend(BaseSecretsBackend):
    """A secrets backend serving one Variable, which it registers with Airflow's masker itself."""

    TOKEN = "canary-backend-Pm4w"

    def get_variable(self, key):
        if key != "backend_token":
            return None
        from airflow.sdk.log import mask_secret

        mask_secret(self.TOKEN)
        return self.TOKEN

    def get_conn_value(self, conn_id):
        return None


#: Taken by the transport below and by a thread the ``ol_e2e_threads_lock`` DAG file starts (as a
#: client library shared by DAG code and a transport would): held at the fork, it stays held in the
#: child.
SHARED_LOCK = threading.Lock()


class LockingHttpTransport(HttpTransport):
    """The http transport, sending only while it holds :data:`SHARED_LOCK`."""

    kind = "ol_e2e_lineage_support.LockingHttpTransport"

    def emit(self, event):
        with SHARED_LOCK:
            return super().emit(event)


def start_thread_in_task_runner(*, hold_lock: bool) -> None:
    """
    At DAG-file import, in a task runner only (its ``startup`` parses the file): start a daemon thread,
    holding :data:`SHARED_LOCK` if asked, so the runner is multi-threaded when lineage sends START.
    """
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "startup" and frame.f_code.co_filename.endswith("task_runner.py"):
            break
        frame = frame.f_back
    else:
        return  # the DAG processor or a CLI parsing the file
    ready = threading.Event()

    def run() -> None:
        if hold_lock:
            with SHARED_LOCK:
                ready.set()
                time.sleep(60)
        else:
            ready.set()
            time.sleep(60)

    threading.Thread(target=run, name="dag-file-thread", daemon=True).start()
    ready.wait(10)
