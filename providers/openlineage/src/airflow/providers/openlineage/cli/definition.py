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
"""``airflow openlineage check | spool ...``, for Airflow versions that load provider CLI commands (3.3+)."""

from __future__ import annotations

from typing import Any


def get_openlineage_cli_commands() -> list[Any]:
    """The ``openlineage`` command group; the command itself is imported only when it runs."""
    from airflow.cli.cli_config import ActionCommand, Arg, GroupCommand, lazy_load_command

    no_send = Arg(("--no-send",), help="only report the configuration, send no probe", action="store_true")
    as_json = Arg(("--json",), help="print one JSON object", action="store_true")
    max_events = Arg(("--max-events",), help="stop after this many events", type=int, default=None)
    timeout = Arg(("--timeout",), help="stop after this many seconds", type=float, default=300.0)
    yes = Arg(("--yes",), help="do not ask for confirmation", action="store_true")
    spool = "airflow.providers.openlineage.spool_cli"
    return [
        GroupCommand(
            name="openlineage",
            help="OpenLineage provider commands",
            subcommands=[
                ActionCommand(
                    name="check",
                    help="Report the effective OpenLineage configuration and send one probe event",
                    func=lazy_load_command("airflow.providers.openlineage.check.check_command"),
                    args=(no_send, as_json),
                ),
                GroupCommand(
                    name="spool",
                    help="Inspect, replay or purge the spool of undelivered events ([openlineage] spool_dir)",
                    subcommands=[
                        ActionCommand(
                            name="status",
                            help="Spooled events, size and the oldest event",
                            func=lazy_load_command(f"{spool}.status_command"),
                            args=(as_json,),
                        ),
                        ActionCommand(
                            name="replay",
                            help="Send spooled events now, bounded in events and time",
                            func=lazy_load_command(f"{spool}.replay_command"),
                            args=(max_events, timeout),
                        ),
                        ActionCommand(
                            name="purge",
                            help="Delete every spooled event (asks first)",
                            func=lazy_load_command(f"{spool}.purge_command"),
                            args=(yes,),
                        ),
                    ],
                ),
            ],
        )
    ]
