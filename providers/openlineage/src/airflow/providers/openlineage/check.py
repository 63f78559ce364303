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
``airflow openlineage check``: is lineage set up, and does the backend take an event?

Prints the effective ``[openlineage]`` configuration (every option, its value with secrets masked and
where it came from), the transport it resolves to, the emission mode, ``execution_timeout`` against
``[core] task_success_overtime``, the emission policy and any rule it rejects, whether the listener is
registered, and then sends one probe event (job ``openlineage_check`` in the configured namespace)
within ``execution_timeout`` and says what happened, with one line of advice.

The whole command is bounded by ``execution_timeout`` plus a small margin: the probe is sent from a
daemon thread that is abandoned at the deadline. Also runs as
``python -m airflow.providers.openlineage.check`` (same options) where Airflow has no provider CLI
commands (3.1, 3.2).

Exit codes: 0 the probe was delivered (or ``--no-send`` and the configuration is usable); 1 the probe
was not delivered; 2 the configuration is unusable.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from airflow.providers.openlineage import conf
from airflow.providers.openlineage.config import client_config
from airflow.providers.openlineage.redact.config_masking import mask_config_text, mask_known_secrets

PROBE_JOB = "openlineage_check"
_ENV_PREFIX = "AIRFLOW__OPENLINEAGE__"
_ADVICE = {
    "delivered": "Lineage reaches the backend. Task logs end with one 'OpenLineage: ...' summary line.",
    "refused": "Nothing listens at that address: check the URL's host and port, and that the backend runs.",
    "timed_out": "The backend did not answer within execution_timeout: check its health or the network.",
    "tls_error": "TLS failed: an https URL pointing at a plain-http port, or a certificate not trusted.",
    "auth_rejected": "The backend rejected the credentials: check the transport's auth (api key, token).",
    "http_error": "The backend answered with an error status: see its logs for why it refused the event.",
    "error": "The transport raised an error: see the detail; it is what every task would hit.",
    "not_sent": "Dry run (--no-send): the configuration is usable; run without --no-send to probe.",
    "config_error": "Fix the option named in the detail; until then no events are sent.",
    "disabled": "Lineage is off: set a transport (or config_path / config_conn_id / OPENLINEAGE_URL).",
}


@dataclasses.dataclass
class OptionReport:
    name: str
    value: str
    source: str


@dataclasses.dataclass
class Verdict:
    outcome: str
    detail: str = ""
    seconds: float | None = None
    http_status: int | None = None

    @property
    def advice(self) -> str:
        return _ADVICE.get(self.outcome, "")


# -- configuration -----------------------------------------------------------------------------


def _declared_options() -> dict[str, dict[str, Any]]:
    from airflow.providers.openlineage.get_provider_info import get_provider_info

    return get_provider_info()["config"]["openlineage"]["options"]


def _source_of(name: str, airflow_source: str | None) -> str:
    if os.environ.get(f"{_ENV_PREFIX}{name.upper()}") is not None:
        return f"env {_ENV_PREFIX}{name.upper()}"
    if os.environ.get(f"{_ENV_PREFIX}{name.upper()}_CMD") is not None:
        return f"command {_ENV_PREFIX}{name.upper()}_CMD"
    if airflow_source in ("airflow.cfg", "cmd", "secret"):
        return airflow_source
    return "default"


def effective_options() -> list[OptionReport]:
    """Every declared ``[openlineage]`` option, its value (secrets masked) and where it came from."""
    from airflow.configuration import conf as airflow_conf

    try:
        shown = airflow_conf.as_dict(display_source=True, display_sensitive=True).get("openlineage", {})
    except Exception:  # noqa: BLE001 - sources are informative; values are read one by one below
        shown = {}
    reports = []
    for name, declared in _declared_options().items():
        pair = shown.get(name)
        source = pair[1] if isinstance(pair, tuple) and len(pair) == 2 else None
        try:
            value = airflow_conf.get("openlineage", name, fallback=declared.get("default") or "")
        except Exception as err:  # noqa: BLE001 - an unreadable value is reported, not raised
            value = f"<unreadable: {type(err).__name__}>"
        value = "" if value is None else str(value)
        origin = _source_of(name, source)
        if origin == "airflow.cfg" and value == str(declared.get("default") or ""):
            origin = "default (airflow.cfg repeats it)"  # Airflow writes every default into a new file
        if value and declared.get("sensitive"):
            value = mask_config_text(value)
        reports.append(OptionReport(name, value, origin))
    return reports


def client_config_source() -> str:
    """Which source the client configuration comes from (the precedence of ``client_config``)."""
    if conf.config_conn_id():
        return f"Airflow connection `{conf.config_conn_id()}` ([openlineage] config_conn_id)"
    if conf.config_path(check_legacy_env_var=False):
        return f"file {conf.config_path(check_legacy_env_var=False)} ([openlineage] config_path)"
    if conf.transport():
        return "[openlineage] transport"
    for variable in ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG"):
        if os.environ.get(variable):
            return f"client discovery: {variable}"
    if any(key.startswith("OPENLINEAGE__TRANSPORT") and value for key, value in os.environ.items()):
        return "client discovery: OPENLINEAGE__TRANSPORT* variables"
    return "client discovery: openlineage.yml (if any)"


def describe_transport(transport: Any, config: dict[str, Any] | None) -> dict[str, Any]:
    """Type, URL host and auth kind of a transport; never a key or a password."""
    described: dict[str, Any] = {"type": getattr(transport, "kind", None) or type(transport).__name__}
    url = getattr(transport, "url", None) or getattr(getattr(transport, "config", None), "url", None)
    if url:
        parts = urlsplit(str(url))
        described["url"] = f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"
    auth = ((config or {}).get("transport") or {}).get("auth") if isinstance(config, dict) else None
    if isinstance(auth, dict):
        described["auth"] = str(auth.get("type", "unknown"))
    children = getattr(transport, "transports", None)
    if isinstance(children, list):
        described["transports"] = [describe_transport(child, None) for child in children]
    return described


def emission_policy_report() -> dict[str, Any]:
    from airflow.providers.openlineage.describe.emission_policy import configured_rules, rule_problem

    raw = conf.emission_policy()
    rejected = [
        {"rule": index, "problem": problem}
        for index, rule in enumerate(raw)
        if (problem := rule_problem(rule)) is not None
    ]
    rules = [
        dataclasses.asdict(rule) if dataclasses.is_dataclass(rule) else str(rule)
        for rule in configured_rules()
    ]
    return {"rules": rules, "rejected": rejected}


def listener_registered() -> bool:
    """Whether this process's listener manager holds the provider's listener (the plugin loaded it)."""
    try:
        from airflow.listeners.listener import get_listener_manager

        from airflow.providers.openlineage.plugins.listener import get_openlineage_listener

        manager = get_listener_manager()
        return get_openlineage_listener() in manager.pm.get_plugins()
    except Exception:  # noqa: BLE001 - reported as not registered
        return False


# -- the probe ---------------------------------------------------------------------------------


def probe_event() -> Any:
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

    from airflow.providers.openlineage.describe.events import utcnow
    from airflow.providers.openlineage.describe.run_ids import _PRODUCER

    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=utcnow().isoformat(),
        run=Run(runId=str(_uuid7())),
        job=Job(namespace=conf.namespace(), name=PROBE_JOB),
        producer=_PRODUCER,
    )


def _uuid7() -> uuid.UUID:
    from openlineage.client.uuid import generate_new_uuid

    return generate_new_uuid()


def classify(error: BaseException) -> Verdict:
    """The verdict for what the transport raised."""
    status = getattr(getattr(error, "response", None), "status_code", None)
    text = f"{type(error).__name__}: {error}"
    names = {cls.__name__ for cls in type(error).__mro__}
    chain = f"{text} {error.__cause__ or ''} {error.__context__ or ''}".lower()
    if status in (401, 403):
        return Verdict("auth_rejected", text[:300], http_status=status)
    if isinstance(status, int):
        return Verdict("http_error", text[:300], http_status=status)
    if "SSLError" in names or "ssl" in chain or "wrong version number" in chain:
        return Verdict("tls_error", text[:300])
    if names & {"Timeout", "ReadTimeout", "ConnectTimeout", "TimeoutException", "TimeoutError"}:
        return Verdict("timed_out", text[:300])
    if "refused" in chain or "ConnectionRefusedError" in names:
        return Verdict("refused", text[:300])
    return Verdict("error", text[:300])


def send_probe(client: Any, timeout: float, event: Any = None) -> Verdict:
    """Send one probe event from a daemon thread; give up at ``timeout`` seconds."""
    from airflow.providers.openlineage.emission.delivery import close_client

    event = event if event is not None else probe_event()
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def send() -> None:
        started = time.monotonic()
        try:
            transport = getattr(client, "transport", None)
            response = transport.emit(event) if transport is not None else client.emit(event)
            outcome["status"] = getattr(response, "status_code", None)
            if not close_client(client, max(0.1, timeout - (time.monotonic() - started))):
                raise TimeoutError("the transport did not deliver its buffered event in time")
        except BaseException as err:  # noqa: BLE001 - classified into the verdict
            outcome["error"] = err
        finally:
            outcome["seconds"] = time.monotonic() - started
            done.set()

    threading.Thread(target=send, name="openlineage-check-probe", daemon=True).start()
    if not done.wait(timeout):
        return Verdict("timed_out", f"no answer within execution_timeout={timeout:g}s", seconds=timeout)
    if "error" in outcome:
        verdict = classify(outcome["error"])
        verdict.seconds = outcome["seconds"]
        return verdict
    return Verdict("delivered", "", seconds=outcome["seconds"], http_status=outcome.get("status"))


# -- the command -------------------------------------------------------------------------------


# The probe wants the first answer, not the transport's retries and back-off (a refused connection
# or a 500 would otherwise read as a time-out).
_NO_RETRY = {"total": 0, "connect": 0, "read": 0, "status": 0, "status_forcelist": []}


def without_retries(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy of ``config`` whose http transports (composite children too) do not retry."""
    if config is None:
        return None

    def patched(transport: Any) -> Any:
        if not isinstance(transport, dict):
            return transport
        transport = dict(transport)
        if transport.get("type") in ("http", "async_http"):
            transport["retry"] = dict(_NO_RETRY)
        children = transport.get("transports")
        if isinstance(children, list):
            transport["transports"] = [patched(child) for child in children]
        elif isinstance(children, dict):
            transport["transports"] = {name: patched(child) for name, child in children.items()}
        return transport

    copy = dict(config)
    if "transport" in copy:
        copy["transport"] = patched(copy["transport"])
    return copy


def spool_report() -> dict[str, Any]:
    """Whether the spool is on and usable, and what it holds (``airflow openlineage spool status``)."""
    from airflow.providers.openlineage.emission.spool import configured_spool

    directory = conf.spool_dir()
    if not directory:
        return {"enabled": False}
    spool = configured_spool()
    if spool is None:
        return {"enabled": False, "directory": directory, "problem": "missing or not writable"}
    status = spool.status()
    oldest = status.oldest.isoformat(timespec="seconds") if status.oldest else None
    return {
        "enabled": True,
        "directory": directory,
        "files": status.files,
        "bytes": status.bytes,
        "oldest": oldest,
    }


def run_check(no_send: bool = False) -> tuple[dict[str, Any], int]:
    """Everything the command reports, and its exit code."""
    from airflow.providers.openlineage.emission.deadline import OVERTIME_MARGIN
    from airflow.providers.openlineage.task_runner.attempt_emission import task_success_overtime

    timeout = float(conf.execution_timeout())
    overtime = task_success_overtime()
    report: dict[str, Any] = {
        "options": [dataclasses.asdict(option) for option in effective_options()],
        "disabled": conf.is_disabled(),
        "client_config_source": client_config_source(),
        "mode": "thread" if conf.execute_in_thread() else "fork",
        "execution_timeout": timeout,
        "task_success_overtime": overtime,
        "fits_in_overtime": timeout <= overtime - OVERTIME_MARGIN,
        "emission_policy": emission_policy_report(),
        "listener_registered": listener_registered(),
        "namespace": conf.namespace(),
        "spool": spool_report(),
    }
    if report["disabled"]:
        report["verdict"] = dataclasses.asdict(Verdict("disabled", "lineage is disabled or not configured"))
        return report, 2
    try:
        config = client_config.resolved_client_config()
        client = client_config.build_client(without_retries(config))
    except Exception as err:  # noqa: BLE001 - an unusable configuration is the verdict
        detail = mask_config_text(f"{type(err).__name__}: {err}")
        report["verdict"] = dataclasses.asdict(Verdict("config_error", detail[:500]))
        return report, 2
    report["transport"] = describe_transport(getattr(client, "transport", None), config)
    verdict = Verdict("not_sent") if no_send else send_probe(client, timeout)
    report["verdict"] = {**dataclasses.asdict(verdict), "advice": verdict.advice}
    return report, 0 if verdict.outcome in ("delivered", "not_sent") else 1


def render_text(report: dict[str, Any]) -> str:
    lines = ["OpenLineage configuration ([openlineage] options):"]
    width = max(len(option["name"]) for option in report["options"])
    for option in report["options"]:
        lines.append(f"  {option['name']:<{width}}  {option['value'] or '-'}  ({option['source']})")
    lines.append(f"Client configuration from: {report['client_config_source']}")
    if "transport" in report:
        lines.append(f"Transport: {json.dumps(report['transport'])}")
    lines.append(
        f"Emission mode: {report['mode']} (task events are sent from "
        f"{'a daemon thread' if report['mode'] == 'thread' else 'a forked child'})"
    )
    fits = "fits in" if report["fits_in_overtime"] else "does NOT fit in"
    lines.append(
        f"execution_timeout={report['execution_timeout']:g}s {fits} "
        f"[core] task_success_overtime={report['task_success_overtime']:g}s"
    )
    policy = report["emission_policy"]
    lines.append(
        f"Emission policy: {len(policy['rules'])} rule(s) in force, {len(policy['rejected'])} rejected"
    )
    for rejected in policy["rejected"]:
        lines.append(f"  rule #{rejected['rule']} rejected: {rejected['problem']}")
    lines.append(f"Listener registered: {'yes' if report['listener_registered'] else 'no'}")
    spool = report["spool"]
    if spool["enabled"]:
        oldest = f", oldest {spool['oldest']}" if spool["oldest"] else ""
        lines.append(f"Spool: {spool['directory']}, {spool['files']} event(s) waiting{oldest}")
    elif "directory" in spool:
        lines.append(f"Spool: OFF, [openlineage] spool_dir={spool['directory']} is {spool['problem']}")
    else:
        lines.append("Spool: off (undeliverable events are dropped; see [openlineage] spool_dir)")
    verdict = report["verdict"]
    status = f", HTTP {verdict['http_status']}" if verdict.get("http_status") else ""
    took = f" in {verdict['seconds'] * 1000:.0f} ms" if verdict.get("seconds") is not None else ""
    lines.append(
        f"Probe `{PROBE_JOB}` in namespace `{report['namespace']}`: "
        f"{verdict['outcome'].upper()}{took}{status}"
    )
    if verdict.get("detail"):
        lines.append(f"  {verdict['detail']}")
    if verdict.get("advice") or _ADVICE.get(verdict["outcome"]):
        lines.append(f"  Advice: {verdict.get('advice') or _ADVICE[verdict['outcome']]}")
    return mask_known_secrets("\n".join(lines))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="airflow openlineage check", description="Check the OpenLineage configuration and backend."
    )
    parser.add_argument("--no-send", action="store_true", help="only report the configuration")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: Sequence[str] | None = None, out: Callable[[str], Any] = print) -> int:
    args = build_parser().parse_args(argv)
    if args.json:
        with _logs_to_stderr():  # stdout carries the JSON object alone
            report, code = run_check(no_send=args.no_send)
        out(mask_known_secrets(json.dumps(report, default=str)))
    else:
        report, code = run_check(no_send=args.no_send)
        out(render_text(report))
    return code


@contextlib.contextmanager
def _logs_to_stderr() -> Iterator[None]:
    """Point file descriptor 1 at stderr meanwhile: log handlers hold their own stdout references."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def check_command(args: Any) -> None:
    """Entry point of ``airflow openlineage check`` (provider CLI commands, Airflow 3.3+)."""
    argv = [flag for flag, on in (("--no-send", args.no_send), ("--json", args.json)) if on]
    sys.exit(main(argv))


if __name__ == "__main__":
    sys.exit(main())
