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
``airflow openlineage spool status | replay | purge`` (Airflow 3.3+), or
``python -m airflow.providers.openlineage.spool_cli ...`` with the same arguments anywhere.

* ``status``: files, bytes, the oldest spooled event, files moved aside as corrupt;
* ``replay``: a foreground replay, bounded in events and time, with a progress bar on a terminal;
* ``purge``: deletes every spooled event (not those another process is replaying this instant)
  after asking for confirmation (``--yes`` to skip it).

Exit codes: 0 done, 1 the backend failed during a replay (what is left stays spooled), 2 the spool is
off or unusable (the message says which option to set).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from airflow.providers.openlineage import conf
from airflow.providers.openlineage.config import client_config
from airflow.providers.openlineage.emission.deadline import FixedDeadline
from airflow.providers.openlineage.emission.replay import ReplayResult, replay
from airflow.providers.openlineage.emission.spool import Spool, configured_spool

DEFAULT_REPLAY_TIMEOUT = 300.0
HELD_RETRY_SECONDS = 0.5
_BAR_WIDTH = 30


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="airflow openlineage spool", description="Inspect, replay or purge the OpenLineage spool."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    status = commands.add_parser("status", help="what the spool holds")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    again = commands.add_parser("replay", help="send spooled events now, in the foreground")
    again.add_argument("--max-events", type=int, default=None, help="stop after this many events")
    again.add_argument(
        "--timeout", type=float, default=DEFAULT_REPLAY_TIMEOUT, help="stop after this many seconds"
    )
    purge = commands.add_parser("purge", help="delete every spooled event")
    purge.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    return parser


def main(
    argv: Sequence[str] | None = None,
    out: TextIO | None = None,
    ask: Callable[[str], str] = input,
) -> int:
    args = build_parser().parse_args(argv)
    out = out or sys.stdout
    spool = configured_spool()
    if spool is None:
        where = conf.spool_dir()
        reason = "is not set" if not where else f"= {where} cannot be used (see the warning above)"
        print(f"The OpenLineage spool is off: [openlineage] spool_dir {reason}.", file=out)
        return 2
    if args.command == "status":
        return _status(spool, args.json, out)
    if args.command == "replay":
        return _replay(spool, args.max_events, args.timeout, out)
    return _purge(spool, args.yes, out, ask)


def _status(spool: Spool, as_json: bool, out: TextIO) -> int:
    status = spool.status()
    if as_json:
        report = {
            "directory": status.directory,
            "files": status.files,
            "bytes": status.bytes,
            "max_bytes": status.max_bytes,
            "oldest": status.oldest.isoformat() if status.oldest else None,
            "corrupt": status.corrupt,
        }
        print(json.dumps(report), file=out)
        return 0
    oldest = status.oldest.isoformat(timespec="seconds") if status.oldest else "-"
    used = 100.0 * status.bytes / status.max_bytes
    print(f"Spool directory : {status.directory}", file=out)
    print(f"Spooled events  : {status.files}", file=out)
    print(f"Size            : {_mib(status.bytes)} of {_mib(status.max_bytes)} ({used:.1f}%)", file=out)
    print(f"Oldest event    : {oldest}", file=out)
    print(f"Moved aside     : {status.corrupt} unreadable file(s) in corrupt/", file=out)
    return 0


def _replay(spool: Spool, max_events: int | None, timeout: float, out: TextIO) -> int:
    try:
        config = client_config.resolved_client_config()
    except client_config.ClientConfigError as err:
        print(f"OpenLineage client configuration cannot be used: {err}", file=out)
        return 2
    total = len(spool.entries())
    if max_events is not None:
        total = min(total, max_events)
    progress = _Progress(total, out)
    deadline = FixedDeadline(timeout)
    result = ReplayResult()
    while True:  # passes until done; files another process holds right now are tried again shortly
        left_to_send = None if max_events is None else max_events - result.sent
        one_pass = replay(
            spool,
            lambda: client_config.build_client(config),
            deadline,
            max_files=left_to_send,
            on_sent=progress.advance,
        )
        result.sent += one_pass.sent
        result.corrupt += one_pass.corrupt
        result.failed, result.error, result.waiting = one_pass.failed, one_pass.error, one_pass.waiting
        done = left_to_send is not None and max_events is not None and result.sent >= max_events
        if done or result.failed or not one_pass.waiting or deadline.remaining() < HELD_RETRY_SECONDS:
            break
        if not one_pass.sent:
            time.sleep(HELD_RETRY_SECONDS)
    progress.finish()
    left = len(spool.entries())
    print(f"Replayed {result.sent} event(s); {left} still spooled; {result.corrupt} moved aside.", file=out)
    if result.failed:
        print(f"The backend failed, replay stopped: {result.error}", file=out)
        return 1
    if left and result.waiting and max_events is None:
        print(f"{result.waiting} event(s) were held by another process replaying the spool.", file=out)
    return 0


def _purge(spool: Spool, yes: bool, out: TextIO, ask: Callable[[str], str]) -> int:
    count = len(spool.entries())
    if count == 0:
        print("The spool is empty.", file=out)
        return 0
    if not yes:
        answer = ask(f"Delete {count} spooled OpenLineage event(s) from {spool.directory}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing deleted.", file=out)
            return 0
    print(f"Deleted {spool.purge()} spooled event(s).", file=out)
    return 0


class _Progress:
    """A one-line progress bar on a terminal; a line per batch otherwise (logs, pipes)."""

    def __init__(self, total: int, out: TextIO) -> None:
        self.total = max(0, total)
        self.done = 0
        self.out = out
        self.tty = bool(getattr(out, "isatty", lambda: False)())

    def advance(self, count: int) -> None:
        self.done += count
        filled = _BAR_WIDTH * self.done // self.total if self.total else _BAR_WIDTH
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        line = f"[{bar}] {self.done}/{self.total}"
        if self.tty:
            self.out.write("\r" + line)
            self.out.flush()
        else:
            print(line, file=self.out)

    def finish(self) -> None:
        if self.tty and self.done:
            self.out.write("\n")


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def status_command(args: Any) -> None:
    """``airflow openlineage spool status`` (provider CLI commands, Airflow 3.3+)."""
    sys.exit(main(["status", *(["--json"] if args.json else [])]))


def replay_command(args: Any) -> None:
    """``airflow openlineage spool replay``."""
    argv = ["replay", "--timeout", str(args.timeout)]
    if args.max_events is not None:
        argv += ["--max-events", str(args.max_events)]
    sys.exit(main(argv))


def purge_command(args: Any) -> None:
    """``airflow openlineage spool purge``."""
    sys.exit(main(["purge", *(["--yes"] if args.yes else [])]))


if __name__ == "__main__":
    sys.exit(main())
