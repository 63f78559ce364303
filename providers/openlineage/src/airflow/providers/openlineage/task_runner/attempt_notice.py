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
An open attempt's notice: how the supervisor closes the run of a task runner that died.

A runner killed by SIGKILL or the OOM killer runs none of its hooks, so its attempt's run would stay
open in the backend. While an attempt's segment runs, its runner keeps a small file naming the run
(ids and names only: no value the task reads, nothing secret) where its supervisor, the runner's
parent process, can find it. The runner removes it as soon as it reaches its terminal event or stops
cleanly; a notice the supervisor still finds after the runner exited means the runner died before
that, and the supervisor sends the attempt's FAIL event
(:mod:`~airflow.providers.openlineage.long_lived.supervisor_watch`). One reader removes it: at most one FAIL.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_FIELDS = ("namespace", "job_name", "run_id", "dag_id", "dag_run_ol_id", "root")


def _folder() -> Path:
    return Path(tempfile.gettempdir()) / f"airflow-openlineage-attempts-{os.getuid()}"


def notice_path(supervisor_pid: int, runner_pid: int) -> Path:
    """Where the runner ``runner_pid`` under supervisor ``supervisor_pid`` keeps its notice."""
    return _folder() / f"{supervisor_pid}-{runner_pid}.json"


def _own_path() -> Path:
    return notice_path(os.getppid(), os.getpid())


def write_notice(identity: Any) -> None:
    """In the runner: name the attempt's run for the supervisor (owner-only file, replaced atomically)."""
    values = {name: getattr(identity, name) for name in _FIELDS}
    path = _own_path()
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(values, f)
        tmp.replace(path)
    except OSError as err:
        log.debug(
            "OpenLineage: no attempt notice for the supervisor (%s); a runner death is not reported", err
        )


def remove_notice() -> None:
    """In the runner: its attempt reached its terminal event, or the runner stops cleanly."""
    try:
        _own_path().unlink()
    except FileNotFoundError:
        pass
    except OSError as err:
        log.debug("OpenLineage: could not remove the attempt notice: %s", err)


def take_notice(runner_pid: int) -> dict[str, Any] | None:
    """In the supervisor: the notice its runner left (removed here, so read once), or None."""
    path = notice_path(os.getpid(), runner_pid)
    try:
        text = path.read_text()
        path.unlink()
    except FileNotFoundError:
        return None
    except OSError as err:
        log.debug("OpenLineage: could not read the attempt notice %s: %s", path, err)
        return None
    try:
        values = json.loads(text)
    except ValueError:
        return None
    if not isinstance(values, dict) or not all(name in values for name in _FIELDS):
        return None
    return values


__all__ = ["notice_path", "remove_notice", "take_notice", "write_notice"]
