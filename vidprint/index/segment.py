"""Immutable HDF5 segment files: one per committed batch (or per compaction).

Layout of a segment (``N`` entries; per kind, ``M`` entries that have it; ``F`` vPDQ frames)::

    /                 attrs format="vidprint-index-segment", version=1
    /ids              blob: UTF-8 ids joined by NUL (uint8), ids never contain NUL
    /metadata/{data,offsets,crc}   JSON object per entry (uint8 blob, int64[N+1], crc32 uint32[N])
    /compact/entry    int32[M]  entry row of each compact descriptor
    /compact/level1   int8[M, 128]  level-1 codes (the prefilter scan matrix)
    /compact/{data,offsets,crc}    CompactDescriptor.to_bytes() per entry (level 2 for confirmation)
    /content/entry    int32[D]  entry row of each content-area descriptor that differs from the entry's
                      compact one (the video had letterbox / pillarbox bars, vidprint.tmk.bars)
    /content/level1   int8[D, 128]  their level-1 codes (a second, small prefilter scan matrix)
    /content/{data,offsets,crc}    their CompactDescriptor.to_bytes()
    /content/same     int32[S]  entry rows whose content-area descriptor equals the compact one
                      (no bars: nothing more is stored); an entry in neither list has no
                      content-area descriptor (only the whole frame is compared, as for
                      fingerprints written before it existed)
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

The ``/content`` group is optional: segments written before it existed lack it and read as holding
no content-area descriptors. It is additive (a reader that predates it ignores it and compares the
whole frame only, which is what it always did), so the segment version stays 1.

The ``/views`` group (zoom views of the compact descriptor, :mod:`vidprint.tmk.views`) is optional
and additive in the same way; ``V`` rows, sorted by entry row then view:

    /views/entry      int32[V]  entry row of each view descriptor (a compact entry; non-decreasing)
    /views/view       uint8[V]  which view: an index into :data:`INDEX_VIEWS` ("c90", "c80", "c95")
    /views/level1     int8[V, 128]  their level-1 codes (extra prefilter rows pointing at the entry)
    /views/{data,offsets,crc}      their CompactDescriptor.to_bytes()

An entry without rows there has no view descriptors (added from a fingerprint without them).

The ``/vpdq_content`` group (content-area frame hashes, ``Fingerprint.vpdq_content``: letterbox /
pillarbox bars cut) is optional and additive in the same way; it holds only the entries whose video
had bars (``K`` of them, ``G`` frames), frame for frame with their ``/vpdq`` rows:

    /vpdq_content/entry    int32[K]  entry row (a vPDQ entry; increasing)
    /vpdq_content/offsets  int64[K+1]  frame range of each; each range as long as the entry's /vpdq one
    /vpdq_content/words    uint64[G, 4]  PDQ hashes of the content areas (a frame without bars: its own)
    /vpdq_content/quality  uint8[G]

Timestamps, frame numbers and the per-entry metadata are the entry's ``/vpdq`` ones.
"""
from __future__ import annotations

import hashlib
import json
import os
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

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
_BLOBS = ("metadata", "compact", "content", "tmk", "vpdq/meta")


@dataclass(frozen=True)
class Record:
    """One entry to write: an id, a metadata dict and any subset of the three fingerprints, plus the
    content-area compact descriptor (``compact_content``; the same object as ``compact`` when the
    video had no bars, None when unknown)."""

    id: str
    metadata: dict[str, Any]
    compact: CompactDescriptor | None
    tmk: TMKDescriptor | None
    vpdq: VPDQHash | None
    compact_content: CompactDescriptor | None = None
    #: The zoom views (``Fingerprint.compact_views``); only :data:`INDEX_VIEWS` are stored.
    compact_views: Mapping[str, CompactDescriptor] | None = None
    #: Content-area frame hashes (``Fingerprint.vpdq_content``), frame for frame with ``vpdq``; None
    #: when the video had no bars (or was added without them).
    vpdq_content: VPDQHash | None = None


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

    same = [i for i in rows if _content_state(records[i]) == "same"]
    rows = [i for i in rows if _content_state(records[i]) == "differs"]
    out["content/entry"] = np.array(rows, dtype=np.int32)
    out["content/level1"] = np.array([records[i].compact_content.level1_int8 for i in rows],
                                     dtype=np.int8).reshape(-1, LEVEL1_DIM)
    out["content/data"], out["content/offsets"], out["content/crc"] = _blob(
        [records[i].compact_content.to_bytes() for i in rows])
    out["content/same"] = np.array(same, dtype=np.int32)

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
    out.update(_view_arrays(records))
    out.update(_vpdq_content_arrays(records))
    return out


def _vpdq_content_arrays(records: Sequence[Record]) -> dict[str, np.ndarray]:
    """The ``/vpdq_content`` datasets of ``records`` (module docstring)."""
    rows = [i for i, r in enumerate(records) if r.vpdq is not None and r.vpdq_content is not None]
    for i in rows:
        if len(records[i].vpdq_content) != len(records[i].vpdq):
            raise ValueError(f"entry {records[i].id!r}: {len(records[i].vpdq_content)} content-area frame hashes "
                             f"for {len(records[i].vpdq)} frames")
    vs = [records[i].vpdq_content for i in rows]
    off = np.zeros(len(vs) + 1, dtype=np.int64)
    off[1:] = np.cumsum([len(v) for v in vs]) if vs else []
    return {"vpdq_content/entry": np.array(rows, dtype=np.int32), "vpdq_content/offsets": off,
            "vpdq_content/words": (np.concatenate([v.words for v in vs]).astype(np.uint64) if vs
                                   else np.zeros((0, 4), np.uint64)).reshape(-1, 4),
            "vpdq_content/quality": (np.concatenate([np.clip(v.quality, 0, 255) for v in vs]).astype(np.uint8)
                                     if vs else np.zeros(0, np.uint8))}


# -- views of the compact descriptor (vidprint.tmk.views) ------------------------------------------
#: The views an index stores, as extra level-1 rows of their entry: the centred zoom views (a query
#: that is a centred crop of a stored video matches them; vidprint.matching.whole_evidence).
INDEX_VIEWS = ("c90", "c80", "c95")  # part of the format: codes index this tuple, append only
_VIEW_KEYS = ("views/entry", "views/view", "views/level1", "views/offsets", "views/crc")


def _view_arrays(records: Sequence[Record]) -> dict[str, np.ndarray]:
    """The ``/views`` datasets of ``records`` (module docstring)."""
    rows = [(i, v, r.compact_views[name]) for i, r in enumerate(records)
            if r.compact is not None and r.compact_views
            for v, name in enumerate(INDEX_VIEWS) if name in r.compact_views]
    out = {"views/entry": np.array([i for i, _, _ in rows], dtype=np.int32),
           "views/view": np.array([v for _, v, _ in rows], dtype=np.uint8),
           "views/level1": np.array([d.level1_int8 for _, _, d in rows], dtype=np.int8).reshape(-1, LEVEL1_DIM)}
    out["views/data"], out["views/offsets"], out["views/crc"] = _blob([d.to_bytes() for _, _, d in rows])
    return out


def _content_state(r: Record) -> str | None:
    """"same" (content area = whole frame), "differs", or None (no content-area descriptor)."""
    c, x = r.compact, r.compact_content
    if c is None or x is None:
        return None
    return "same" if x is c or x == c else "differs"


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
    "content/entry": (np.int32, None), "content/level1": (np.int8, LEVEL1_DIM),
    "content/offsets": (np.int64, None), "content/crc": (np.uint32, None), "content/same": (np.int32, None),
    "tmk/entry": (np.int32, None), "tmk/average": (np.float32, TMK_DIM),
    "tmk/offsets": (np.int64, None), "tmk/crc": (np.uint32, None),
    "vpdq/entry": (np.int32, None), "vpdq/offsets": (np.int64, None), "vpdq/words": (np.uint64, 4),
    "vpdq/quality": (np.uint8, None), "vpdq/timestamps": (np.float64, None),
    "vpdq/frame_numbers": (np.int32, None),
    "vpdq/meta/offsets": (np.int64, None), "vpdq/meta/crc": (np.uint32, None),
}
_BLOB_DATA = ("metadata/data", "compact/data", "content/data", "tmk/data", "vpdq/meta/data")
#: Datasets a segment written before the content-area view lacks (read as empty).
_OPTIONAL = frozenset({"content/entry", "content/level1", "content/offsets", "content/crc", "content/same",
                       "content/data"})


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
            self._blob_data: dict[str, Any] = {}  # kind -> its /data dataset (a lookup costs ~0.1 ms)
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
        self.has_content = "content" in f
        for key, (dt, dim) in _SPEC.items():
            if key not in f and key in _OPTIONAL and not self.has_content:
                a[key] = np.zeros((1,) if key == "content/offsets" else ((0, dim) if dim else (0,)), dtype=dt)
                continue
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
            if key in _OPTIONAL and not self.has_content:
                continue
            if key not in f or f[key].dtype != np.uint8 or f[key].ndim != 1:
                raise IndexStoreError(src, f"dataset /{key} is missing or not uint8[n]")
        text = a["ids"].tobytes().decode("utf-8", "strict")
        self.ids: list[str] = text.split("\0") if self.record.entries else []
        n = len(self.ids)
        if n != self.record.entries:
            raise IndexStoreError(src, f"segment holds {n} ids, the manifest records {self.record.entries}")
        self._check_blob(src, a, "metadata", n)
        for kind in ("compact", "content", "tmk", "vpdq"):
            e = a[f"{kind}/entry"]
            if e.size and (e.min() < 0 or e.max() >= n or np.any(np.diff(e) <= 0)):
                raise IndexStoreError(src, f"/{kind}/entry rows out of range or unsorted")
        m = a["compact/entry"].size
        if a["compact/level1"].shape[0] != m:
            raise IndexStoreError(src, "/compact/level1 and /compact/entry differ in length")
        self._check_blob(src, a, "compact", m)
        m = a["content/entry"].size
        if a["content/level1"].shape[0] != m:
            raise IndexStoreError(src, "/content/level1 and /content/entry differ in length")
        if self.has_content:
            self._check_blob(src, a, "content", m)
        has_compact = np.zeros(n, dtype=bool)
        has_compact[a["compact/entry"]] = True
        same = a["content/same"]
        if same.size and (same.min() < 0 or same.max() >= n or np.any(np.diff(same) <= 0)):
            raise IndexStoreError(src, "/content/same rows out of range or unsorted")
        if not (has_compact[a["content/entry"]].all() and has_compact[same].all()) or \
                np.intersect1d(a["content/entry"], same).size:
            raise IndexStoreError(src, "/content rows must be compact entries, each in one list only")
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
        self._load_views(src, a, n)
        self._load_vpdq_content(src, a)
        self.arrays = a
        # frame -> entry row, for the range search merge
        counts = np.diff(off)
        self.frame_entry = np.repeat(a["vpdq/entry"], counts).astype(np.int32)
        self.content_frame_entry = np.repeat(a["vpdq_content/entry"],
                                             np.diff(a["vpdq_content/offsets"])).astype(np.int32)

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
            data = self._blob_data.get(kind)
            if data is None:
                data = self._blob_data[kind] = self._h5[f"{kind}/data"]
            raw = data[lo:hi].tobytes()
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

    def content(self, k: int) -> CompactDescriptor:
        """Content-area descriptor ``k`` (a row of ``/content/entry``)."""
        try:
            return CompactDescriptor.from_bytes(self.blob("content", k), source=f"{self.path}:/content[{k}]")
        except HashFileError as exc:
            raise IndexStoreError(str(self.path), f"content-area descriptor {k}: {exc.reason}") from None

    def _load_views(self, src: str, a: dict[str, np.ndarray], n: int) -> None:
        """Read and check the optional ``/views`` group into ``a`` (empty when absent)."""
        self.has_views = "views" in self._h5
        self.views_nsq = np.zeros(0, np.int32)  # squared norms of /views/level1 (the prefilter's)
        if not self.has_views:
            a.update({"views/entry": np.zeros(0, np.int32), "views/view": np.zeros(0, np.uint8),
                      "views/level1": np.zeros((0, LEVEL1_DIM), np.int8), "views/offsets": np.zeros(1, np.int64),
                      "views/crc": np.zeros(0, np.uint32)})
            return
        spec = {"views/entry": (np.int32, None), "views/view": (np.uint8, None), "views/level1": (np.int8, LEVEL1_DIM),
                "views/offsets": (np.int64, None), "views/crc": (np.uint32, None)}
        self._read_group(src, spec, a)
        d = self._h5.get("views/data")
        if d is None or d.dtype != np.uint8 or d.ndim != 1:
            raise IndexStoreError(src, "dataset /views/data is missing or not uint8[n]")
        e, v = a["views/entry"], a["views/view"]
        if not (e.size == v.size == a["views/level1"].shape[0]):
            raise IndexStoreError(src, "/views datasets differ in length")
        self._check_blob(src, a, "views", e.size)
        has_compact = np.zeros(n, dtype=bool)
        has_compact[a["compact/entry"]] = True
        key = e.astype(np.int64) * 256 + v
        if e.size and (e.min() < 0 or e.max() >= n or v.max() >= len(INDEX_VIEWS) or np.any(np.diff(key) <= 0)
                       or not has_compact[e].all()):
            raise IndexStoreError(src, "/views rows out of range, unsorted, repeated or not compact entries")
        self.views_nsq = np.einsum("ij,ij->i", a["views/level1"].astype(np.int32), a["views/level1"].astype(np.int32))

    def _read_group(self, src: str, spec: Mapping[str, tuple[type, int | None]], a: dict[str, np.ndarray]) -> None:
        """Read the hot datasets ``spec`` (key -> (dtype, second dimension or None)) of an optional
        group into ``a``, checking dtype, shape and the sha256 the manifest records for each."""
        for key, (dt, dim) in spec.items():
            ds = self._h5.get(key)
            if ds is None or ds.dtype != np.dtype(dt) or ds.ndim != (1 if dim is None else 2) or \
                    (dim is not None and ds.shape[1] != dim):
                raise IndexStoreError(src, f"dataset /{key} is missing or has the wrong dtype or shape")
            arr = ds[()] if ds.size else np.zeros(ds.shape, dtype=dt)
            want = self.record.datasets.get(key)
            if want is None or array_digest(arr) != want:
                raise IndexStoreError(src, f"dataset /{key} checksum differs from the manifest (damaged file)")
            a[key] = arr

    def _load_vpdq_content(self, src: str, a: dict[str, np.ndarray]) -> None:
        """Read and check the optional ``/vpdq_content`` group into ``a`` (empty when absent)."""
        spec = {"vpdq_content/entry": (np.int32, None), "vpdq_content/offsets": (np.int64, None),
                "vpdq_content/words": (np.uint64, 4), "vpdq_content/quality": (np.uint8, None)}
        if "vpdq_content" not in self._h5:
            a.update({"vpdq_content/entry": np.zeros(0, np.int32), "vpdq_content/offsets": np.zeros(1, np.int64),
                      "vpdq_content/words": np.zeros((0, 4), np.uint64), "vpdq_content/quality": np.zeros(0, np.uint8)})
            return
        self._read_group(src, spec, a)
        e, off, frames = a["vpdq_content/entry"], a["vpdq_content/offsets"], a["vpdq_content/words"].shape[0]
        if off.size != e.size + 1 or off[0] != 0 or off[-1] != frames or np.any(np.diff(off) < 0) \
                or a["vpdq_content/quality"].shape[0] != frames:
            raise IndexStoreError(src, "/vpdq_content/offsets do not partition its frames")
        # each a vPDQ entry, in order, with as many content-area hashes as frames
        k = np.searchsorted(a["vpdq/entry"], e)
        ok = k < a["vpdq/entry"].size
        ok[ok] = a["vpdq/entry"][k[ok]] == e[ok]
        if not ok.all() or np.any(np.diff(e) <= 0):
            raise IndexStoreError(src, "/vpdq_content rows out of range, unsorted or not vPDQ entries")
        if not np.array_equal(np.diff(off), np.diff(a["vpdq/offsets"])[k]):
            raise IndexStoreError(src, "/vpdq_content frame counts differ from the entries' /vpdq ones")

    def vpdq_content(self, row: int, plain: VPDQHash) -> VPDQHash | None:
        """The content-area frame hashes of entry ``row``, whose plain hashes are ``plain`` (timestamps,
        frame numbers and metadata are shared), or None (the video had no bars)."""
        a = self.arrays
        e = a["vpdq_content/entry"]
        j = int(np.searchsorted(e, row))
        if j == e.size or e[j] != row:
            return None
        lo, hi = int(a["vpdq_content/offsets"][j]), int(a["vpdq_content/offsets"][j + 1])
        return replace(plain, words=a["vpdq_content/words"][lo:hi],
                       quality=a["vpdq_content/quality"][lo:hi].astype(np.int32))

    def views(self, row: int) -> dict[str, CompactDescriptor] | None:
        """The stored view descriptors of entry ``row`` (``{"c95": ..., "c90": ..., "c80": ...}``), or None
        when it has none."""
        e = self.arrays["views/entry"]
        lo, hi = np.searchsorted(e, row, "left"), np.searchsorted(e, row, "right")
        if lo == hi:
            return None
        out = {}
        for k in range(int(lo), int(hi)):
            name = INDEX_VIEWS[int(self.arrays["views/view"][k])]
            try:
                out[name] = CompactDescriptor.from_bytes(self.blob("views", k), source=f"{self.path}:/views[{k}]")
            except HashFileError as exc:
                raise IndexStoreError(str(self.path), f"view descriptor {k}: {exc.reason}") from None
        return out

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
