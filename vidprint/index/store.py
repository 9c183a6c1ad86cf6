"""The :class:`Index`: a folder of immutable segments, a manifest, a writer lock (see the package docstring)."""
from __future__ import annotations

import os
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from vidprint.errors import IndexStoreError, InvalidArgumentError
from vidprint.tmk import CompactDescriptor, TMKDescriptor, level1_many
from vidprint.tmk.mirror import mirror_compact, mirror_tmk
from vidprint.tmk.views import ACTIVE_VIEW, CENTRE_VIEW
from vidprint.vpdq import VPDQHash

from vidprint.index import manifest as mf
from vidprint.index import prefilter
from vidprint.matching import CONTENT_VARIANT, Thresholds, clip_evidence, explain, whole_evidence_many
from vidprint.index.hamming import HashTable
from vidprint.index.lock import WriterLock
from vidprint.index.match import Match
from vidprint.index.segment import Record, SegmentReader, write_segment

#: The prefilter keeps level-1 scores down to ``threshold - PREFILTER_SLACK`` (f32 scan vs f64
#: confirmation), so it never drops a pair that confirmation would accept.
PREFILTER_SLACK = 1e-4
#: Whole-video candidates confirmed together (their descriptors and views, ~80 KB each, read per chunk).
_CONFIRM_CHUNK = 256
_SHIFT = 32
_MASK = (1 << _SHIFT) - 1
#: ``verify="auto"`` hashes whole segment files at open when they total at most this many bytes.
AUTO_FULL_VERIFY_BYTES = 1 << 30


@dataclass(frozen=True, eq=False)
class Entry:
    """One indexed video. Any of ``compact``, ``reference`` and ``vpdq`` may be None.

    ``compact_content``: the content-area compact descriptor (letterbox / pillarbox bars cut,
    ``Fingerprint.compact_content``): the same object as ``compact`` when the video had no bars, None
    when the entry was added without one (older fingerprints, imported hash lists).

    ``compact_views``: the stored zoom views (``{"c95": ..., "c90": ..., "c80": ...}``, ``Fingerprint.compact_views``
    restricted to :data:`vidprint.index.segment.INDEX_VIEWS`), None when added without them.

    ``vpdq_content``: the content-area frame hashes (``Fingerprint.vpdq_content``, frame for frame with
    ``vpdq``), None when the video had no bars or was added without them."""

    id: str
    metadata: dict[str, Any]
    compact: CompactDescriptor | None
    reference: TMKDescriptor | None
    vpdq: VPDQHash | None
    vpdq_dihedral: dict[str, np.ndarray] | None = None
    compact_content: CompactDescriptor | None = None
    compact_views: Mapping[str, CompactDescriptor] | None = None
    vpdq_content: VPDQHash | None = None

    @property
    def tmk(self) -> TMKDescriptor | None:  # Fingerprint's name for the reference descriptor
        return self.reference


@dataclass
class _Seg:
    """A loaded segment plus the per-snapshot state derived from it."""

    reader: SegmentReader
    alive: np.ndarray  # bool[N]
    table: HashTable | None = None  # built on first clip query
    content_table: HashTable | None = None  # of /vpdq_content, built on first clip query with th.bars
    compact_alive: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    tmk_alive: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    compact_nsq: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # squared norms of level 1
    content_alive: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    content_nsq: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    content_same: frozenset = frozenset()  # entry rows whose content-area descriptor is the compact one
    rows: dict[str, dict[int, int]] = field(default_factory=dict)  # kind -> entry row -> kind row

    def kind_row(self, kind: str, row: int) -> int | None:
        if kind not in self.rows:
            e = self.reader.arrays[f"{kind}/entry"]
            self.rows[kind] = {int(r): k for k, r in enumerate(e)}
        return self.rows[kind].get(row)


def _as_record(item: Any, default_id: str | None = None, metadata: dict | None = None) -> Record:
    """A Fingerprint / Entry / (fp, id, metadata) tuple -> a segment Record."""
    if isinstance(item, tuple):
        fp, rid, meta = (list(item) + [None, None])[:3]
        return _as_record(fp, rid, meta)
    compact = getattr(item, "compact", None)
    content = getattr(item, "compact_content", None) if compact is not None else None
    tmk = getattr(item, "reference", None) if isinstance(item, Entry) else getattr(item, "tmk", None)
    vpdq = getattr(item, "vpdq", None)
    vpdq_content = getattr(item, "vpdq_content", None) if vpdq is not None else None
    if compact is None and tmk is None and vpdq is None:
        raise InvalidArgumentError("fingerprint", f"{type(item).__name__} has no compact, reference TMK or vPDQ hashes")
    rid = default_id if default_id is not None else (item.id if isinstance(item, Entry) else getattr(item, "content_id", None))
    if not rid:
        raise InvalidArgumentError("id", "no id given and the fingerprint has no content_id "
                                         "(fingerprint a file path or bytes, or pass id=)")
    meta: dict[str, Any] = {}
    info = getattr(item, "info", None)
    if info is not None:  # only facts about the video, never the source path
        if getattr(info, "fps", None):
            meta["fps"] = float(info.fps)
        if getattr(info, "duration_s", None):
            meta["duration_s"] = float(info.duration_s)
    if getattr(item, "decoded_frames", None):
        meta["frames"] = int(item.decoded_frames)
    if isinstance(item, Entry):
        meta.update(item.metadata)
    meta.update(metadata or {})
    if vpdq is not None and vpdq.source is not None:
        vpdq = replace(vpdq, source=None)  # VPDQHash.source is often a path
    if vpdq_content is not None and len(vpdq_content) != len(vpdq):
        raise InvalidArgumentError("fingerprint", f"{len(vpdq_content)} content-area frame hashes for "
                                                  f"{len(vpdq)} vPDQ frames")
    return Record(str(rid), meta, compact, tmk, vpdq, content,
                  compact_views=getattr(item, "compact_views", None) if compact is not None else None,
                  vpdq_content=vpdq_content)


class Index:
    """A crash-safe fingerprint index in a folder (see :mod:`vidprint.index`).

    Use :meth:`create` or :meth:`open`; both return an object usable as a context manager. A reader
    (``mode="r"``) sees the snapshot committed when it opened (:meth:`refresh` moves to the latest);
    a writer (``mode="a"``) holds the folder's lock until :meth:`close`.
    """

    def __init__(self, folder: Path, mode: str, lock: WriterLock | None, verify: str):
        self.path = folder
        self.mode = mode
        self._lock = lock
        self._verify = verify
        self._segs: list[_Seg] = []
        self._live: dict[str, int] = {}  # id -> segment << 32 | row
        self._manifest = mf.Manifest(0, (), {})
        self._closed = False

    # -- life cycle -----------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike, *, exist_ok: bool = False) -> "Index":
        """Create an empty index folder and open it for writing."""
        folder = Path(path)
        if (folder / mf.MANIFEST_NAME).exists():
            if exist_ok:
                return cls.open(folder, "a")
            raise IndexStoreError(str(folder), "an index already exists here")
        if folder.exists() and any(p for p in folder.iterdir() if p.name != "LOCK"):
            raise IndexStoreError(str(folder), "folder exists and is not empty")
        folder.mkdir(parents=True, exist_ok=True)
        lock = WriterLock(folder)
        try:
            mf.write(folder, mf.Manifest(0, (), {}))
            mf.fsync_dir(folder.parent if folder.parent != folder else folder)
        except BaseException:
            lock.release()
            raise
        ix = cls(folder, "a", lock, "fast")
        return ix

    @classmethod
    def open(cls, path: str | os.PathLike, mode: str = "r", *, verify: str = "auto") -> "Index":
        """Open an index. ``mode``: ``"r"`` read a snapshot, ``"a"`` write (takes the lock).

        ``verify``: ``"full"`` checks the sha256 of every segment file, ``"fast"`` the sizes, layout,
        dtypes and the sha256 of every dataset read at open (per-entry crc32 on the rest when read),
        ``"auto"`` full up to 1 GiB of segments, else fast.
        """
        if mode not in ("r", "a"):
            raise InvalidArgumentError("mode", f"mode must be 'r' or 'a', got {mode!r}")
        if verify not in ("auto", "full", "fast"):
            raise InvalidArgumentError("verify", f"verify must be 'auto', 'full' or 'fast', got {verify!r}")
        folder = Path(path)
        if not folder.is_dir():
            raise IndexStoreError(str(folder), "no such index folder")
        lock = WriterLock(folder) if mode == "a" else None
        ix = cls(folder, mode, lock, verify)
        try:
            ix._load()
            if lock is not None:
                ix._remove_orphans()
        except BaseException:
            ix.close()
            raise
        return ix

    def close(self) -> None:
        for s in self._segs:
            s.reader.close()
        self._segs = []
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        self._closed = True

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            if not self._closed:
                self.close()
        except Exception:  # noqa: BLE001
            pass

    def refresh(self) -> None:
        """Move a reader to the latest committed snapshot."""
        self._check_open()
        self._load()

    # -- loading --------------------------------------------------------------------------------
    def _load(self) -> None:
        """Read the manifest and open its segments. A compaction may delete the segments of the
        manifest just read; then the manifest is read again."""
        last: Exception | None = None
        for _ in range(20):
            m = mf.read(self.path)
            old = {s.reader.record.file: s.reader for s in self._segs}
            full = self._verify == "full" or (self._verify == "auto" and sum(r.bytes for r in m.segments) <= AUTO_FULL_VERIFY_BYTES)
            readers: list[SegmentReader] = []
            try:
                for rec in m.segments:
                    r = old.pop(rec.file, None)
                    if r is not None and r.record == rec:
                        readers.append(r)
                        continue
                    readers.append(SegmentReader(self.path, rec, full_verify=full))
            except IndexStoreError as exc:
                for r in readers:
                    if r.record.file not in {s.reader.record.file for s in self._segs}:
                        r.close()
                if "missing" in exc.reason and mf.read(self.path).generation != m.generation:
                    last = exc
                    time.sleep(0.01)
                    continue
                raise
            for r in old.values():
                r.close()
            self._install(m, readers)
            return
        raise last  # type: ignore[misc]

    def _install(self, m: mf.Manifest, readers: list[SegmentReader]) -> None:
        old_segs = {s.reader.record.file: s for s in self._segs}
        segs: list[_Seg] = []
        live: dict[str, int] = {}  # id -> segment << 32 | row (ints: a third of the memory of tuples)
        tomb = m.tombstones
        for si, r in enumerate(readers):
            seq = r.record.seq
            alive = np.ones(len(r.ids), dtype=bool)
            seg_map = dict(zip(r.ids, range(si << _SHIFT, (si << _SHIFT) + len(r.ids))))
            if len(seg_map) != len(r.ids):  # an id twice in one segment: the first row wins
                seg_map = {}
                for row, rid in enumerate(r.ids):
                    if rid in seg_map:
                        alive[row] = False
                    else:
                        seg_map[rid] = (si << _SHIFT) + row
            dead = [rid for rid, g in tomb.items() if g >= seq and rid in seg_map]
            dead += [rid for rid in (seg_map.keys() & live.keys()) if rid not in dead]  # earlier copy wins
            for rid in dead:
                alive[seg_map.pop(rid) & _MASK] = False
            live.update(seg_map)
            old = old_segs.get(r.record.file)
            s = _Seg(r, alive, old.table if old else None, old.content_table if old else None)
            s.compact_nsq = old.compact_nsq if old else prefilter.norms_sq(r.arrays["compact/level1"])
            s.compact_alive = alive[r.arrays["compact/entry"]]
            s.content_nsq = old.content_nsq if old else prefilter.norms_sq(r.arrays["content/level1"])
            s.content_alive = alive[r.arrays["content/entry"]]
            s.content_same = old.content_same if old else frozenset(r.arrays["content/same"].tolist())
            s.tmk_alive = alive[r.arrays["tmk/entry"]]
            segs.append(s)
        self._manifest, self._segs, self._live = m, segs, live

    def _remove_orphans(self) -> None:
        """Delete segment files no manifest lists (left by a writer killed before its commit)."""
        keep = {r.file for r in self._manifest.segments}
        for p in self.path.iterdir():
            n = p.name
            if (n.startswith("seg-") and n.endswith(".h5") and n not in keep) or \
               (n.startswith(".seg-") and n.endswith(".tmp")) or (n.startswith(f".{mf.MANIFEST_NAME}.") and n.endswith(".tmp")):
                try:
                    p.unlink()
                except FileNotFoundError:
                    pass

    def _check_open(self, write: bool = False) -> None:
        if self._closed:
            raise IndexStoreError(str(self.path), "index is closed")
        if write and self._lock is None:
            raise IndexStoreError(str(self.path), "index is open read-only (open with mode='a' to write)")

    # -- reading --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, id: object) -> bool:
        return id in self._live

    def ids(self) -> list[str]:
        """Ids of the live entries, in commit order."""
        return list(self._live)

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids())

    @property
    def generation(self) -> int:
        return self._manifest.generation

    def _locate(self, id: str) -> tuple[int, int]:
        """(segment, row) of the live entry ``id``; KeyError if absent."""
        self._check_open()
        try:
            return divmod(self._live[id], 1 << _SHIFT)
        except KeyError:
            raise KeyError(id) from None

    def metadata(self, id: str) -> dict[str, Any]:
        """The metadata of entry ``id`` alone (no fingerprint is read); KeyError if absent."""
        si, row = self._locate(id)
        return self._segs[si].reader.metadata(row)

    def get(self, id: str) -> Entry:
        """The entry ``id`` with its metadata and fingerprints; KeyError if absent."""
        return self._entry(*self._locate(id))

    def _entry(self, si: int, row: int, kinds: Sequence[str] = ("compact", "tmk", "vpdq")) -> Entry:
        s = self._segs[si]
        r = s.reader
        got: dict[str, Any] = {"compact": None, "tmk": None, "vpdq": None}
        for kind in kinds:
            k = s.kind_row(kind, row)
            if k is not None:
                got[kind] = getattr(r, kind)(k)
        content = self._content(s, row, got["compact"]) if "compact" in kinds else None
        return Entry(r.ids[row], r.metadata(row), got["compact"], got["tmk"], got["vpdq"], compact_content=content,
                     compact_views=r.views(row) if got["compact"] is not None else None,
                     vpdq_content=r.vpdq_content(row, got["vpdq"]) if got["vpdq"] is not None else None)

    @staticmethod
    def _content(s: _Seg, row: int, compact: CompactDescriptor | None) -> CompactDescriptor | None:
        """The content-area descriptor of entry ``row``: its own, the compact one (no bars), or None."""
        if compact is None:
            return None
        if row in s.content_same:
            return compact
        k = s.kind_row("content", row)
        return s.reader.content(k) if k is not None else None

    def info(self) -> dict[str, Any]:
        """Counts and sizes: entries, per-kind counts (``with_bars``: entries whose content-area
        descriptor differs from the whole frame's), frame hashes, segments, bytes on disk."""
        n = {"compact": 0, "reference": 0, "vpdq": 0, "content": 0}
        frames = 0
        for s in self._segs:
            a = s.reader.arrays
            n["compact"] += int(s.compact_alive.sum())
            n["content"] += int(s.content_alive.sum())
            n["reference"] += int(s.tmk_alive.sum())
            va = s.alive[a["vpdq/entry"]]
            n["vpdq"] += int(va.sum())
            counts = np.diff(a["vpdq/offsets"])
            frames += int(counts[va].sum())
        return {"path": str(self.path), "generation": self.generation, "entries": len(self),
                "with_compact": n["compact"], "with_reference": n["reference"], "with_vpdq": n["vpdq"],
                "with_bars": n["content"],  # a content-area descriptor that differs from the whole frame
                "frame_hashes": frames, "segments": len(self._segs), "tombstones": len(self._manifest.tombstones),
                "bytes": sum(r.bytes for r in self._manifest.segments)}

    def verify(self) -> None:
        """Full check: every segment file's sha256 against the manifest; IndexStoreError if not."""
        for rec in self._manifest.segments:
            SegmentReader(self.path, rec, full_verify=True).close()

    # -- writing --------------------------------------------------------------------------------
    def add(self, fp: Any, id: str | None = None, metadata: dict[str, Any] | None = None) -> str:
        """Add one video (a Fingerprint, or anything with ``compact`` / ``tmk`` / ``vpdq``) as one
        commit; returns its id (default: ``fp.content_id``). An id already present is kept as is."""
        return self.add_many([(fp, id, metadata)])[0]

    def add_many(self, items: Iterable[Any]) -> list[str]:
        """Add many videos in one commit (one new segment); returns their ids in order.

        ``items``: Fingerprints or ``(fingerprint, id, metadata)`` tuples. Ids already in the index, and
        repeats inside ``items``, are not stored again (the first copy stays).
        """
        self._check_open(write=True)
        records = [_as_record(it) for it in items]
        ids = [r.id for r in records]
        seen: set[str] = set()
        fresh: list[Record] = []
        for r in records:
            if r.id in self._live or r.id in seen:
                continue
            seen.add(r.id)
            fresh.append(r)
        if fresh:
            self._commit(fresh, drop_all=False)
        return ids

    def _commit(self, records: Sequence[Record], drop_all: bool, tombstones: Iterable[str] = ()) -> None:
        """One commit: an optional new segment holding ``records`` and tombstones for ``tombstones``
        (applied to the existing segments only: the new segment gets a later generation)."""
        m = self._manifest
        tombstones = list(tombstones)
        tomb_gen = m.generation + 1
        gen = tomb_gen + (1 if tombstones and records else 0)
        segs = [] if drop_all else list(m.segments)
        if records:
            name = f"seg-{gen:08d}-{secrets.token_hex(4)}.h5"
            segs.append(write_segment(self.path, name, gen, records))
        tomb = {} if drop_all else dict(m.tombstones)
        tomb.update({i: tomb_gen for i in tombstones})
        mf.write(self.path, mf.Manifest(gen, tuple(segs), tomb))
        self._load_after_commit()

    def merge_many(self, entries: Iterable[Entry]) -> list[str]:
        """Add entries, merging into an existing entry of the same id the kinds of fingerprint it
        lacks (one commit: the old entry is replaced). Used by the hash-list imports, where a
        ``.tmk`` and a vPDQ ``.txt`` of one video arrive separately."""
        self._check_open(write=True)
        merged: dict[str, Entry] = {}
        for e in entries:
            base = merged.get(e.id)
            if base is None and e.id in self._live:
                base = self.get(e.id)
            if base is not None:
                content = base.compact_content if base.compact is not None else e.compact_content
                e = Entry(e.id, {**e.metadata, **base.metadata}, base.compact or e.compact,
                          base.reference or e.reference, base.vpdq or e.vpdq, compact_content=content,
                          compact_views=base.compact_views if base.compact is not None else e.compact_views,
                          vpdq_content=base.vpdq_content if base.vpdq is not None else e.vpdq_content)
            merged[e.id] = e
        replaced = [i for i in merged if i in self._live]
        records = [_as_record(e) for e in merged.values()]
        if records:
            self._commit(records, drop_all=False, tombstones=replaced)
        return list(merged)

    def _load_after_commit(self) -> None:
        verify, self._verify = self._verify, "fast"  # the files were just written and checksummed
        try:
            self._load()
        finally:
            self._verify = verify

    def remove(self, ids: str | Iterable[str]) -> int:
        """Remove entries (one commit of tombstones); returns how many were present."""
        self._check_open(write=True)
        ids = [ids] if isinstance(ids, str) else list(ids)
        present = sorted({i for i in ids if i in self._live})
        if present:
            self._commit([], drop_all=False, tombstones=present)
        return len(present)

    def compact(self) -> None:
        """Merge every live entry into one new segment, drop tombstones, swap the manifest, then
        delete the old segment files (readers holding them open keep their snapshot)."""
        self._check_open(write=True)
        old = [r.file for r in self._manifest.segments]
        records = []
        for rid, code in self._live.items():
            si, row = divmod(code, 1 << _SHIFT)
            e = self._entry(si, row)
            records.append(Record(rid, e.metadata, e.compact, e.reference, e.vpdq, e.compact_content,
                                  compact_views=e.compact_views, vpdq_content=e.vpdq_content))
        self._commit(records, drop_all=True)
        for name in old:
            try:
                (self.path / name).unlink()
            except FileNotFoundError:
                pass
        mf.fsync_dir(self.path)

    def import_tmk(self, folder: str | os.PathLike, metadata: dict[str, Any] | None = None) -> list[str]:
        from vidprint.index.importing import import_tmk
        return import_tmk(self, folder, metadata)

    def import_vpdq(self, folder: str | os.PathLike, metadata: dict[str, Any] | None = None) -> list[str]:
        from vidprint.index.importing import import_vpdq
        return import_vpdq(self, folder, metadata)

    # -- queries --------------------------------------------------------------------------------
    def query(self, fp: Any, *, thresholds: Thresholds | None = None, whole: bool = True, clip: bool = True,
              dihedral: bool = False, exclude: Iterable[str] = (), _cands: list | None = None) -> list[Match]:
        """Which indexed videos match ``fp`` as a whole (TMK) and/or contain part of it (vPDQ).

        ``fp``: a Fingerprint (or an :class:`Entry`). Whole video: level-1 prefilter over every
        descriptor, confirmation (level 2) of the survivors with the compact profile where both sides
        have it, else the reference profile. Clip: exact Hamming range search of the query's frame
        hashes (``thresholds.vpdq_distance``, quality ``>= thresholds.vpdq_quality`` on both sides)
        over every indexed frame hash, then alignment of each candidate video. ``dihedral``: also search
        ``fp.vpdq_dihedral`` variants; the match's segments name the transform. With
        ``thresholds.bars`` the query's content-area hashes (``fp.vpdq_content``, letterbox /
        pillarbox bars cut) are searched and aligned too, and so are the stored videos' content-area
        hashes (a stored video that had bars: the query's content areas, or its frames where it had
        none, against them), both as segment transform "content". Returns matches sorted by score,
        best first.
        """
        self._check_open()
        th = thresholds or Thresholds()
        exclude = set(exclude)
        wholes = self._whole(fp, th, _cands) if whole else {}
        clips = self._clip(fp, th, dihedral) if clip else {}
        out: list[Match] = []
        for key in set(wholes) | set(clips):
            w, c = wholes.get(key), clips.get(key)
            wm, cm = bool(w is not None and w.matched), bool(c is not None and c.matched)
            if not (wm or cm):
                continue
            si, row = key
            rid = self._segs[si].reader.ids[row]
            if rid in exclude:
                continue
            kind = "both" if wm and cm else ("whole" if wm else "clip")
            out.append(Match(rid, kind, w, c, explain(w, c), th, self._segs[si].reader.metadata(row)))
        out.sort(key=lambda m: (-m.score, m.id))
        return out

    def query_many(self, fps: Iterable[Any], **kw: Any) -> list[list[Match]]:
        """:meth:`query` for each fingerprint (same keywords); the level-1 prefilter scans the
        compact matrix once for the whole batch."""
        fps = list(fps)
        if not fps:
            return []
        th = kw.get("thresholds") or Thresholds()
        cands = self.whole_candidates_many(fps, th) if kw.get("whole", True) else [None] * len(fps)
        return [self.query(fp, _cands=c, **kw) for fp, c in zip(fps, cands)]

    # whole video: a map over segments (prefilter) and a merge (confirmation)
    def whole_candidates(self, fp: Any, th: Thresholds) -> list[tuple[int, int, str]]:
        """(segment, entry row, profile) of every live entry passing the level-1 prefilter."""
        return self.whole_candidates_many([fp], th)[0]

    def whole_candidates_many(self, fps: Sequence[Any], th: Thresholds) -> list[list[tuple[int, int, str]]]:
        """:meth:`whole_candidates` of several queries, the compact matrix scanned once for all."""
        out: list[list[tuple[int, int, str]]] = [[] for _ in fps]
        qcs = [(k, fp.compact) for k, fp in enumerate(fps) if getattr(fp, "compact", None) is not None]
        qrs = [(k, _reference(fp)) for k, fp in enumerate(fps) if _reference(fp) is not None]
        # The content-area view (whole_evidence compares content with content, th.bars): the query's
        # content-area descriptor is scanned against the small /content matrix (entries with bars) and,
        # where it differs from the query's whole-frame descriptor, against the compact matrix too
        # (entries without bars: their content area is their whole frame). A superset of what
        # confirmation can accept, so compare and a query agree.
        qxs = [(k, getattr(fps[k], "compact_content", None)) for k, _ in qcs] if th.bars else []
        qxs = [(k, x) for k, x in qxs if x is not None]
        qcs += [(k, x) for k, x in qxs if x is not fps[k].compact]
        if th.mirror:  # the mirrored query too: whole_evidence confirms in both orientations
            qcs += [(k, mirror_compact(c, "flipx")) for k, c in qcs]
            qxs += [(k, mirror_compact(x, "flipx")) for k, x in qxs]
            qrs += [(k, mirror_tmk(r, "flipx")) for k, r in qrs]
        t1 = th.compact_level1 - PREFILTER_SLACK
        view_queries = _view_queries(fps, th)  # views of the compact descriptor (vidprint.tmk.views)
        for si, s in enumerate(self._segs):
            a = s.reader.arrays
            entry = a["compact/entry"]
            has_compact = np.zeros(len(s.alive), dtype=bool)
            has_compact[entry] = True
            for queries, kind, alive, nsq in ((qcs, "compact", s.compact_alive, s.compact_nsq),
                                              (qxs, "content", s.content_alive, s.content_nsq)):
                rows_of = a[f"{kind}/entry"]
                if not queries or not rows_of.size:
                    continue
                for j, r in zip(*self._scan(a[f"{kind}/level1"], nsq, alive, [c for _, c in queries], t1)):
                    out[queries[j][0]].append((si, int(rows_of[r]), "compact"))
            self._view_candidates(view_queries, si, s, t1, out)
            if a["tmk/entry"].size:
                for k, qr in qrs:
                    # the reference profile only where the compact one is not shared by both sides
                    skip = (has_compact[a["tmk/entry"]] if getattr(fps[k], "compact", None) is not None
                            else np.zeros(a["tmk/entry"].size, dtype=bool))
                    sc = level1_many(qr.average, a["tmk/average"])
                    keep = (sc >= th.reference_level1 - PREFILTER_SLACK) & s.tmk_alive & ~skip
                    out[k].extend((si, int(r), "reference") for r in a["tmk/entry"][keep])
        return [sorted(set(o)) for o in out]  # an entry passing in both orientations is confirmed once

    def _view_candidates(self, q: _ViewQueries, si: int, s: _Seg, t1: float,
                         out: list[list[tuple[int, int, str]]]) -> None:
        """Add to ``out`` the entries of segment ``si`` whose stored zoom views (``/views`` rows,
        extra level-1 rows of their entry) pass level 1 for a query's whole frame, and whose whole
        frame passes for a query's active region: a superset of what whole_evidence's views accept."""
        a = s.reader.arrays
        for queries, kind in ((q.plain, "views"), (q.active, "compact")):
            rows_of = a[f"{kind}/entry"]
            if not queries or not rows_of.size:
                continue
            nsq = s.reader.views_nsq if kind == "views" else s.compact_nsq
            alive = s.alive[rows_of] if kind == "views" else s.compact_alive
            for j, r in zip(*self._scan(a[f"{kind}/level1"], nsq, alive, [c for _, c in queries], t1)):
                out[queries[j][0]].append((si, int(rows_of[r]), "compact"))

    @staticmethod
    def _scan(codes: np.ndarray, nsq: np.ndarray, alive: np.ndarray, queries: list[CompactDescriptor],
              t1: float) -> tuple[list[int], list[int]]:
        """(query index, matrix row) of every live row with level 1 >= ``t1`` for each query."""
        if len(queries) == 1:
            sc = prefilter.scores(codes, nsq, queries[0].level1_int8)
            rows = np.flatnonzero((sc >= t1) & alive)
            return [0] * rows.size, rows.tolist()
        qi, rows, _ = prefilter.scan_many(codes, nsq, np.array([c.level1_int8 for c in queries]), t1)
        keep = alive[rows]
        return qi[keep].tolist(), rows[keep].tolist()

    def _whole(self, fp: Any, th: Thresholds, cands: list | None = None) -> dict[tuple[int, int], Any]:
        qc = getattr(fp, "compact", None)
        q = _CompactViews(qc, getattr(fp, "compact_content", None) if qc is not None else None)
        q = replace(q, compact_views=getattr(fp, "compact_views", None) if qc is not None else None)
        qr = _reference(fp)
        cands = self.whole_candidates(fp, th) if cands is None else cands
        out = {}
        # Confirmed in chunks (bounded memory: the candidates' descriptors are read per chunk), each
        # chunk in one whole_evidence_many call per profile: the query's mirrored descriptors and
        # the compact level-2 products are computed for the chunk at once.
        for lo in range(0, len(cands), _CONFIRM_CHUNK):
            chunk = cands[lo:lo + _CONFIRM_CHUNK]
            compact = [(si, row) for si, row, profile in chunk if profile == "compact"]
            reference = [(si, row) for si, row, profile in chunk if profile != "compact"]
            # descriptors, not whole fingerprints: the prefilter already chose the profile
            seconds = []
            for si, row in compact:
                s = self._segs[si]
                c = s.reader.compact(s.kind_row("compact", row))
                seconds.append(_CompactViews(c, self._content(s, row, c) if th.bars else None,
                                             compact_views=s.reader.views(row) if th.views else None))
            evs = whole_evidence_many(q, seconds, th)
            if reference:
                evs += whole_evidence_many(qr, [self._segs[si].reader.tmk(self._segs[si].kind_row("tmk", row))
                                                for si, row in reference], th)
            for key, ev in zip(compact + reference, evs):
                if ev is not None:
                    out[key] = ev
        return out

    # clip: a map over segments (range search) and a merge (alignment per candidate video)
    def warm(self) -> None:
        """Build the range-search tables of every segment now (else the first clip query does):
        a service calls it once after opening, before taking traffic."""
        self._check_open()
        for s in self._segs:
            self._table(s)
            self._table(s, content=True)

    @staticmethod
    def _table(s: _Seg, content: bool = False) -> HashTable:
        a = s.reader.arrays
        if content:
            if s.content_table is None:
                s.content_table = HashTable(a["vpdq_content/words"], a["vpdq_content/quality"])
            return s.content_table
        if s.table is None:
            s.table = HashTable(a["vpdq/words"], a["vpdq/quality"])
        return s.table

    def clip_candidates(self, words: np.ndarray, th: Thresholds, *, content: bool = False) -> dict[tuple[int, int], int]:
        """(segment, entry row) -> number of pairs, for every live entry with at least one frame hash
        within ``th.vpdq_distance`` of a row of ``words`` (both quality-filtered by the caller / here).
        ``content``: search the stored content-area frame hashes (entries with bars) instead."""
        out: dict[tuple[int, int], int] = defaultdict(int)
        group = "vpdq_content" if content else "vpdq"
        for si, s in enumerate(self._segs):
            a = s.reader.arrays
            if a[f"{group}/words"].shape[0] == 0:
                continue
            qi, cj, _ = self._table(s, content).search(words, th.vpdq_distance, th.vpdq_quality)
            if qi.size == 0:
                continue
            rows = (s.reader.content_frame_entry if content else s.reader.frame_entry)[cj]
            rows = rows[s.alive[rows]]
            u, c = np.unique(rows, return_counts=True)
            for r, n in zip(u.tolist(), c.tolist()):
                out[(si, r)] += n
        return dict(out)

    def _clip(self, fp: Any, th: Thresholds, dihedral: bool) -> dict[tuple[int, int], Any]:
        q: VPDQHash | None = getattr(fp, "vpdq", None)
        if q is None or len(q) == 0:
            return {}
        variants: dict[str, np.ndarray] = {"orig": q.words}
        if dihedral:
            dv = getattr(fp, "vpdq_dihedral", None)
            if not dv:
                raise InvalidArgumentError("dihedral", "the query has no dihedral variants "
                                                       "(fingerprint it with dihedral=True)")
            variants.update(dv)
        content = getattr(fp, "vpdq_content", None) if th.bars else None
        if content is not None:  # the query's content-area hashes (letterbox / pillarbox bars cut)
            variants[CONTENT_VARIANT] = content.words
        qmask = q.quality >= th.vpdq_quality
        cand: dict[tuple[int, int], int] = defaultdict(int)
        for w in variants.values():
            for key, n in self.clip_candidates(np.ascontiguousarray(w[qmask]), th).items():
                cand[key] += n
        if th.bars:  # the stored videos' content areas, against the query's (its frames where it has none)
            w = (content if content is not None else q).words
            for key, n in self.clip_candidates(np.ascontiguousarray(w[qmask]), th, content=True).items():
                cand[key] += n
        dv = {k: v for k, v in variants.items() if k not in ("orig", CONTENT_VARIANT)} or None
        out = {}
        for (si, row) in cand:
            s = self._segs[si]
            compared = s.reader.vpdq(s.kind_row("vpdq", row))
            out[(si, row)] = clip_evidence(q, compared, th, dihedral=dv, content=content,
                                           compared_content=s.reader.vpdq_content(row, compared) if th.bars else None)
        return out


@dataclass(frozen=True)
class _CompactViews:
    """The compact profile's two views of one side, for :func:`vidprint.matching.whole_evidence`
    (no reference descriptor: the prefilter already chose the profile)."""

    compact: CompactDescriptor | None
    compact_content: CompactDescriptor | None
    tmk: None = None
    compact_views: Mapping[str, CompactDescriptor] | None = None  # vidprint.tmk.views


@dataclass(frozen=True)
class _ViewQueries:
    """Query descriptors for the view candidates (:meth:`Index._view_candidates`), each a list of
    ``(query index, descriptor)``: ``plain`` (whole frame, and mirrored with ``Thresholds.mirror``)
    for the stored zoom rows; ``active`` (active region, and mirrored) for the compact rows."""

    plain: list
    active: list


def _view_queries(fps: Sequence[Any], th: Thresholds) -> _ViewQueries:
    """What :func:`vidprint.matching.whole_evidence` compares through views, as prefilter queries:
    the query's whole frame against the stored zoom views (the query a centred crop of a stored
    video), the query's centre view against them too (the stored centre view among them: a logo near
    an edge left out of both) and the query's active region against the stored whole frames (the
    query a picture-in-picture copy); both orientations where ``th.mirror``."""
    if not th.views:
        return _ViewQueries([], [])
    plain = [(k, fp.compact) for k, fp in enumerate(fps) if getattr(fp, "compact", None) is not None]
    active = [(k, (getattr(fps[k], "compact_views", None) or {}).get(ACTIVE_VIEW)) for k, _ in plain]
    active = [(k, d) for k, d in active if d is not None]
    # the query's centre view against the stored ones (among the /views rows): logos left out
    centre = [(k, (getattr(fps[k], "compact_views", None) or {}).get(CENTRE_VIEW)) for k, _ in plain]
    plain += [(k, d) for k, d in centre if d is not None]
    if th.mirror:
        plain += [(k, mirror_compact(c, "flipx")) for k, c in plain]
        active += [(k, mirror_compact(c, "flipx")) for k, c in active]
    return _ViewQueries(plain, active)


def _reference(fp: Any) -> TMKDescriptor | None:
    return fp.reference if isinstance(fp, Entry) else getattr(fp, "tmk", None)
