"""The single-writer lock of an index folder.

A writer holds an exclusive ``fcntl.flock`` on ``<index>/LOCK`` and writes its pid into the file.
The kernel drops the lock when the holder dies (even by SIGKILL), so a lock left by a dead process
is simply taken over: there is no stale-lock cleanup to get wrong. A second writer gets
:class:`~vidprint.errors.IndexLockedError` naming the holder's pid. (``flock`` is advisory and
local: an index on a network file system shared by several machines needs an external lock.)
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from vidprint.errors import IndexLockedError, IndexStoreError

LOCK_NAME = "LOCK"


class WriterLock:
    """An acquired writer lock; :meth:`release` (or process exit) frees it."""

    def __init__(self, folder: str | os.PathLike):
        self.path = Path(folder) / LOCK_NAME
        self._fd: int | None = None
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise IndexStoreError(str(self.path), f"cannot open the lock file: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            who = f"process {pid}" if pid else "another process"
            raise IndexLockedError(str(self.path.parent), f"index is locked by a writer ({who})", pid) from None
        except OSError as exc:
            os.close(fd)
            raise IndexStoreError(str(self.path), f"cannot lock: {exc.strerror}") from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            finally:
                os.close(self._fd)  # closing drops the flock
                self._fd = None


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None


def holder_pid(folder: str | os.PathLike) -> int | None:
    """Pid of the current writer of ``folder``, or None when no writer holds the lock."""
    path = Path(folder) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
