"""
What the task runners of one workload cost, sampled from /proc while it runs.

* Peak RSS (``VmHWM``) of every task-runner process (``airflow worker -- <ti id>``; lineage senders,
  which retitle themselves, are left out: their pages are mostly shared with the runner).
* CPU of the task-runner process trees: each LocalExecutor worker (``airflow worker --
  LocalExecutor: ...``) is the supervisor that reaps its task runners, and a task runner reaps its
  lineage children, so the worker's ``cutime + cstime`` is the user + system time of every task it
  ran, children included. Workers live for one ``dags test``; their highest value is kept.
"""

from __future__ import annotations

import os
import threading

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _titled_processes() -> list[tuple[int, str]]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().decode(errors="replace")
        except OSError:
            continue
        if cmdline.startswith("airflow worker -- "):
            found.append((int(entry), cmdline))
    return found


def _peak_rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _children_cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command name: state is field 3; cutime and cstime are fields 16 and 17.
    return (int(fields[13]) + int(fields[14])) / _TICKS


class WorkloadSampler:
    """Polls every ``interval`` s: ``peaks`` (runner pid -> KiB), ``worker_cpu`` (worker pid -> s)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peaks: dict[int, int] = {}
        self.worker_cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="workload-sampler", daemon=True)

    def _sample(self) -> None:
        for pid, title in _titled_processes():
            if "LocalExecutor" in title:
                cpu = _children_cpu_seconds(pid)
                if cpu is not None and cpu >= self.worker_cpu.get(pid, 0.0):
                    self.worker_cpu[pid] = cpu
            elif "penLineage" not in title and "openlineage" not in title:
                peak = _peak_rss_kib(pid)
                if peak is not None and peak > self.peaks.get(pid, 0):
                    self.peaks[pid] = peak

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    @property
    def task_cpu_seconds(self) -> float:
        """User + system seconds of every task-runner tree the workers reaped."""
        return sum(self.worker_cpu.values())

    def __enter__(self) -> WorkloadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
