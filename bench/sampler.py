"""Peak RSS of every task-runner process, sampled from /proc while a workload runs."""

from __future__ import annotations

import os
import threading


def _task_runner_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().decode(errors="replace")
        except OSError:
            continue
        if cmdline.startswith("airflow worker -- ") and "penLineage" not in cmdline:
            pids.append(int(entry))
    return pids


def _peak_rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class PeakRssSampler:
    """Polls every ``interval`` seconds; ``peaks`` maps task-runner pid to its highest VmHWM (KiB)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for pid in _task_runner_pids():
                peak = _peak_rss_kib(pid)
                if peak is not None and peak > self.peaks.get(pid, 0):
                    self.peaks[pid] = peak

    def __enter__(self) -> PeakRssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
