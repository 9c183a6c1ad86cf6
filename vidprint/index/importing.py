"""Import of shared hash lists: folders of reference ``.tmk`` files and vPDQ ``.txt`` files.

The id of each entry is the file name without its extension (``chair-19-sd-bar.tmk`` ->
``chair-19-sd-bar``); ``metadata["label"]`` records the list it came from (the folder's name, never
its path). Importing a ``.txt`` whose id already has only a ``.tmk`` (or the reverse) merges the two
into one entry with both; a kind the entry already has is kept, not overwritten.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidprint.errors import IndexStoreError
from vidprint.tmk import read as read_tmk
from vidprint.vpdq import read as read_vpdq

if TYPE_CHECKING:
    from vidprint.index.store import Index

BATCH = 1000  # entries per commit


def _files(folder: Path, suffix: str) -> list[Path]:
    if not folder.is_dir():
        raise IndexStoreError(str(folder), "no such folder to import from")
    return sorted(p for p in folder.iterdir() if p.suffix == suffix and p.is_file())


def _import(ix: "Index", folder: str | os.PathLike, suffix: str, metadata: dict[str, Any] | None) -> list[str]:
    from vidprint.index.store import Entry

    folder = Path(folder)
    ids: list[str] = []
    batch: list[Entry] = []
    for p in _files(folder, suffix):
        meta = {"label": folder.name, **(metadata or {})}
        if suffix == ".tmk":
            e = Entry(p.stem, meta, None, read_tmk(p), None)
        else:
            e = Entry(p.stem, meta, None, None, read_vpdq(p))
        batch.append(e)
        if len(batch) >= BATCH:
            ids += ix.merge_many(batch)
            batch = []
    if batch:
        ids += ix.merge_many(batch)
    return ids


def import_tmk(ix: "Index", folder: str | os.PathLike, metadata: dict[str, Any] | None = None) -> list[str]:
    """Add every ``*.tmk`` in ``folder`` (reference profile only); returns the ids."""
    return _import(ix, folder, ".tmk", metadata)


def import_vpdq(ix: "Index", folder: str | os.PathLike, metadata: dict[str, Any] | None = None) -> list[str]:
    """Add every vPDQ ``*.txt`` in ``folder`` (frame hashes only); returns the ids."""
    return _import(ix, folder, ".txt", metadata)
