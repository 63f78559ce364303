"""Custom extractor and custom run facet function the extraction e2e test configures by import path."""

from __future__ import annotations

import attrs
from openlineage.client.event_v2 import Dataset
from openlineage.client.facet_v2 import RunFacet

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
