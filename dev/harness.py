"""
Run DAGs through real Airflow 3 components in subprocesses, the way production runs tasks.

Tasks run in a task-runner process under the real Task SDK supervisor, talking to a real Execution
API (``airflow api-server --apps execution``), via ``airflow dags test --use-executor`` (LocalExecutor),
or through the scheduler for DAG-run events. SQLite metadata DB. Every process started here is ended
by PID (and process group) in :meth:`AirflowEnv.stop`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from receiver import unused_port

AIRFLOW_BIN = str(Path(sys.executable).with_name("airflow"))
EXIT_GRACE = 30.0
_JWT_SECRET = "openlineage-provider-tests-" + "x" * 64


def _airflow_version() -> str:
    from airflow import __version__

    return __version__


def _template_db() -> Path:
    """A migrated SQLite DB per Airflow version, made once and copied into each environment."""
    cache = Path(tempfile.gettempdir()) / f"ol-provider-airflow-{_airflow_version()}-template.db"
    if not cache.exists():
        home = Path(tempfile.mkdtemp(prefix="ol-template-"))
        env = {**os.environ, "AIRFLOW_HOME": str(home), **_base_env(home, 0)}
        subprocess.run([AIRFLOW_BIN, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        shutil.copy(home / "airflow.db", tmp)
        tmp.replace(cache)
        shutil.rmtree(home, ignore_errors=True)
    return cache


def _base_env(home: Path, port: int) -> dict[str, str]:
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": _JWT_SECRET,
        "AIRFLOW__API__SECRET_KEY": _JWT_SECRET,
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # The supervisor sometimes notices a task runner's exit only when its select() times out, which
        # is min_heartbeat_interval (5 s by default): an Airflow race, with or without lineage. At 1 s
        # that noise stays below the margins the timing tests allow lineage.
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
        "PYTHONUNBUFFERED": "1",
    }


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (LocalExecutor workers leave its process group: setpgid)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class AirflowEnv:
    """One AIRFLOW_HOME with its own DB, api-server and processes."""

    def __init__(
        self,
        dags_folder: Path,
        env: dict[str, str] | None = None,
        home: Path | None = None,
        airflow_bin: str | None = None,
    ) -> None:
        self.airflow_bin = airflow_bin or AIRFLOW_BIN  # another venv's ``airflow`` (benchmarks)
        self._own_home = home is None
        self.home = Path(home or tempfile.mkdtemp(prefix="ol-airflow-"))
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = unused_port()
        self.env = {
            # Bytecode caching stays on (as in production): without it every task runner compiles
            # what it imports, and lazy imports would look many times dearer than they are.
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("AIRFLOW__", "OPENLINEAGE")) and k != "PYTHONDONTWRITEBYTECODE"
            },
            **_base_env(self.home, self.port),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            **(env or {}),
        }
        self._procs: list[subprocess.Popen] = []
        shutil.copy(_template_db(), self.home / "airflow.db")

    # -- processes -----------------------------------------------------------------------------

    def _spawn(self, args: list[str], log_name: str) -> subprocess.Popen:
        log = open(self.home / log_name, "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [self.airflow_bin, *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._procs.append(proc)
        return proc

    def start_api_server(self, timeout: float = 90.0, apps: str = "execution") -> None:
        """``apps="all"`` adds the public REST API (UI/API state changes run listener hooks there)."""
        self._spawn(
            ["api-server", "--apps", apps, "-H", "127.0.0.1", "-p", str(self.port), "-w", "1"],
            "api-server.log",
        )
        end = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/execution/health"
        while time.monotonic() < end:
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"api-server did not come up; see {self.home / 'api-server.log'}")

    def run(
        self, args: list[str], timeout: float = 300.0, done: Callable[[], bool] | None = None
    ) -> subprocess.CompletedProcess:
        """
        Run an airflow CLI command to completion (bounded), output captured.

        ``done``, when given, tells that the command's work is finished: the command then gets
        ``EXIT_GRACE`` seconds to exit before its process group is killed (Airflow's LocalExecutor
        sometimes waits forever for one of its idle workers at shutdown).
        """
        with tempfile.TemporaryFile() as output:
            proc = subprocess.Popen(
                [self.airflow_bin, *args],
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self._procs.append(proc)
            end = time.monotonic() + timeout
            finished_at: float | None = None
            while proc.poll() is None:
                now = time.monotonic()
                if finished_at is None and done is not None and done():
                    finished_at = now
                if now > end or (finished_at is not None and now - finished_at > EXIT_GRACE):
                    self._kill(proc)
                    break
                time.sleep(0.5)
            proc.wait()
            output.seek(0)
            text = output.read().decode(errors="replace")
        return subprocess.CompletedProcess(proc.args, proc.returncode, text, "")

    def dags_test(
        self, dag_id: str, timeout: float = 300.0, conf: dict | None = None
    ) -> subprocess.CompletedProcess:
        """``airflow dags test --use-executor``: tasks run under the real supervisor."""
        known = {row[0] for row in self.query("SELECT run_id FROM dag_run WHERE dag_id = ?", (dag_id,))}

        def finished() -> bool:
            rows = self.query("SELECT run_id, state FROM dag_run WHERE dag_id = ?", (dag_id,))
            return any(run_id not in known and state in ("success", "failed") for run_id, state in rows)

        args = ["dags", "test", dag_id, "--use-executor"]
        if conf:
            args += ["--conf", json.dumps(conf)]
        return self.run(args, timeout=timeout, done=finished)

    def run_scheduled(self, dag_id: str, timeout: float = 300.0, conf: dict | None = None) -> str | None:
        """Trigger ``dag_id`` and let a real scheduler run it; returns the DAG run's final state."""
        self.run(["dags", "reserialize"], timeout=120)
        self.run(["dags", "unpause", dag_id], timeout=60)
        scheduler = self._spawn(["scheduler"], "scheduler.log")
        args = ["dags", "trigger", dag_id]
        if conf:
            args += ["--conf", json.dumps(conf)]
        self.run(args, timeout=60)
        end = time.monotonic() + timeout
        state = None
        while time.monotonic() < end:
            rows = self.query("SELECT state FROM dag_run WHERE dag_id = ?", (dag_id,))
            state = rows[-1][0] if rows else None
            if state in ("success", "failed"):
                break
            time.sleep(1)
        time.sleep(2)  # let the scheduler hand the final DAG-run event to its emitter
        self._terminate_gracefully(scheduler)
        return state

    # -- results -------------------------------------------------------------------------------

    def query(self, sql: str, params: tuple = ()) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.home / "airflow.db", timeout=30) as db:
            return db.execute(sql, params).fetchall()

    def task_logs(self, dag_id: str, run_id: str) -> str:
        """Every task log of one DAG run, as the task runners wrote them."""
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
        return "\n".join(p.read_text(errors="replace") for p in sorted(folder.rglob("*.log")))

    def task_states(self, dag_id: str) -> dict[str, str]:
        rows = self.query("SELECT task_id, map_index, state FROM task_instance WHERE dag_id = ?", (dag_id,))
        return {(t if m == -1 else f"{t}[{m}]"): s for t, m, s in rows}

    # -- cleanup -------------------------------------------------------------------------------

    @classmethod
    def _kill(cls, proc: subprocess.Popen) -> None:
        below = descendants(proc.pid)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for pid in below:  # started by this command, possibly in process groups of their own
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            proc.kill()
        except ProcessLookupError:
            pass

    def _terminate_gracefully(self, proc: subprocess.Popen, grace: float = 15.0) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        self._kill(proc)
        proc.wait()

    def stop(self) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                self._terminate_gracefully(proc, grace=5.0)
            else:
                self._kill(proc)  # its group may still hold LocalExecutor workers
        self._procs.clear()

    def __enter__(self) -> AirflowEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self._own_home:
            shutil.rmtree(self.home, ignore_errors=True)
