"""Crash-safe file writes: a killed process leaves either the old file or the complete new one.

The temporary sibling is named ``.NAME.<pid>.<random>.tmp``, so that a temporary left behind by a
killed run is recognisable: the next write to the same target removes those whose process is gone.
The new file gets the permissions an ordinary ``open(path, "w")`` would give (``0666`` minus the
umask), not ``mkstemp``'s private ``0600``.
"""
from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from vidprint.errors import VidprintError


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else (or unknown): leave its file alone
    return True


def _remove_stale(folder: Path, name: str) -> None:
    """Delete ``.NAME.<pid>.<rand>.tmp`` siblings whose writer process no longer exists."""
    pattern = re.compile(r"\." + re.escape(name) + r"\.(\d+)\.[0-9a-f]+\.tmp\Z")
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        m = pattern.match(entry)
        if m and not _pid_alive(int(m.group(1))):
            try:
                os.unlink(folder / entry)
            except OSError:
                pass


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename.

    ``str`` data is written as ASCII-compatible UTF-8 with no newline translation. Raises
    :class:`vidprint.errors.VidprintError` naming ``path`` if its folder does not exist or cannot
    be written.
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise VidprintError(str(path), f"cannot write: folder {str(folder)!r} does not exist")
    _remove_stale(folder, path.name)
    tmp = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        # Mode 0666: the kernel applies the umask, as for any file the user creates.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise VidprintError(str(path), f"cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise VidprintError(str(path), f"cannot write: {exc.strerror or exc}") from None
        raise
