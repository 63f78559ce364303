"""
What the spool costs on this machine: write time per event, the first-write directory scan, and
replay throughput to a real HTTP receiver on 127.0.0.1.

    .venvs/airflow-3.3.2/bin/python bench/spool_bench.py [--events 500] [--rounds 3] [--report FILE]

Events are task COMPLETE events shaped like the provider's (an ``airflow`` run facet of a few KB, a
SQL job facet, inputs/outputs with schemas); the ``large`` row carries a 30 KB SQL text. Each write is
the whole path a sender takes: serialise, write a 0600 temporary file, ``fsync``, rename. Rounds are
interleaved (small, large, scan, replay per round); medians over rounds are printed, with CPU time
beside wall time.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "dev"))

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState  # noqa: E402
from openlineage.client.facet_v2 import schema_dataset, sql_job  # noqa: E402
from receiver import Receiver  # noqa: E402

from airflow.providers.openlineage import client_config  # noqa: E402
from airflow.providers.openlineage.emission.deadline import FixedDeadline  # noqa: E402
from airflow.providers.openlineage.emission.replay import replay  # noqa: E402
from airflow.providers.openlineage.emission.spool import Spool  # noqa: E402


def task_event(sql_size: int) -> RunEvent:
    fields = [schema_dataset.SchemaDatasetFacetFields(name=f"col{i}", type="INTEGER") for i in range(12)]
    schema = {"schema": schema_dataset.SchemaDatasetFacet(fields=fields)}
    airflow_facet = {
        "dag": {"dag_id": "bench_dag", "owner": "airflow", "schedule_interval": "@daily", "tags": ["bench"]},
        "task": {"task_id": "load", "operator_class": "SQLExecuteQueryOperator", "retries": 3},
        "taskInstance": {"try_number": 1, "map_index": -1, "pool": "default_pool"},
        "taskUuid": str(uuid.uuid4()),
        "padding": "x" * 2000,
    }
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime="2026-12-02T00:00:00+00:00",
        run=Run(runId=str(uuid.uuid4()), facets={"airflow": airflow_facet}),
        job=Job(
            namespace="bench",
            name="bench_dag.load",
            facets={"sql": sql_job.SQLJobFacet(query="SELECT " + "a, " * (sql_size // 3) + "1")},
        ),
        inputs=[InputDataset("postgres://db:5432", "public.source", facets=schema)],
        outputs=[OutputDataset("postgres://db:5432", "public.target", facets=schema)],
        producer="https://example.com/bench",
    )


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def write_costs(events: int, sql_size: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        spool = Spool(directory, 1024 * 1024 * 1024)
        batch = [task_event(sql_size) for _ in range(events)]
        spool.write(batch[0], "warm-up")  # the first write scans the (empty) directory
        times = []
        cpu = _cpu()
        for event in batch:
            started = time.perf_counter()
            assert spool.write(event, "bench")
            times.append(time.perf_counter() - started)
        cpu = _cpu() - cpu
        size = spool.entries()[-1].size
    times.sort()
    return {
        "p50_ms": statistics.median(times) * 1000,
        "p95_ms": times[int(len(times) * 0.95)] * 1000,
        "cpu_ms": cpu / events * 1000,
        "bytes": size,
    }


def scan_cost(files: int) -> float:
    """A process's first write lists the spool once (size accounting): its cost with ``files`` files."""
    with tempfile.TemporaryDirectory() as directory:
        spool = Spool(directory, 1024 * 1024 * 1024)
        event = task_event(200)
        for _ in range(files):
            spool.write(event, "bench")
        fresh = Spool(directory, 1024 * 1024 * 1024)
        started = time.perf_counter()
        fresh.write(event, "bench")
        return (time.perf_counter() - started) * 1000


def replay_rate(events: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory, Receiver("healthy") as receiver:
        spool = Spool(directory, 1024 * 1024 * 1024)
        for _ in range(events):
            spool.write(task_event(200), "bench")
        config = {"transport": receiver.transport(timeout=10)}
        started = time.perf_counter()
        cpu = _cpu()
        result = replay(spool, lambda: client_config.build_client(config), FixedDeadline(300))
        took = time.perf_counter() - started
        cpu = _cpu() - cpu
        assert result.sent == events, result
        assert receiver.wait_for(events, timeout=30)
    return {"events_per_s": events / took, "cpu_ms": cpu / events * 1000}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scan-files", type=int, default=10000)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    rounds: list[dict] = []
    for _ in range(args.rounds):
        rounds.append(
            {
                "small": write_costs(args.events, 200),
                "large": write_costs(args.events, 30000),
                "scan_ms": scan_cost(args.scan_files),
                "replay": replay_rate(args.events),
            }
        )

    def values(path: tuple[str, ...]) -> list[float]:
        found = []
        for round_ in rounds:
            value = round_
            for key in path:
                value = value[key]
            found.append(value)
        return found

    def med(path: tuple[str, ...]) -> float:
        return statistics.median(values(path))

    def spread(path: tuple[str, ...]) -> str:
        return f"{min(values(path)):.2f}..{max(values(path)):.2f}"

    lines = [
        f"{args.rounds} rounds, {args.events} events per measurement; medians over rounds (min..max)",
        "",
        f"{'spool write (serialise + 0600 temp file + fsync + rename)':<58} {'p50 ms':>8} {'p95 ms':>8}"
        f" {'CPU ms':>8} {'bytes':>7}",
    ]
    for name in ("small", "large"):
        lines.append(
            f"{name + ' task event':<58} {med((name, 'p50_ms')):>8.3f} {med((name, 'p95_ms')):>8.3f}"
            f" {med((name, 'cpu_ms')):>8.3f} {int(med((name, 'bytes'))):>7}"
        )
    lines += [
        "",
        f"first write of a process with {args.scan_files} files spooled: {med(('scan_ms',)):.1f} ms"
        f" ({spread(('scan_ms',))})",
        f"replay to an HTTP receiver on 127.0.0.1: {med(('replay', 'events_per_s')):.0f} events/s"
        f" ({spread(('replay', 'events_per_s'))}), CPU {med(('replay', 'cpu_ms')):.2f} ms/event",
    ]
    text = "\n".join(lines)
    print(text)
    if args.report:
        args.report.write_text(json.dumps({"rounds": rounds, "table": text}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
