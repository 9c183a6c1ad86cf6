"""Immutable HDF5 segment files: one per committed batch (or per compaction).

Layout of a segment (``N`` entries; per kind, ``M`` entries that have it; ``F`` vPDQ frames)::

    /                 attrs format="vidprint-index-segment", version=1
    /ids              blob: UTF-8 ids joined by NUL (uint8), ids never contain NUL
    /metadata/{data,offsets,crc}   JSON object per entry (uint8 blob, int64[N+1], crc32 uint32[N])
    /compact/entry    int32[M]  entry row of each compact descriptor
    /compact/level1   int8[M, 128]  level-1 codes (the prefilter scan matrix)
    /compact/{data,offsets,crc}    CompactDescriptor.to_bytes() per entry (level 2 for confirmation)
    /tmk/entry        int32[M]
    /tmk/average      float32[M, 256]  reference level-1 vectors
    /tmk/{data,offsets,crc}        reference .tmk bytes per entry
    /vpdq/entry       int32[M]
    /vpdq/offsets     int64[M+1]  frame range of each entry
    /vpdq/words       uint64[F, 4]  PDQ hashes
    /vpdq/quality     uint8[F]
    /vpdq/timestamps  float64[F]  seconds
    /vpdq/frame_numbers int32[F]
    /vpdq/meta        blob of JSON (fps, every_seconds, size, pruned) per entry

"Hot" datasets (everything but the per-entry blobs) are read into memory when the segment is opened
and checked against the sha256 the manifest records for each; blobs are read on demand and checked
against their per-entry crc32 (itself in a hot dataset). The whole file's sha256 is in the manifest too,
for a full verification.
"""
from __future__ import annotations

import hashlib
import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import h5py
import numpy as np

from vidprint.errors import HashFileError, IndexStoreError
from vidprint.tmk import CompactDescriptor, TMKDescriptor
from vidprint.tmk import read as read_tmk
from vidprint.vpdq import VPDQHash

from vidprint.index.manifest import SegmentRecord

SEGMENT_FORMAT = "vidprint-index-segment"
SEGMENT_VERSION = 1
LEVEL1_DIM = 128
TMK_DIM = 256
_BLOBS = ("metadata", "compact", "tmk", "vpdq/meta")


@dataclass(frozen=True)
class Record:
    """One entry to write: an id, a metadata dict and any subset of the three fingerprints."""

    id: str
    metadata: dict[str, Any]
    compact: CompactDescriptor | None
    tmk: TMKDescriptor | None
    vpdq: VPDQHash | None


# ------------------------------------------------------------------------------------------------
# writing


def _blob(parts: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(p) for p in parts]) if parts else []
    data = np.frombuffer(b"".join(parts), dtype=np.uint8)
    crc = np.array([zlib.crc32(p) for p in parts], dtype=np.uint32)
    return data, offsets, crc


def _vpdq_meta(v: VPDQHash) -> bytes:
    # no ``source``: it is often a path, and paths leak when hash lists are shared
    return json.dumps({"fps": v.fps, "every_seconds": v.every_seconds, "size": v.size, "pruned": v.pruned},
                      sort_keys=True).encode()


def build_arrays(records: Sequence[Record]) -> dict[str, np.ndarray]:
    """All datasets of a segment holding ``records``, as numpy arrays keyed by HDF5 path."""
    out: dict[str, np.ndarray] = {}
    for r in records:
        if "\0" in r.id or not r.id:
            raise ValueError(f"index ids must be non-empty and contain no NUL character: {r.id!r}")
    out["ids"] = np.frombuffer("\0".join(r.id for r in records).encode("utf-8"), dtype=np.uint8)
    meta = [json.dumps(r.metadata, sort_keys=True, ensure_ascii=True).encode() for r in records]
    out["metadata/data"], out["metadata/offsets"], out["metadata/crc"] = _blob(meta)

    rows = [i for i, r in enumerate(records) if r.compact is not None]
    out["compact/entry"] = np.array(rows, dtype=np.int32)
    out["compact/level1"] = np.array([records[i].compact.level1_int8 for i in rows], dtype=np.int8).reshape(-1, LEVEL1_DIM)
    out["compact/data"], out["compact/offsets"], out["compact/crc"] = _blob([records[i].compact.to_bytes() for i in rows])

    rows = [i for i, r in enumerate(records) if r.tmk is not None]
    out["tmk/entry"] = np.array(rows, dtype=np.int32)
    out["tmk/average"] = np.array([records[i].tmk.average for i in rows], dtype=np.float32).reshape(-1, TMK_DIM)
    out["tmk/data"], out["tmk/offsets"], out["tmk/crc"] = _blob([records[i].tmk.to_bytes() for i in rows])

    rows = [i for i, r in enumerate(records) if r.vpdq is not None]
    vs = [records[i].vpdq for i in rows]
    out["vpdq/entry"] = np.array(rows, dtype=np.int32)
    off = np.zeros(len(vs) + 1, dtype=np.int64)
    off[1:] = np.cumsum([len(v) for v in vs]) if vs else []
    out["vpdq/offsets"] = off
    cat = (lambda xs, dt, shape: np.concatenate(xs).astype(dt) if xs else np.zeros(shape, dt))
    out["vpdq/words"] = cat([v.words for v in vs], np.uint64, (0, 4)).reshape(-1, 4)
    out["vpdq/quality"] = cat([np.clip(v.quality, 0, 255) for v in vs], np.uint8, (0,))
    out["vpdq/timestamps"] = cat([v.timestamps for v in vs], np.float64, (0,))
    out["vpdq/frame_numbers"] = cat([v.frame_numbers for v in vs], np.int32, (0,))
    out["vpdq/meta/data"], out["vpdq/meta/offsets"], out["vpdq/meta/crc"] = _blob([_vpdq_meta(v) for v in vs])
    return out


def _is_hot(name: str) -> bool:
    return not name.endswith("/data") or name == "ids"


def array_digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).view(np.uint8).reshape(-1).data).hexdigest()


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def write_segment(folder: Path, name: str, seq: int, records: Sequence[Record]) -> SegmentRecord:
    """Write ``records`` to ``folder/name`` durably (temporary name, fsync, rename, fsync the folder).

    The file is not part of the index until a manifest lists it; a crash before that leaves an orphan
    that the next writer deletes.
    """
    arrays = build_arrays(records)
    tmp = folder / f".{name}.tmp"
    with h5py.File(tmp, "w", libver="latest") as f:
        f.attrs["format"] = SEGMENT_FORMAT
        f.attrs["version"] = SEGMENT_VERSION
        for key, arr in arrays.items():
            f.create_dataset(key, data=arr)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    digest = file_digest(tmp)
    size = tmp.stat().st_size
    os.replace(tmp, folder / name)
    datasets = {k: array_digest(v) for k, v in arrays.items() if _is_hot(k)}
    frames = int(arrays["vpdq/words"].shape[0])
    return SegmentRecord(name, seq, size, digest, len(records), frames, datasets)


# ------------------------------------------------------------------------------------------------
# reading

_SPEC: dict[str, tuple[type, int | None]] = {  # dataset -> (dtype, second dimension or None for 1-D)
    "ids": (np.uint8, None),
    "metadata/offsets": (np.int64, None), "metadata/crc": (np.uint32, None),
    "compact/entry": (np.int32, None), "compact/level1": (np.int8, LEVEL1_DIM),
    "compact/offsets": (np.int64, None), "compact/crc": (np.uint32, None),
    "tmk/entry": (np.int32, None), "tmk/average": (np.float32, TMK_DIM),
    "tmk/offsets": (np.int64, None), "tmk/crc": (np.uint32, None),
    "vpdq/entry": (np.int32, None), "vpdq/offsets": (np.int64, None), "vpdq/words": (np.uint64, 4),
    "vpdq/quality": (np.uint8, None), "vpdq/timestamps": (np.float64, None),
    "vpdq/frame_numbers": (np.int32, None),
    "vpdq/meta/offsets": (np.int64, None), "vpdq/meta/crc": (np.uint32, None),
}
_BLOB_DATA = ("metadata/data", "compact/data", "tmk/data", "vpdq/meta/data")


class SegmentReader:
    """An opened, checked segment: hot arrays in memory, blobs read on demand.

    Raises :class:`IndexStoreError` naming the file when it is missing, truncated, not a segment,
    has a dataset of the wrong dtype or shape, or a checksum mismatch.
    """

    def __init__(self, folder: Path, rec: SegmentRecord, full_verify: bool = False):
        self.record = rec
        self.path = folder / rec.file
        src = str(self.path)
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            raise IndexStoreError(src, "segment file listed in the manifest is missing") from None
        if size != rec.bytes:
            raise IndexStoreError(src, f"segment is {size} bytes, the manifest records {rec.bytes} (truncated or replaced)")
        try:
            if full_verify and file_digest(self.path) != rec.sha256:
                raise IndexStoreError(src, "segment sha256 differs from the manifest (damaged file)")
            self._h5 = h5py.File(self.path, "r")
        except OSError as exc:
            if not self.path.exists():  # deleted meanwhile by a compaction: the caller re-reads the manifest
                raise IndexStoreError(src, "segment file listed in the manifest is missing") from None
            raise IndexStoreError(src, f"not a readable HDF5 file: {exc}") from None
        try:
            self._load(src)
        except IndexStoreError:
            self._h5.close()
            raise
        except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:  # h5py on damaged internals
            self._h5.close()
            raise IndexStoreError(src, f"damaged segment: {exc}") from None

    def _load(self, src: str) -> None:
        f = self._h5
        if f.attrs.get("format") != SEGMENT_FORMAT:
            raise IndexStoreError(src, f"not a vidprint index segment (format attribute {f.attrs.get('format')!r})")
        if int(f.attrs.get("version", -1)) != SEGMENT_VERSION:
            raise IndexStoreError(src, f"unsupported segment version {f.attrs.get('version')!r}")
        a: dict[str, np.ndarray] = {}
        for key, (dt, dim) in _SPEC.items():
            if key not in f:
                raise IndexStoreError(src, f"dataset /{key} is missing")
            ds = f[key]
            if ds.dtype != np.dtype(dt) or (dim is None and ds.ndim != 1) or (dim is not None and (ds.ndim != 2 or ds.shape[1] != dim)):
                raise IndexStoreError(src, f"dataset /{key} has dtype {ds.dtype} and shape {ds.shape}, "
                                           f"expected {np.dtype(dt)} and {'(n,)' if dim is None else f'(n, {dim})'}")
            arr = ds[()] if ds.size else np.zeros(ds.shape, dtype=dt)
            want = self.record.datasets.get(key)
            if want is None or array_digest(arr) != want:
                raise IndexStoreError(src, f"dataset /{key} checksum differs from the manifest (damaged file)")
            a[key] = arr
        for key in _BLOB_DATA:
            if key not in f or f[key].dtype != np.uint8 or f[key].ndim != 1:
                raise IndexStoreError(src, f"dataset /{key} is missing or not uint8[n]")
        text = a["ids"].tobytes().decode("utf-8", "strict")
        self.ids: list[str] = text.split("\0") if self.record.entries else []
        n = len(self.ids)
        if n != self.record.entries:
            raise IndexStoreError(src, f"segment holds {n} ids, the manifest records {self.record.entries}")
        self._check_blob(src, a, "metadata", n)
        for kind in ("compact", "tmk", "vpdq"):
            e = a[f"{kind}/entry"]
            if e.size and (e.min() < 0 or e.max() >= n or np.any(np.diff(e) <= 0)):
                raise IndexStoreError(src, f"/{kind}/entry rows out of range or unsorted")
        m = a["compact/entry"].size
        if a["compact/level1"].shape[0] != m:
            raise IndexStoreError(src, "/compact/level1 and /compact/entry differ in length")
        self._check_blob(src, a, "compact", m)
        m = a["tmk/entry"].size
        if a["tmk/average"].shape[0] != m:
            raise IndexStoreError(src, "/tmk/average and /tmk/entry differ in length")
        self._check_blob(src, a, "tmk", m)
        m = a["vpdq/entry"].size
        off = a["vpdq/offsets"]
        frames = a["vpdq/words"].shape[0]
        if off.size != m + 1 or off[0] != 0 or off[-1] != frames or np.any(np.diff(off) < 0):
            raise IndexStoreError(src, "/vpdq/offsets do not partition the frames")
        for key in ("vpdq/quality", "vpdq/timestamps", "vpdq/frame_numbers"):
            if a[key].shape[0] != frames:
                raise IndexStoreError(src, f"/{key} has {a[key].shape[0]} rows for {frames} frames")
        if frames != self.record.frames:
            raise IndexStoreError(src, f"segment holds {frames} frame hashes, the manifest records {self.record.frames}")
        self._check_blob(src, a, "vpdq/meta", m)
        self.arrays = a
        # frame -> entry row, for the range search merge
        counts = np.diff(off)
        self.frame_entry = np.repeat(a["vpdq/entry"], counts).astype(np.int32)

    def _check_blob(self, src: str, a: dict[str, np.ndarray], kind: str, m: int) -> None:
        off = a[f"{kind}/offsets"]
        size = self._h5[f"{kind}/data"].shape[0]
        if off.size != m + 1 or a[f"{kind}/crc"].size != m or off[0] != 0 or off[-1] != size or np.any(np.diff(off) < 0):
            raise IndexStoreError(src, f"/{kind} offsets or checksums do not fit its data ({m} rows, {size} bytes)")

    def close(self) -> None:
        try:
            self._h5.close()
        except Exception:  # noqa: BLE001 - closing a damaged file must not mask the first error
            pass

    # -- blobs ------------------------------------------------------------------------------------
    def blob(self, kind: str, k: int) -> bytes:
        """Bytes of row ``k`` of blob ``kind``, checked against its crc32."""
        off = self.arrays[f"{kind}/offsets"]
        lo, hi = int(off[k]), int(off[k + 1])
        try:
            raw = self._h5[f"{kind}/data"][lo:hi].tobytes()
        except (OSError, ValueError) as exc:
            raise IndexStoreError(str(self.path), f"cannot read /{kind}/data: {exc}") from None
        if zlib.crc32(raw) != int(self.arrays[f"{kind}/crc"][k]):
            raise IndexStoreError(str(self.path), f"/{kind}/data row {k} checksum mismatch (damaged file)")
        return raw

    def metadata(self, row: int) -> dict[str, Any]:
        return json.loads(self.blob("metadata", row))

    def compact(self, k: int) -> CompactDescriptor:
        try:
            return CompactDescriptor.from_bytes(self.blob("compact", k), source=f"{self.path}:/compact[{k}]")
        except HashFileError as exc:
            raise IndexStoreError(str(self.path), f"compact descriptor {k}: {exc.reason}") from None

    def tmk(self, k: int) -> TMKDescriptor:
        import io
        try:
            return read_tmk(io.BytesIO(self.blob("tmk", k)))
        except HashFileError as exc:
            raise IndexStoreError(str(self.path), f"reference TMK descriptor {k}: {exc.reason}") from None

    def vpdq(self, k: int, source: str | None = None) -> VPDQHash:
        a = self.arrays
        lo, hi = int(a["vpdq/offsets"][k]), int(a["vpdq/offsets"][k + 1])
        meta = json.loads(self.blob("vpdq/meta", k))
        size = tuple(meta["size"]) if meta.get("size") else None
        return VPDQHash(a["vpdq/words"][lo:hi], a["vpdq/quality"][lo:hi].astype(np.int32),
                        a["vpdq/frame_numbers"][lo:hi].astype(np.int64), a["vpdq/timestamps"][lo:hi],
                        fps=meta.get("fps"), every_seconds=meta.get("every_seconds"), size=size,
                        pruned=meta.get("pruned"), source=source)
