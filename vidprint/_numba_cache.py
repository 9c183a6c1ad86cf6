"""Where Numba keeps its compiled-kernel cache: never inside the installed package.

Numba's ``cache=True`` writes next to the source file by default. Inside ``site-packages`` that
fails on a read-only install and leaves files behind that ``pip uninstall`` does not remove (a
leftover ``vidprint/`` folder then shadows a later editable install). vidprint therefore points the
cache at a per-user folder, unless the user chose one with ``NUMBA_CACHE_DIR``:

* ``$NUMBA_CACHE_DIR`` if set (Numba's own variable, honoured as is);
* else ``$XDG_CACHE_HOME/vidprint/numba`` (``~/.cache/vidprint/numba`` on Linux,
  ``~/Library/Caches/vidprint/numba`` on macOS, ``%LOCALAPPDATA%\\vidprint\\numba`` on Windows).

This module must run before the first ``@njit(cache=True)`` decorator is evaluated, which is why
``vidprint/__init__.py`` imports it first. Compiling all kernels with an empty cache takes about
13 s on a 2-core machine; later imports load them in under 2 s.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path


def default_cache_dir() -> Path:
    """The per-user cache folder vidprint uses when ``NUMBA_CACHE_DIR`` is not set."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "vidprint" / "numba"


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        return True
    except OSError:
        return False


def configure() -> str:
    """Point Numba's cache at the per-user folder (unless ``NUMBA_CACHE_DIR`` is set); return it.

    If that folder cannot be written (a read-only home, a locked-down service account), a folder
    in the system's temporary directory is used instead, so importing vidprint never fails on it.
    """
    chosen = os.environ.get("NUMBA_CACHE_DIR")
    if chosen:
        return chosen
    path_obj = default_cache_dir()
    if not _writable(path_obj):
        import tempfile

        path_obj = Path(tempfile.gettempdir()) / f"vidprint-numba-{os.getuid() if hasattr(os, 'getuid') else 0}"
    path = str(path_obj)
    os.environ["NUMBA_CACHE_DIR"] = path  # read by numba.core.config when numba is first imported
    numba = sys.modules.get("numba")
    if numba is not None:  # numba was imported before vidprint: its config is already read
        numba.config.CACHE_DIR = path
    return path
