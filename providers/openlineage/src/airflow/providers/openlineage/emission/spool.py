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
The on-disk spool (``[openlineage] spool_dir``): events that could not be delivered, kept for replay.

One file per event, named ``<time ns>-<pid>-<seq>-<bytes>.<run id>.<event type>.json`` so a directory
listing sorted by name is the order events were spooled in, and the run a file belongs to and its
size are known without reading it (or even a ``stat``). Files are written to a hidden temporary name
with owner-only permissions, flushed to disk (``fsync``), renamed into place and the directory
synced, so the new name survives a crash too: a reader never sees half a file, and a runner killed
right after the rename leaves a complete one. A temporary file a crash left behind (its rename lost)
is put in place once stale when it holds a whole event, and removed only when it does not. Only finished,
redacted events are ever handed to the spool.

A reader claims a file with an exclusive ``flock`` on it (non-blocking) and checks the name still
points at the file it locked; it deletes the file while holding the lock. Two processes never send
the same file at once, and a file deleted by one is never picked up by the other.

The spool is bounded by ``spool_max_size_mb``: a write that does not fit first removes the oldest
files. Files that cannot be read as an event are moved to ``corrupt/`` and never block the rest.
Every problem is one WARNING line per process and cause; writes never raise.
"""

from __future__ import annotations

import dataclasses
import datetime
import errno
import fcntl
import itertools
import logging
import os
import re
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

from airflow.providers.openlineage.emission import metrics
from airflow.providers.openlineage.emission.base import OpenLineageEvent
from airflow.providers.openlineage.emission.spooled_event import (
    CorruptSpoolFile,
    decode,
    encode,
    kind_of,
    run_id_of,
)

log = logging.getLogger(__name__)

CORRUPT_DIR = "corrupt"
_TMP_PREFIX = ".tmp-"
_STALE_TMP_SECONDS = 600.0  # a temporary file this old belongs to a writer that was killed
_NAME = re.compile(
    r"^(?P<stamp>\d{19})-(?P<pid>\d+)-(?P<seq>\d+)-(?P<size>\d+)\."
    r"(?P<run>[A-Za-z0-9_-]+)\.(?P<kind>[A-Z]+)\.json$"
)
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
NO_RUN = "-"


@dataclasses.dataclass(slots=True)
class SpoolEntry:
    """One spooled event as the directory listing shows it (plain strings: a listing may be large)."""

    file: str  # the full path
    name: str
    run_id: str
    kind: str
    stamp_ns: int
    size: int

    @property
    def path(self) -> Path:
        return Path(self.file)

    @property
    def spooled_at(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.stamp_ns / 1e9, tz=datetime.UTC)


@dataclasses.dataclass(frozen=True)
class SpoolStatus:
    """What ``airflow openlineage spool status`` prints."""

    directory: str
    files: int
    bytes: int
    max_bytes: int
    oldest: datetime.datetime | None
    corrupt: int


class Claim:
    """A spool file locked by this process: read it, then delete it, or release it for a later try."""

    def __init__(self, entry: SpoolEntry, fd: int) -> None:
        self.entry = entry
        self._fd: int | None = fd
        _live_claims.add(self)

    def read(self) -> bytes:
        assert self._fd is not None
        chunks = []
        os.lseek(self._fd, 0, os.SEEK_SET)
        while chunk := os.read(self._fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)

    def delete(self) -> None:
        """Remove the file (delivered), then drop the lock."""
        try:
            os.unlink(self.entry.file)
        except FileNotFoundError:
            pass
        finally:
            self.release()

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None
        _live_claims.discard(self)

    def _drop_inherited(self) -> None:
        """In a forked child: close this copy, else the lock outlives the parent's release."""
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None


# flock belongs to the open file, which fork() shares: a child process (a LocalExecutor worker forked
# by the scheduler while its replayer holds a claim) would keep the file locked for its whole life.
_live_claims: weakref.WeakSet[Claim] = weakref.WeakSet()


def _drop_claims_after_fork() -> None:
    for claim in list(_live_claims):
        claim._drop_inherited()
    _live_claims.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_claims_after_fork)


class Spool:
    """A directory of spooled events, bounded in size; safe to share between processes."""

    def __init__(self, directory: str | os.PathLike[str], max_bytes: int) -> None:
        self.directory = Path(directory)
        self.max_bytes = max(1, max_bytes)
        self._lock = threading.RLock()  # writing may list the directory (to make room) under it
        self._seq = itertools.count()
        self._last_stamp = 0
        self._known_bytes: int | None = None  # this process's estimate; rescanned when it says "full"
        self._runs_waiting: set[str] = set()  # runs with an event on disk, as this process knows
        self._warned: set[str] = set()

    # -- writing -------------------------------------------------------------------------------

    def write(self, event: OpenLineageEvent, reason: str) -> bool:
        """Keep ``event`` on disk; False (one WARNING per cause, a metric) when it cannot be kept."""
        try:
            data = encode(event, reason)
        except Exception as err:  # noqa: BLE001 - an event the serialiser rejects cannot be kept
            return self._dropped("unserialisable", f"the event could not be serialised ({err})")
        run_id = _UNSAFE.sub("_", run_id_of(event)) or NO_RUN
        with self._lock:
            if len(data) > self.max_bytes:
                return self._dropped("full", f"one event ({len(data)} bytes) is larger than the spool")
            try:
                self._make_room(len(data))
                stamp, seq = self._stamp(), next(self._seq)
                name = f"{stamp:019d}-{os.getpid()}-{seq:06d}-{len(data)}.{run_id}.{kind_of(event)}.json"
                self._write_atomically(name, data)
            except OSError as err:
                return self._dropped("unwritable", f"{type(err).__name__}: {err.strerror or err}")
            self._known_bytes = (self._known_bytes or 0) + len(data)
            self._runs_waiting.add(run_id)
        metrics.incr("spool.spooled")
        metrics.gauge("spool.bytes", self._known_bytes)
        return True

    def _stamp(self) -> int:
        """Nanoseconds since the epoch, strictly increasing within this process (names sort in order)."""
        self._last_stamp = max(time.time_ns(), self._last_stamp + 1)
        return self._last_stamp

    def _write_atomically(self, name: str, data: bytes) -> None:
        tmp = self.directory / f"{_TMP_PREFIX}{name}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)  # whatever the umask says
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            _unlink_quietly(tmp)
            raise
        os.close(fd)
        try:
            os.rename(tmp, self.directory / name)
        except BaseException:
            _unlink_quietly(tmp)
            raise
        _sync_directory(self.directory)

    def _make_room(self, size: int) -> None:
        """Remove the oldest files until ``size`` more bytes fit (counted, one WARNING)."""
        if self._known_bytes is None or self._known_bytes + size > self.max_bytes:
            entries = self.entries()
            self._known_bytes = sum(entry.size for entry in entries)
            removed = 0
            for entry in entries:
                if self._known_bytes + size <= self.max_bytes:
                    break
                claim = self.claim(entry)
                if claim is None:
                    continue  # being replayed right now: it leaves by itself
                claim.delete()
                self._known_bytes -= entry.size
                removed += 1
                metrics.incr("spool.dropped.full")
            if removed:
                self._warn_once(
                    "full",
                    "OpenLineage spool [openlineage] spool_dir=%s is full (spool_max_size_mb=%d); "
                    "dropped the oldest %d spooled event(s) (more may follow without another line)",
                    self.directory,
                    self.max_bytes // (1024 * 1024),
                    removed,
                )

    def _dropped(self, reason: str, detail: str) -> bool:
        metrics.incr(f"spool.dropped.{reason}")
        self._warn_once(
            reason,
            "OpenLineage could not spool an event to [openlineage] spool_dir=%s: %s; "
            "the event is dropped (further ones for the same cause without another line)",
            self.directory,
            detail,
        )
        return False

    def _warn_once(self, key: str, message: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, *args)

    # -- reading -------------------------------------------------------------------------------

    def entries(self) -> list[SpoolEntry]:
        """Every spooled event, oldest first; removes temporary files left by killed writers."""
        with self._lock:  # a write of this process cannot fall between the listing and the run index
            try:
                listing = list(os.scandir(self.directory))
            except OSError:
                return []
            found = []
            now = time.time()
            for item in listing:
                name = item.name
                if name.startswith(_TMP_PREFIX):
                    if not _recover_if_stale(self.directory, item, now):
                        continue
                    name = name[len(_TMP_PREFIX) :]
                match = _NAME.match(name)
                if match is None:
                    continue
                # The size is in the name: listing a large spool costs no stat() per file.
                stamp, size = int(match["stamp"]), int(match["size"])
                path = os.path.join(self.directory, name)
                found.append(SpoolEntry(path, name, match["run"], match["kind"], stamp, size))
            found.sort(key=lambda entry: entry.name)
            self._runs_waiting = {entry.run_id for entry in found}
            return found

    def holds_run(self, run_id: str) -> bool:
        """True when an event of ``run_id`` waits on disk, as far as this process has seen."""
        return (_UNSAFE.sub("_", run_id) or NO_RUN) in self._runs_waiting

    def note_run(self, run_id: str) -> None:
        """Another process (a forked sender) spooled an event of ``run_id``."""
        with self._lock:
            self._runs_waiting.add(_UNSAFE.sub("_", run_id) or NO_RUN)

    def claim(self, entry: SpoolEntry) -> Claim | None:
        """Lock ``entry`` for this process; None when another process holds it or it is gone."""
        try:
            fd = os.open(entry.file, os.O_RDONLY)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino != os.stat(entry.file).st_ino:
                raise FileNotFoundError(errno.ENOENT, "replaced")
        except OSError:  # locked elsewhere, or deleted by its holder between open and lock
            os.close(fd)
            return None
        return Claim(entry, fd)

    def move_aside(self, claim: Claim, why: str) -> None:
        """A file that is not an event: into ``corrupt/`` (one WARNING), never retried."""
        target_dir = self.directory / CORRUPT_DIR
        try:
            target_dir.mkdir(mode=0o700, exist_ok=True)
            os.rename(claim.entry.file, target_dir / claim.entry.name)
        except OSError as err:
            why = f"{why}; it could not be moved aside either ({err.strerror or err}), so it is deleted"
            _unlink_quietly(claim.entry.path)
        finally:
            claim.release()
        metrics.incr("spool.dropped.corrupt")
        log.warning(
            "OpenLineage spool file %s is unreadable (%s); moved to %s/",
            claim.entry.name,
            why,
            CORRUPT_DIR,
        )

    # -- operator commands ---------------------------------------------------------------------

    def status(self) -> SpoolStatus:
        entries = self.entries()
        try:
            corrupt = sum(1 for _ in (self.directory / CORRUPT_DIR).iterdir())
        except OSError:
            corrupt = 0
        return SpoolStatus(
            directory=str(self.directory),
            files=len(entries),
            bytes=sum(entry.size for entry in entries),
            max_bytes=self.max_bytes,
            oldest=entries[0].spooled_at if entries else None,
            corrupt=corrupt,
        )

    def purge(self) -> int:
        """Delete every spooled event no other process is replaying right now; how many were deleted."""
        removed = 0
        for claim in self._claims(self.entries()):
            claim.delete()
            removed += 1
        with self._lock:
            self._known_bytes = None
        return removed

    def _claims(self, entries: list[SpoolEntry]) -> Iterator[Claim]:
        for entry in entries:
            claim = self.claim(entry)
            if claim is not None:
                yield claim


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (its entry is part of the directory, not of the file)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # a file system that cannot sync directories: the file itself is synced
        pass
    finally:
        os.close(fd)


def _recover_if_stale(directory: Path, item: os.DirEntry[str], now: float) -> bool:
    """
    A temporary file old enough that its writer is gone: put in place when it holds a whole event
    (True), else removed. A younger one belongs to a writer still at work and is left alone.
    """
    try:
        if now - item.stat().st_mtime <= _STALE_TMP_SECONDS:
            return False
        final = item.name[len(_TMP_PREFIX) :]
        with open(item.path, "rb") as stream:
            data = stream.read()
        try:
            decode(data)
        except CorruptSpoolFile:
            os.unlink(item.path)
            return False
        if _NAME.match(final) is None:
            os.unlink(item.path)
            return False
        os.rename(item.path, os.path.join(directory, final))
        _sync_directory(directory)
        return True
    except OSError:
        return False


_open_lock = threading.Lock()
_opened: dict[tuple[str, int], Spool | None] = {}


def open_spool(directory: str, max_size_mb: int) -> Spool | None:
    """
    The process's spool for ``directory``, or None when the spool is off or unusable.

    A directory that is missing, not a directory, or not writable is one WARNING naming the option; the
    check is made once per process, and events are then dropped as without a spool.
    """
    if not directory:
        return None
    key = (directory, max_size_mb)
    with _open_lock:
        if key not in _opened:
            _opened[key] = _checked(directory, max_size_mb)
        return _opened[key]


def _checked(directory: str, max_size_mb: int) -> Spool | None:
    path = Path(directory).expanduser()
    if not path.is_dir():
        problem = "it does not exist" if not path.exists() else "it is not a directory"
    elif not os.access(path, os.W_OK | os.X_OK):
        problem = "this process cannot write to it"
    else:
        return Spool(path, max_size_mb * 1024 * 1024)
    log.warning(
        "Invalid value for [openlineage] spool_dir: `%s`: %s; undeliverable events are dropped, not "
        "spooled. Lineage goes on and the task is not affected.",
        directory,
        problem,
    )
    return None


def configured_spool() -> Spool | None:
    """The spool ``[openlineage] spool_dir`` / ``spool_max_size_mb`` name, or None (off, unusable)."""
    from airflow.providers.openlineage import conf

    return open_spool(conf.spool_dir(), conf.spool_max_size_mb())


def reset_opened() -> None:
    """Forget opened spools (tests, configuration reloads)."""
    with _open_lock:
        _opened.clear()


__all__ = [
    "CORRUPT_DIR",
    "Claim",
    "Spool",
    "SpoolEntry",
    "SpoolStatus",
    "configured_spool",
    "open_spool",
    "reset_opened",
]
