# Licensed to the Apache Software Foundation (ASF) under one
# or more contributor license agreements.  See the NOTICE file
# distributed with this work for additional information
# regarding copyright ownership.  The ASF licenses this file
# to you under the Apache License, Version 2.0 (the
# "License"); you may not use this file except in compliance
# with the License.  You may obtain a copy of the License at
#
#   http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing,
# software distributed under the License is distributed on an
# "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY
# KIND, either express or implied.  See the License for the
# specific language governing permissions and limitations
# under the License.
"""
An event as the spool keeps it on disk (JSON), and back.

The file holds exactly what the transport would have sent (``Serde.to_json`` of the finished, redacted
event) inside a small envelope (format version, why it was spooled, when). Read back, the event is
rebuilt as a ``RunEvent`` / ``DatasetEvent`` / ``JobEvent`` whose facets are the stored JSON objects,
so the client accepts it and the transport serialises it to the same bytes.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from openlineage.client.event_v2 import (
    DatasetEvent,
    InputDataset,
    Job,
    JobEvent,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
    StaticDataset,
)
from openlineage.client.facet_v2 import tags_job, tags_run
from openlineage.client.serde import Serde

from airflow.providers.openlineage.emission.base import OpenLineageEvent

FORMAT_VERSION = 1


class CorruptSpoolFile(ValueError):
    """The bytes are not a spooled event this version can read."""


def run_id_of(event: object) -> str:
    """The run id an event belongs to ("" for dataset and job events)."""
    return str(getattr(getattr(event, "run", None), "runId", "") or "")


def kind_of(event: object) -> str:
    """START / COMPLETE / ... for run events, DATASET / JOB for the others."""
    if isinstance(event, DatasetEvent):
        return "DATASET"
    if isinstance(event, JobEvent):
        return "JOB"
    event_type = getattr(event, "eventType", None)
    return str(getattr(event_type, "value", event_type) or "OTHER")


def encode(event: OpenLineageEvent, reason: str) -> bytes:
    """The file content for ``event`` (the event's JSON is written as the transport would send it)."""
    spooled_at = datetime.datetime.now(datetime.UTC).isoformat()
    head = json.dumps({"format": FORMAT_VERSION, "reason": reason, "spooled_at": spooled_at})
    return (head[:-1] + ', "event": ' + Serde.to_json(event) + "}").encode("utf-8")


def decode(data: bytes) -> tuple[OpenLineageEvent, dict[str, Any]]:
    """The event and its envelope; :class:`CorruptSpoolFile` for anything else (truncated, foreign)."""
    try:
        envelope = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise CorruptSpoolFile(f"not JSON: {err}") from None
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT_VERSION:
        raise CorruptSpoolFile("not a spooled event of format 1")
    event = envelope.get("event")
    if not isinstance(event, dict):
        raise CorruptSpoolFile("no event in the file")
    try:
        return event_from_dict(event), envelope
    except (KeyError, TypeError, ValueError) as err:
        raise CorruptSpoolFile(f"not an OpenLineage event: {type(err).__name__}: {err}") from None


def event_from_dict(data: dict[str, Any]) -> OpenLineageEvent:
    """Rebuild an event from its JSON; facets stay the JSON objects they were."""
    common = {"eventTime": data["eventTime"], "producer": data.get("producer", "")}
    event: OpenLineageEvent
    if "dataset" in data and "job" not in data:
        event = DatasetEvent(dataset=_dataset(StaticDataset, data["dataset"]), **common)
    else:
        job_data = data["job"]
        job_facets = _with_typed_tags(
            job_data.get("facets"), tags_job.TagsJobFacet, tags_job.TagsJobFacetFields
        )
        job = Job(namespace=job_data["namespace"], name=job_data["name"], facets=job_facets)
        inputs = [_dataset(InputDataset, item, "inputFacets") for item in data.get("inputs") or []]
        outputs = [_dataset(OutputDataset, item, "outputFacets") for item in data.get("outputs") or []]
        if "run" not in data:
            event = JobEvent(job=job, inputs=inputs, outputs=outputs, **common)
        else:
            run_facets = _with_typed_tags(
                data["run"].get("facets"), tags_run.TagsRunFacet, tags_run.TagsRunFacetFields
            )
            run = Run(runId=data["run"]["runId"], facets=run_facets)
            event_type = RunState(data["eventType"]) if data.get("eventType") else None
            event = RunEvent(eventType=event_type, run=run, job=job, inputs=inputs, outputs=outputs, **common)
    if isinstance(data.get("schemaURL"), str):  # not an init argument: the class sets its own default
        event.schemaURL = data["schemaURL"]
    return event


def _with_typed_tags(facets: Any, facet_cls: type, tag_cls: type) -> dict[str, Any]:
    """
    The stored facets, with ``tags`` rebuilt as its class: the client merges its own tags into it.

    Every other facet stays the JSON object it was; the client only passes those through.
    """
    facets = dict(facets or {})
    stored = facets.get("tags")
    if isinstance(stored, dict):
        tags = [tag_cls(t["key"], t["value"], t.get("source")) for t in stored.get("tags") or []]
        facet = facet_cls(tags=tags, producer=stored.get("_producer", ""))
        if isinstance(stored.get("_schemaURL"), str):
            facet._schemaURL = stored["_schemaURL"]
        facets["tags"] = facet
    return facets


def _dataset(cls: type, data: dict[str, Any], extra_facets: str | None = None) -> Any:
    kwargs: dict[str, Any] = {"facets": data.get("facets", {})}
    if extra_facets is not None:
        kwargs[extra_facets] = data.get(extra_facets, {})
    return cls(namespace=data["namespace"], name=data["name"], **kwargs)


__all__ = [
    "FORMAT_VERSION",
    "CorruptSpoolFile",
    "decode",
    "encode",
    "event_from_dict",
    "kind_of",
    "run_id_of",
]
