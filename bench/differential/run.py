"""
Differential harness: the same DAG corpus through today's provider (2.20.3 and 2.21.0rc1) and ours,
event by event.

Each provider gets its own Airflow home on the same pinned Airflow, a real api-server, scheduler and
triggerer (LocalExecutor, tasks under the real Task SDK supervisor), and an HTTP receiver on
127.0.0.1. Every corpus DAG is triggered once with the same logical date and run id, so run ids,
data intervals and nominal times are the same on both sides. Events are matched by job, event type
and run id, normalised (times, pids, hosts, ports, producer and versions), and compared value by
value. The table lists each differing path once with how often it differs and one example;
``allowed.json`` documents the deliberate differences (a rule with ``against`` applies to that
reference build only), and the exit status is 1 when any other difference shows against any of
the reference builds.

Usage (``bench/differential.sh`` builds the venvs and calls this; ``--upstream`` repeats):
    python bench/differential/run.py --ours VENV --upstream VENV [--upstream VENV] [--json OUT]
        [--dags diff_docs,...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "dev"))

from harness import AirflowEnv  # noqa: E402
from receiver import Receiver  # noqa: E402

HERE = Path(__file__).resolve().parent
DAGS = HERE / "dags"
ALLOWED = HERE / "allowed.json"
LOGICAL_DATE = "2025-06-01T00:00:00+00:00"
RUN_ID = "manual__diff"
#: DAGs the scheduler starts on asset updates (not triggered by the harness). Their run ids, data
#: intervals and asset-event times come from the wall clock, so they are normalised on both sides.
ASSET_TRIGGERED = frozenset({"diff_asset_consumer"})
ASSET_TRIGGERED_VOLATILE = frozenset(
    {
        "run_after",
        "data_interval_start",
        "data_interval_end",
        "nominalStartTime",
        "nominalEndTime",
        "timestamp",
        "logical_date",
        "execution_date",
        "asset_event_id",  # the order Airflow writes one task's asset events in is not fixed
    }
)
_ASSET_RUN_ID = re.compile(r"asset_triggered__[\w:.%+-]+")
NAMESPACE = "diff"

#: The same lineage configuration for both providers (thread mode is the main job's mode).
EMISSION_POLICY = [
    {"scope": {"dag_id": "diff_policy_quiet_tasks"}, "controls": {"emit_task_events": False}},
    {
        "scope": {"operator": "airflow.providers.standard.operators.bash.BashOperator"},
        "controls": {"include_source_code": True},
    },
    {"scope": {"dag_id": "diff_policy_no_source"}, "controls": {"include_source_code": False}},
    {
        "scope": {"dag_id": "diff_policy_regex", "task_id": "tmp_.*"},
        "match_mode": "regex",
        "controls": {"emit": False},
    },
]

TRIGGER = """
import datetime as dt, sys
from airflow.api.common.trigger_dag import trigger_dag
from airflow.utils.types import DagRunTriggeredByType
when = dt.datetime.fromisoformat(sys.argv[1])
for dag_id in sys.argv[3:]:
    trigger_dag(dag_id, run_id=sys.argv[2], logical_date=when, run_after=when,
                triggered_by=DagRunTriggeredByType.CLI, conf={"source": "differential"})
"""

#: Keys whose values are specific to one run of a provider (wall-clock times, processes, hosts).
VOLATILE_KEYS = frozenset(
    {
        "eventTime",
        "producer",
        "_producer",
        "start_date",
        "end_date",
        "queued_at",
        "queued_dttm",
        "duration",
        "pid",
        "hostname",
        "last_scheduling_decision",
        "updated_at",
        "scheduled_dttm",
        "openlineageAdapterVersion",
        "dag_version_id",
    }
)
#: Keys whose values are maps of names to volatile values (their keys still count).
VOLATILE_MAPS = frozenset({"tasksDuration"})
_PORT = re.compile(r"(127\.0\.0\.1|localhost):\d+")
_OBJECT_AT = re.compile(r" at 0x[0-9a-f]+")
_PID = re.compile(r"PID: \d+")
_VENV = re.compile(r"/[^\s\"']*/\.venvs/[^/]+/")


def lineage_env(receiver: Receiver, sqlite_path: Path) -> dict[str, str]:
    return {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(receiver.transport(timeout=30)),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": NAMESPACE,
        "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
        "AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT": "30",
        "AIRFLOW__OPENLINEAGE__DISABLED_FOR_OPERATORS": "diff_common.NoisyOperator",
        "AIRFLOW__OPENLINEAGE__EMISSION_POLICY": json.dumps(EMISSION_POLICY),
        "AIRFLOW_CONN_DIFF_SQLITE": json.dumps({"conn_type": "sqlite", "host": str(sqlite_path)}),
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
        "AIRFLOW__TRIGGERER__DEFAULT_CAPACITY": "10",
    }


def run_corpus(
    label: str,
    venv: Path,
    dag_ids: list[str] | None,
    timeout: float,
    *,
    dags_dir: Path = DAGS,
    prefix: str = "diff_",
    env_for: Callable[[Receiver, Path], dict[str, str]] | None = None,
    collect: Callable[[AirflowEnv], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """
    Run a corpus (every DAG of ``dags_dir`` whose id starts with ``prefix``) through one provider
    under a real scheduler; returns its events (in arrival order), the DAG runs' final states and
    what ``collect`` reads from the Airflow home before it is removed.
    """
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix=f"ol-diff-{label}-"))
    with Receiver() as receiver:
        airflow_env = (env_for or lineage_env)(receiver, work / "corpus.db")
        with AirflowEnv(dags_dir, env=airflow_env, airflow_bin=str(venv / "bin" / "airflow")) as env:
            return _run_in(env, receiver, label, venv, dag_ids, timeout, prefix, started, collect)


def _run_in(
    env: AirflowEnv,
    receiver: Receiver,
    label: str,
    venv: Path,
    dag_ids: list[str] | None,
    timeout: float,
    prefix: str,
    started: float,
    collect: Callable[[AirflowEnv], dict[str, Any]] | None,
) -> dict[str, Any]:
    env.start_api_server()
    parsed = env.run(["dags", "reserialize"], timeout=300)
    known = sorted(row[0] for row in env.query("SELECT dag_id FROM dag WHERE dag_id LIKE ?", (f"{prefix}%",)))
    if parsed.returncode != 0 or not known:
        raise RuntimeError(f"the corpus did not parse under {label}:\n{parsed.stdout[-3000:]}")
    wanted = [d for d in known if dag_ids is None or d in dag_ids]
    env.query("UPDATE dag SET is_paused = 0 WHERE dag_id LIKE ?", (f"{prefix}%",))
    subprocess.run(
        [str(venv / "bin" / "python"), "-c", TRIGGER, LOGICAL_DATE, RUN_ID]
        + [d for d in wanted if d not in ASSET_TRIGGERED],
        env=env.env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    scheduler = env._spawn(["scheduler"], "scheduler.log")
    env._spawn(["triggerer"], "triggerer.log")
    end = time.monotonic() + timeout
    states: dict[str, str] = {}
    while time.monotonic() < end:
        states = dict(
            env.query(
                "SELECT dag_id, state FROM dag_run WHERE run_id = ? OR run_type = 'asset_triggered'",
                (RUN_ID,),
            )
        )
        if all(states.get(d) in ("success", "failed") for d in wanted):
            break
        time.sleep(2)
    time.sleep(3)  # the scheduler hands the last DAG-run events to its emitter
    env._terminate_gracefully(scheduler)
    others = env.query(
        "SELECT dag_id, run_id FROM dag_run WHERE run_id != ? AND run_type != 'asset_triggered'",
        (RUN_ID,),
    )
    events = list(receiver.events)
    extra = collect(env) if collect is not None else {}
    return {
        **extra,
        "label": label,
        "dags": wanted,
        "states": states,
        "other_runs": others,
        "events": events,
        "seconds": round(time.monotonic() - started, 1),
    }


# -- normalising and matching ------------------------------------------------------------------


def normalise(value: Any, key: str | None = None, volatile: frozenset[str] = VOLATILE_KEYS) -> Any:
    if key in volatile:
        return "<volatile>" if value is not None else None
    if isinstance(value, dict):
        if key in VOLATILE_MAPS:
            return {k: "<volatile>" for k in value}
        return {k: normalise(v, k, volatile) for k, v in value.items()}
    if isinstance(value, list):
        items = [normalise(v, None, volatile) for v in value]
        if key in ("inputs", "outputs", "fields", "asset_events") or all(isinstance(v, str) for v in items):
            items.sort(key=lambda v: json.dumps(v, sort_keys=True))
        return items
    if isinstance(value, str):
        value = _ASSET_RUN_ID.sub("asset_triggered__<time>", value)
        value = _PORT.sub(r"\1:<port>", _OBJECT_AT.sub("", value))
        return _VENV.sub("<venv>/", _PID.sub("PID: <pid>", value))
    return value


def _placeholder_run_ids(value: Any, run_ids: set[str]) -> Any:
    """The event with the OpenLineage run ids of scheduler-created runs replaced by a placeholder."""
    if isinstance(value, dict):
        return {k: _placeholder_run_ids(v, run_ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholder_run_ids(v, run_ids) for v in value]
    return "<asset-triggered run>" if isinstance(value, str) and value in run_ids else value


def keyed(events: list[dict[str, Any]]) -> dict[tuple[str, str, str, int], dict[str, Any]]:
    """Events by (job name, event type, run id, n-th of its kind in a stable order)."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    scheduler_runs = {
        e["run"]["runId"] for e in events if e["job"]["name"].split(".", 1)[0] in ASSET_TRIGGERED
    }
    for event in events:
        if event["job"]["name"].split(".", 1)[0] in ASSET_TRIGGERED:
            event = _placeholder_run_ids(event, scheduler_runs)
            normal = normalise(event, volatile=VOLATILE_KEYS | ASSET_TRIGGERED_VOLATILE)
        else:
            normal = normalise(event)
        run_id = event.get("run", {}).get("runId", "-")
        if ".query." in event["job"]["name"] or ".hll_query." in event["job"]["name"]:
            run_id = "<query run>"  # SQL child events get a new run id per query in both providers
            normal["run"]["runId"] = run_id
        key = (event["job"]["name"], event.get("eventType", "-"), run_id)
        groups[key].append(normal)
    out = {}
    for key, group in groups.items():
        group.sort(key=lambda e: json.dumps(e, sort_keys=True))
        for n, event in enumerate(group):
            out[(*key, n)] = event
    return out


_INDEX = re.compile(r"\[\d+\]")
#: Maps keyed by task, group or facet-free names: reported as ``<name>`` so one row covers them all.
NAMED_MAPS = frozenset({"tasks", "taskGroups", "tasksState", "tasksDuration", "properties"})


def differences(upstream: Any, ours: Any, path: str = "") -> list[tuple[str, str, Any, Any]]:
    """(path, kind, upstream value, our value) for every leaf that differs."""
    if isinstance(upstream, dict) and isinstance(ours, dict):
        found = []
        named = path.rsplit(".", 1)[-1] in NAMED_MAPS
        for k in sorted(set(upstream) | set(ours)):
            sub = f"{path}.{'<name>' if named else k}" if path else k
            if k not in ours:
                found.append((sub, "missing in ours", upstream[k], None))
            elif k not in upstream:
                found.append((sub, "extra in ours", None, ours[k]))
            else:
                found.extend(differences(upstream[k], ours[k], sub))
        return found
    if isinstance(upstream, list) and isinstance(ours, list) and len(upstream) == len(ours):
        found = []
        for i, (a, b) in enumerate(zip(upstream, ours, strict=True)):
            found.extend(differences(a, b, f"{path}[{i}]"))
        return found
    if upstream != ours:
        return [(path, "differs", upstream, ours)]
    return []


def compare(upstream_events: list[dict[str, Any]], our_events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every difference, one record per (event, path)."""
    theirs, ours = keyed(upstream_events), keyed(our_events)
    records = []
    for key in sorted(set(theirs) | set(ours)):
        job, event_type = key[0], key[1]
        if key not in ours:
            records.append(_record("<event>", "missing in ours", job, event_type, "present", None))
        elif key not in theirs:
            records.append(_record("<event>", "extra in ours", job, event_type, None, "present"))
        else:
            for path, kind, a, b in differences(theirs[key], ours[key]):
                records.append(_record(path, kind, job, event_type, a, b))
    return records


def _record(path: str, kind: str, job: str, event_type: str, upstream: Any, ours: Any) -> dict[str, Any]:
    return {
        "path": _INDEX.sub("[]", path),
        "kind": kind,
        "job": job,
        "eventType": event_type,
        "upstream": upstream,
        "ours": ours,
    }


# -- allow-list and report ---------------------------------------------------------------------


def load_allowed(reference: str) -> list[dict[str, str]]:
    """The documented differences that apply against ``reference`` (a provider version)."""
    rules = json.loads(ALLOWED.read_text())["allowed"]
    return [rule for rule in rules if rule.get("against", reference) == reference]


def is_allowed(record: dict[str, Any], allowed: list[dict[str, str]]) -> dict[str, str] | None:
    for rule in allowed:
        if not fnmatch.fnmatchcase(record["path"], rule["path"]):
            continue
        if rule.get("kind", record["kind"]) != record["kind"]:
            continue
        if not fnmatch.fnmatchcase(record["job"], rule.get("job", "*")):
            continue
        return rule
    return None


def _short(value: Any, width: int = 38) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= width else text[: width - 1] + "…"


def summarise(records: list[dict[str, Any]], allowed: list[dict[str, str]]) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for record in records:
        row = rows.setdefault(
            (record["path"], record["kind"]),
            {"path": record["path"], "kind": record["kind"], "count": 0, "example": record},
        )
        row["count"] += 1
        rule = is_allowed(record, allowed)
        row["allowed"] = rule["reason"] if rule else row.get("allowed")
        if rule is None:
            row["allowed"] = None
            row["example"] = record
    return sorted(rows.values(), key=lambda r: (r["allowed"] is not None, r["path"], r["kind"]))


def print_report(
    reference: str, upstream: dict[str, Any], ours: dict[str, Any], rows: list[dict[str, Any]]
) -> None:
    print(f"\n===== against {reference} =====")
    for side, run in ((reference, upstream), ("ours", ours)):
        failed = sorted(d for d, s in run["states"].items() if s != "success")
        print(
            f"{side:9s}: {len(run['dags'])} DAGs, {len(run['events'])} events, {run['seconds']} s; "
            f"DAG runs not successful (by design or not): {', '.join(failed) or 'none'}"
        )
    header = f"{'path':58s} {'kind':16s} {'n':>4s}  {'example job':34s} {'upstream':38s} {'ours':38s}"
    print()
    print(header)
    print("-" * len(header))
    for row in rows:
        ex = row["example"]
        mark = "  (allowed)" if row["allowed"] else ""
        print(
            f"{row['path'][:58]:58s} {row['kind']:16s} {row['count']:4d}  {_short(ex['job'], 34):34s} "
            f"{_short(ex['upstream']):38s} {_short(ex['ours']):38s}{mark}"
        )
    undocumented = [r for r in rows if not r["allowed"]]
    total = sum(r["count"] for r in rows)
    print()
    print(
        f"{reference}: {len(rows)} differing paths ({total} differences); {len(rows) - len(undocumented)} "
        f"documented in allowed.json, {len(undocumented)} undocumented"
    )


def provider_version(venv: Path) -> str:
    """The OpenLineage provider version installed in ``venv`` (the reference's label)."""
    program = "import importlib.metadata as m; print(m.version('apache-airflow-providers-openlineage'))"
    return subprocess.run(
        [str(venv / "bin" / "python"), "-c", program], check=True, capture_output=True, text=True, timeout=120
    ).stdout.strip()


def judge(
    reference: str, upstream: dict[str, Any], ours: dict[str, Any]
) -> tuple[list[dict[str, Any]], bool]:
    """The report rows against one reference build, and whether anything undocumented differs."""
    rows = summarise(compare(upstream["events"], ours["events"]), load_allowed(reference))
    print_report(reference, upstream, ours, rows)
    bad = any(not r["allowed"] for r in rows)
    if upstream["states"] != ours["states"]:
        print("DAG-run states differ between the providers:", upstream["states"], ours["states"])
        bad = True
    if sorted(map(tuple, ours["other_runs"])) != sorted(map(tuple, upstream["other_runs"])):
        print("the scheduler's own DAG runs differ:", upstream["other_runs"], ours["other_runs"])
        bad = True
    return rows, bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ours", type=Path, required=True)
    parser.add_argument("--upstream", type=Path, action="append", required=True, help="a reference venv")
    parser.add_argument("--dags", help="comma-separated DAG ids (default: the whole corpus)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "differential.json")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--report", type=Path, help="re-print a saved run instead of running")
    args = parser.parse_args(argv)

    if args.report:
        results = json.loads(args.report.read_text())
    else:
        dag_ids = args.dags.split(",") if args.dags else None
        results = {
            "logical_date": LOGICAL_DATE,
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "upstream": {},
            "ours": run_corpus("ours", args.ours, dag_ids, args.timeout),
        }
        for venv in args.upstream:
            reference = provider_version(venv)
            results["upstream"][reference] = run_corpus(f"upstream-{reference}", venv, dag_ids, args.timeout)
    failed = False
    results["rows"] = {}
    for reference, upstream in results["upstream"].items():
        rows, bad = judge(reference, upstream, results["ours"])
        results["rows"][reference] = rows
        failed = failed or bad
    if not args.report:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1, default=str))
        print(f"saved {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.exit(main())
