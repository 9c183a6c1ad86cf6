"""The evaluation harness: sources -> transformed set -> fingerprints (cached) -> pair scores.

1. :func:`collect_sources` lists the source videos with a *group* each (a manifest TSV with ``file``
   and ``group`` columns, as ``corpus/MANIFEST.tsv``; else the file name): videos of one group show
   the same footage and are never counted as unrelated.
2. :func:`build_set` writes every transform of every source to ``WORK/videos`` (skipped when the file
   exists: a run is resumable) and fingerprints every video once with :func:`vidprint.fingerprint`;
   fingerprints are cached in ``WORK/fingerprints`` by the SHA-256 of the file's bytes.
3. :func:`score_pairs` scores, for each method, every (query, original) pair: queries are all videos
   (originals and transformed copies), compared videos are the originals. Pairs are *positive* when
   the query is a transform of the original, or another original of the same group (transform label
   ``same-group``); *unrelated* when the groups differ; other same-group pairs are not scored.
"""
from __future__ import annotations

import csv
import hashlib
import math
import multiprocessing
import json

import os
import pickle
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from vidprint.atomic import atomic_write
from vidprint.decode import TMKSource, read_frames
from vidprint.eval import transforms as T
from vidprint.eval.methods import Method, Record, all_methods, segment_location
from vidprint.pipeline import Fingerprint, fingerprint
from vidprint.tmk.bars import content_features
from vidprint.tmk.compact import CompactDescriptor
from vidprint.tmk.compact_accumulate import CompactAccumulator
from vidprint.worker_env import one_thread_workers

VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".webm", ".mov", ".avi", ".gif", ".ogv", ".m4v", ".flv",
                            ".wmv", ".mpg", ".mpeg", ".ts", ".3gp"})
FINGERPRINT_VERSION = "fp2"  # bump when fingerprints change (fp2: content-area vPDQ hashes); old entries are ignored
BARS_VERSION = "bars1"  # content-area compact descriptor (vidprint.tmk.bars), cached beside
SAME_GROUP = "same-group"
ORIGINAL = ""


@dataclass(frozen=True)
class Video:
    """One video of the evaluation set.

    ``name`` is unique in the set; ``source`` the name of the original it was made from and
    ``transform`` the transform's name (both "" for an original); ``kind`` "original", "whole" or
    "clip"; ``source_start_s`` / ``source_end_s`` the part of the source a clip shows.
    """

    name: str
    path: str
    group: str
    source: str = ""
    transform: str = ""
    kind: str = "original"
    source_start_s: float | None = None
    source_end_s: float | None = None


def read_manifest(path: str | os.PathLike) -> dict[str, str]:
    """``file name -> group`` from a TSV with a header naming at least ``file`` and ``group``."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    if rows and not {"file", "group"} <= set(rows[0]):
        raise ValueError(f"{path}: the manifest needs 'file' and 'group' columns, has {sorted(rows[0])}")
    return {r["file"]: r["group"] for r in rows}


def collect_sources(paths: Iterable[str | os.PathLike], manifest: dict[str, str] | None = None,
                    groups: dict[str, str] | None = None) -> list[Video]:
    """Source videos from files and directories (directories: their video files, not recursive).

    The group of a file is ``groups[path]`` if given, else ``manifest[file name]``, else the file
    name itself (a group of one). Names are made unique by prefixing the parent folder when needed.
    """
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.suffix.lower() in VIDEO_SUFFIXES and f.is_file())
        elif p.is_file():
            files.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or directory")
    out, seen = [], set()
    for f in files:
        name = f.name if f.name not in seen else f"{f.parent.name}__{f.name}"
        seen.add(name)
        g = (groups or {}).get(str(f)) or (manifest or {}).get(f.name) or f.name
        out.append(Video(name=name, path=str(f), group=g))
    return out


# ------------------------------------------------------------------------------------------------
# Fingerprints, cached by content


def content_hash(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class FingerprintCache:
    """:class:`Fingerprint` objects in ``root``, keyed by the SHA-256 of the video's bytes.

    Entries are ``<sha256>.<FINGERPRINT_VERSION>.vpfp`` files (the product's own format,
    :meth:`Fingerprint.to_bytes`); entries of another version are ignored."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, digest: str, suffix: str = "vpfp") -> Path:
        return self.root / f"{digest}.{FINGERPRINT_VERSION}.{suffix}"

    def get(self, path: str | os.PathLike) -> Fingerprint:
        digest = content_hash(path)
        cp = self._path(digest)
        if cp.exists():
            try:
                return Fingerprint.load(cp)
            except Exception:  # noqa: BLE001 - a damaged cache entry is recomputed
                cp.unlink(missing_ok=True)
        fp = fingerprint(os.fspath(path))
        atomic_write(self._path(digest), fp.to_bytes())
        return fp

    def has(self, path: str | os.PathLike) -> bool:
        digest = content_hash(path)
        return self._path(digest).exists()

    def get_bars(self, path: str | os.PathLike) -> tuple[CompactDescriptor, float]:
        """The content-area compact descriptor (:func:`content_compact`) and the fraction of frames
        with bars cut, cached like fingerprints."""
        cp = self.root / f"{content_hash(path)}.{BARS_VERSION}.pkl"
        if cp.exists():
            try:
                with open(cp, "rb") as f:
                    data, frac = pickle.load(f)
                return CompactDescriptor.from_bytes(data, str(path)), frac
            except Exception:  # noqa: BLE001 - recomputed
                cp.unlink(missing_ok=True)
        d, frac = content_compact(os.fspath(path))
        atomic_write(cp, pickle.dumps((d.to_bytes(), frac), protocol=pickle.HIGHEST_PROTOCOL))
        return d, frac


def content_compact(src) -> tuple[CompactDescriptor, float]:
    """Compact TMK descriptor of the content area of every frame (:mod:`vidprint.tmk.bars`: bars cut,
    from a 128x128 TMK frame source), and the fraction of frames that had bars cut.

    A second decoding pass, for measurement; in the pipeline it would be one more frame source of the
    same pass (see docs/evaluation.md)."""
    acc = CompactAccumulator()
    n = cut = 0
    for batch in read_frames(src, {"tmk128": TMKSource(size=128)}):
        feats, bars = content_features(np.ascontiguousarray(batch.luma))
        acc.update(feats, batch.time)
        n += len(bars)
        cut += int((bars.sum(axis=1) > 0).sum())
    return acc.finalize(), cut / max(1, n)


# ------------------------------------------------------------------------------------------------
# Building the set


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)


def transformed_video(src: Video, name: str, workdir: Path) -> Video:
    """Make (or reuse) ``workdir/videos/<source>__<transform><suffix>`` and describe it."""
    tr = T.TRANSFORMS[name]
    base = workdir / "videos" / f"{_safe(Path(src.name).stem)}__{name}"
    meta = base.with_suffix(".json")
    if meta.exists():
        m = json.loads(meta.read_text())
    else:
        res = tr(src.path)
        path = str(base) + res.suffix
        atomic_write(path, res.data)
        m = {"path": os.path.basename(path), "start": res.source_start_s, "end": res.source_end_s}
        atomic_write(meta, json.dumps(m))
    return Video(name=f"{src.name}__{name}", path=str(base.parent / m["path"]), group=src.group,
                 source=src.name, transform=name, kind=tr.kind, source_start_s=m["start"],
                 source_end_s=m["end"])


def _job(src: Video, name: str, workdir: str, bars: bool = True) -> tuple[Video | None, str]:
    """Worker: transform (if ``name``) and fingerprint into the cache. Returns (video, error)."""
    try:
        v = transformed_video(src, name, Path(workdir)) if name else src
        cache = FingerprintCache(Path(workdir) / "fingerprints")
        cache.get(v.path)
        if bars:
            cache.get_bars(v.path)
        return v, ""
    except Exception as exc:  # noqa: BLE001 - one bad video must not stop the evaluation
        return None, f"{src.name} {name or '(original)'}: {type(exc).__name__}: {exc}"


def _cost(v: Video) -> float:
    try:
        return os.path.getsize(v.path)
    except OSError:
        return 0.0


@dataclass
class EvalSet:
    """The videos, their fingerprints (by name: :class:`Record`, a fingerprint plus the content-area
    descriptor when computed) and what failed."""

    videos: list[Video]
    fingerprints: dict[str, Record]
    errors: list[str] = field(default_factory=list)
    cache_root: str | None = None  # where build_set cached them (lets scoring workers load them)
    bars: bool = False


def build_set(sources: Sequence[Video], transforms: Sequence[str], workdir: str | os.PathLike, *,
              jobs: int = 1, progress: bool = True, bars: bool = True, transform_sources: int | None = None,
              log: Callable[[str], None] | None = None) -> EvalSet:
    """Transform every source with every named transform and fingerprint everything (resumable).

    ``jobs`` > 1 runs the work in that many processes. Failures (undecodable source, a transform that
    cannot apply) are listed in ``errors`` and leave the video out. ``bars``: also compute the
    content-area compact descriptor (for the ``*-bars`` methods). ``transform_sources``: transform
    only that many sources (the smallest files first); all sources are still originals, compared
    against every query.
    """
    for n in transforms:
        if n not in T.TRANSFORMS:
            raise ValueError(f"unknown transform {n!r}; known: {list(T.TRANSFORMS)}")
    workdir = Path(workdir)
    (workdir / "videos").mkdir(parents=True, exist_ok=True)
    # cheap sources first, so that an interrupted run has covered many sources
    order = sorted(sources, key=_cost)
    tsrc = order if transform_sources is None else order[: max(0, transform_sources)]
    tasks = [(s, "") for s in order] + [(s, n) for s in tsrc for n in transforms]
    results: dict[tuple[str, str], tuple[Video | None, str]] = {}
    bar = _bar(len(tasks), "videos", progress)
    try:
        if jobs <= 1:
            for s, n in tasks:
                results[(s.name, n)] = _job(s, n, str(workdir), bars)
                bar.update(1)
        else:
            # spawn, not fork: forking a process that runs hashing threads can deadlock the child
            with one_thread_workers(), \
                    ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as ex:
                futs = {ex.submit(_job, s, n, str(workdir), bars): (s.name, n) for s, n in tasks}
                for fu in as_completed(futs):
                    results[futs[fu]] = fu.result()
                    bar.update(1)
    finally:
        bar.close()
    cache = FingerprintCache(workdir / "fingerprints")
    videos, fps, errors = [], {}, []
    failed_sources = set()
    for s, n in tasks:  # deterministic order: originals, then transforms by source
        v, err = results[(s.name, n)]
        if err:
            errors.append(err)
            if not n:
                failed_sources.add(s.name)
            continue
        if n and s.name in failed_sources:
            continue
        videos.append(v)
        cb, frac = cache.get_bars(v.path) if bars else (None, 0.0)
        fps[v.name] = Record(cache.get(v.path), cb, frac)
    if log:
        log(f"{len(videos)} videos fingerprinted, {len(errors)} failures")
    return EvalSet(videos, fps, errors, str(workdir / "fingerprints"), bars)


def _bar(total: int, unit: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, disable=not enabled, smoothing=0.05)


# ------------------------------------------------------------------------------------------------
# Scoring


@dataclass
class Scores:
    """All scored pairs of one run, one row per (method, pair), as parallel numpy arrays.

    ``query`` / ``compared``: indices into ``videos``; ``positive``: same content; ``label``: the
    query's transform ("" original-vs-unrelated, ``same-group``, or a transform name).
    """

    videos: list[Video]
    methods: list[str]
    method: np.ndarray  # int16, index into methods
    query: np.ndarray  # int32
    compared: np.ndarray  # int32
    positive: np.ndarray  # bool
    score: np.ndarray  # float64
    matched: np.ndarray  # bool
    level1: np.ndarray  # float64
    start_s: np.ndarray  # float64
    end_s: np.ndarray  # float64
    orientation: np.ndarray  # uint8: 0 orig, 1 flipx
    seconds: dict[str, float] = field(default_factory=dict)  # scoring time per method
    defaults: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def label(self, i: int) -> str:
        q, c = self.videos[self.query[i]], self.videos[self.compared[i]]
        return q.transform or (SAME_GROUP if q.group == c.group else ORIGINAL)

    def labels(self) -> np.ndarray:
        """The label of every row: the query's transform, ``same-group`` for two originals of one
        group, "" for an original against an unrelated original."""
        names = [v.transform for v in self.videos]
        gidx: dict[str, int] = {}
        groups = np.array([gidx.setdefault(v.group, len(gidx)) for v in self.videos], dtype=np.int64)
        same = groups[self.query] == groups[self.compared]
        uniq = sorted(set(names) | {SAME_GROUP})
        code = np.array([uniq.index(x) for x in names], dtype=np.int32)[self.query]
        code = np.where((code == uniq.index("")) & same, uniq.index(SAME_GROUP), code)
        return np.array(uniq, dtype=object)[code]

    def select(self, method: str) -> np.ndarray:
        return self.method == self.methods.index(method)

    def save(self, path: str | os.PathLike) -> None:
        arrays = {k: getattr(self, k) for k in ("method", "query", "compared", "positive", "score",
                                                 "matched", "level1", "start_s", "end_s", "orientation")}
        meta = {"videos": [asdict(v) for v in self.videos], "methods": self.methods,
                "seconds": self.seconds, "defaults": self.defaults, "errors": self.errors}
        tmp = Path(str(path) + ".tmp.npz")
        np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **arrays)
        os.replace(tmp, path)

    def merge(self, other: "Scores") -> "Scores":
        """This run's methods plus ``other``'s, for adding methods to a run without re-scoring it.

        Both must hold the same videos (by name) and the same pairs; a method present in both is
        taken from ``other``. Raises ValueError otherwise."""
        if [v.name for v in self.videos] != [v.name for v in other.videos]:
            raise ValueError("merge: the two runs hold different videos")
        n, m = len(self.query) // max(1, len(self.methods)), len(other.query) // max(1, len(other.methods))
        if n != m or not (np.array_equal(self.query[:n], other.query[:m])
                          and np.array_equal(self.compared[:n], other.compared[:m])):
            raise ValueError("merge: the two runs scored different pairs")
        keep = [k for k in self.methods if k not in other.methods]
        sel = np.isin(self.method, [self.methods.index(k) for k in keep])
        arrays = {}
        for k in ("query", "compared", "positive", "score", "matched", "level1", "start_s", "end_s", "orientation"):
            arrays[k] = np.concatenate([getattr(self, k)[sel], getattr(other, k)])
        remap = np.array([keep.index(x) if x in keep else -1 for x in self.methods], np.int16)
        method = np.concatenate([remap[self.method[sel]], other.method.astype(np.int16) + len(keep)])
        return Scores(videos=list(self.videos), methods=keep + list(other.methods), method=method,
                      seconds={**{k: v for k, v in self.seconds.items() if k in keep}, **other.seconds},
                      defaults={**{k: v for k, v in self.defaults.items() if k in keep}, **other.defaults},
                      errors=list(self.errors) + [e for e in other.errors if e not in self.errors], **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Scores":
        z = np.load(path, allow_pickle=False)
        meta = json.loads(str(z["meta"]))
        return cls(videos=[Video(**v) for v in meta["videos"]], methods=meta["methods"],
                   seconds=meta["seconds"], defaults=meta["defaults"], errors=meta["errors"],
                   **{k: z[k] for k in ("method", "query", "compared", "positive", "score", "matched",
                                        "level1", "start_s", "end_s", "orientation")})


def pairs(videos: Sequence[Video]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(query, compared, positive) index arrays of the pairs to score (module docstring)."""
    originals = [i for i, v in enumerate(videos) if not v.transform]
    qs, cs, pos = [], [], []
    for qi, q in enumerate(videos):
        for ci in originals:
            if ci == qi:
                continue
            c = videos[ci]
            if q.group != c.group:
                qs.append(qi), cs.append(ci), pos.append(False)
            elif q.source == c.name or not q.transform:
                qs.append(qi), cs.append(ci), pos.append(True)
    return np.array(qs, np.int32), np.array(cs, np.int32), np.array(pos, bool)


def _score_method(m: Method, recs: Sequence, q: np.ndarray, c: np.ndarray, videos: Sequence[Video],
                  errors: list[str], bar=None) -> dict[str, np.ndarray]:
    n = len(q)
    r = {"score": np.full(n, -np.inf), "matched": np.zeros(n, bool), "level1": np.full(n, np.nan),
         "start_s": np.full(n, np.nan), "end_s": np.full(n, np.nan), "orientation": np.zeros(n, np.uint8)}
    for k in range(n):
        try:
            ps = m(recs[q[k]], recs[c[k]])
        except Exception as exc:  # noqa: BLE001 - reported, the pair counts as "no match"
            if len(errors) < 200:
                errors.append(f"{m.name} {videos[q[k]].name} vs {videos[c[k]].name}: {type(exc).__name__}: {exc}")
            continue
        r["score"][k] = -np.inf if math.isnan(ps.score) else ps.score
        r["matched"][k], r["level1"][k] = ps.matched, ps.level1
        r["start_s"][k], r["end_s"][k] = ps.start_s, ps.end_s
        r["orientation"][k] = 0 if ps.orientation == "orig" else 1
        if bar is not None and k % 256 == 255:
            bar.update(256)
    if bar is not None:
        bar.update(n % 256)
    return r


def _score_chunk(cache_root: str, bars: bool, videos: list[Video], q: np.ndarray, c: np.ndarray,
                 names: list[str]) -> tuple[dict, dict, list[str]]:
    """Worker process: load the fingerprints from the cache and score pairs ``q[k], c[k]``."""
    cache = FingerprintCache(cache_root)
    need = sorted(set(q.tolist()) | set(c.tolist()))
    recs: dict[int, Record] = {}
    for i in need:
        cb, frac = cache.get_bars(videos[i].path) if bars else (None, 0.0)
        recs[i] = Record(cache.get(videos[i].path), cb, frac)
    every = all_methods(compare=True)
    res, secs, errors = {}, {}, []
    for name in names:
        t0 = time.perf_counter()
        res[name] = _score_method(every[name], recs, q, c, videos, errors)
        secs[name] = time.perf_counter() - t0
    return res, secs, errors


def score_index(es: EvalSet, q: np.ndarray, c: np.ndarray, *, thresholds=None,
                errors: list[str] | None = None, progress: bool = False) -> dict[str, np.ndarray]:
    """The index's combined query as a method: the pairs ``q[k], c[k]`` (indices into ``es.videos``)
    decided by a :class:`vidprint.index.Index` of every compared video, queried once per query video.

    The store is built in a temporary folder from the compared videos' fingerprints (id = the video's
    position), each query video is queried with ``Index.query`` (``thresholds``: default
    :class:`vidprint.matching.Thresholds`, the documented defaults) and a pair is matched when the
    compared video is among the query's matches. Decision only: ``score`` 1.0 / 0.0; ``level1``
    the whole-video level 1 of a match; ``start_s`` / ``end_s`` the best aligned segment of a clip
    match in the compared video; ``orientation`` 1 when the match was through the mirrored query.
    A query that fails is listed in ``errors`` and its pairs count as "no match".
    """
    import tempfile

    from vidprint.index import Index

    videos, n = es.videos, len(q)
    r = {"score": np.zeros(n), "matched": np.zeros(n, bool), "level1": np.full(n, np.nan),
         "start_s": np.full(n, np.nan), "end_s": np.full(n, np.nan), "orientation": np.zeros(n, np.uint8)}
    if n == 0:
        return r
    errors = errors if errors is not None else []
    rows: dict[int, list[int]] = {}
    for k, qi in enumerate(q.tolist()):
        rows.setdefault(qi, []).append(k)
    with tempfile.TemporaryDirectory(prefix="vidprint-eval-index-") as tmp:
        folder = Path(tmp) / "index"
        with Index.create(folder) as ix:
            # the product's fingerprints (Record.fp), not the evaluation's own content-area descriptor
            ix.add_many((es.fingerprints[videos[i].name].fp, f"v{i}", None) for i in sorted(set(c.tolist())))
        with Index.open(folder) as ix:
            bar = _bar(len(rows), "queries", progress)
            try:
                for qi, ks in rows.items():
                    bar.update(1)
                    try:
                        found = {m.id: m for m in ix.query(es.fingerprints[videos[qi].name].fp,
                                                           thresholds=thresholds)}
                    except Exception as exc:  # noqa: BLE001 - reported, the query's pairs count as "no match"
                        if len(errors) < 200:
                            errors.append(f"index query {videos[qi].name}: {type(exc).__name__}: {exc}")
                        continue
                    for k in ks:
                        m = found.get(f"v{c[k]}")
                        if m is None:
                            continue
                        r["score"][k], r["matched"][k] = 1.0, True
                        if m.whole is not None:
                            r["level1"][k] = m.whole.level1
                        segs = m.clip.segments if m.clip is not None and m.clip.matched else ()
                        if segs:
                            best = max(segs, key=lambda s: (s.score * s.matched_frames, s.score))
                            r["start_s"][k], r["end_s"][k] = segment_location(best, es.fingerprints[videos[qi].name])
                        r["orientation"][k] = 1 if m.transform == "flipx" else 0
            finally:
                bar.close()
    return r


def score_pairs(es: EvalSet, methods: dict[str, Method] | None = None, *, progress: bool = True,
                jobs: int = 1) -> Scores:
    """Score every pair of :func:`pairs` with every method (derived methods from their parts'
    results: their parts are scored too, even if not listed). ``jobs`` > 1 splits the pairs over
    that many processes (which load the fingerprints from ``es.cache_root``)."""
    methods = dict(methods or all_methods())
    every = all_methods(compare=True)
    for m in list(methods.values()):
        for part in m.any_of:
            methods.setdefault(part, every[part])
    videos = es.videos
    q, c, pos = pairs(videos)
    names = [k for k, m in methods.items() if not m.any_of] + [k for k, m in methods.items() if m.any_of]
    base = [k for k in names if not methods[k].any_of and methods[k].needs != "index"]
    n = len(q)
    res: dict[str, dict[str, np.ndarray]] = {}
    seconds: dict[str, float] = {}
    errors = list(es.errors)
    if jobs > 1 and es.cache_root and n > 1000:
        chunks = np.array_split(np.arange(n), jobs * 4)
        bar = _bar(n, "pairs", progress)
        parts: dict[int, tuple] = {}
        with one_thread_workers(), \
                ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as ex:
            futs = {ex.submit(_score_chunk, es.cache_root, es.bars, list(videos), q[ix], c[ix], base): i
                    for i, ix in enumerate(chunks)}
            for fu in as_completed(futs):
                parts[futs[fu]] = fu.result()
                bar.update(len(chunks[futs[fu]]))
        bar.close()
        for name in base:
            res[name] = {k: np.concatenate([parts[i][0][name][k] for i in range(len(chunks))])
                         for k in parts[0][0][name]}
            seconds[name] = sum(parts[i][1][name] for i in range(len(chunks)))
        for i in range(len(chunks)):
            errors += parts[i][2][: max(0, 200 - len(errors))]
    else:
        recs = [es.fingerprints[v.name] for v in videos]
        bar = _bar(n * len(base), "pairs", progress)
        try:
            for name in base:
                t0 = time.perf_counter()
                res[name] = _score_method(methods[name], recs, q, c, videos, errors, bar)
                seconds[name] = time.perf_counter() - t0
        finally:
            bar.close()
    for name in names:
        if methods[name].needs == "index":
            t0 = time.perf_counter()
            res[name] = score_index(es, q, c, errors=errors, progress=progress)
            seconds[name] = time.perf_counter() - t0
    for name in names:
        m = methods[name]
        if not m.any_of:
            continue
        prts = [res[p] for p in m.any_of]
        r = {"matched": np.logical_or.reduce([p["matched"] for p in prts]), "level1": np.full(n, np.nan),
             "start_s": np.full(n, np.nan), "end_s": np.full(n, np.nan), "orientation": np.zeros(n, np.uint8)}
        r["score"] = r["matched"].astype(np.float64)  # a decision only: 1 = matched
        for p in prts[::-1]:  # location and orientation from the first matching part
            hit = p["matched"]
            r["start_s"] = np.where(hit, p["start_s"], r["start_s"])
            r["end_s"] = np.where(hit, p["end_s"], r["end_s"])
            r["orientation"] = np.where(hit, p["orientation"], r["orientation"])
        res[name] = r
        seconds[name] = sum(seconds.get(p, 0.0) for p in m.any_of)
    keys = ("score", "matched", "level1", "start_s", "end_s", "orientation")
    cat = {k: np.concatenate([res[m][k] for m in names]) if names else np.zeros(0) for k in keys}
    return Scores(videos=list(videos), methods=names, seconds=seconds,
                  defaults={k: methods[k].default for k in names}, errors=errors,
                  method=np.concatenate([np.full(n, i, np.int16) for i in range(len(names))]),
                  query=np.tile(q, len(names)), compared=np.tile(c, len(names)),
                  positive=np.tile(pos, len(names)), **cat)


def evaluate(sources: Sequence[str | os.PathLike], out_dir: str | os.PathLike, *,
             manifest: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
             groups: dict[str, str] | None = None,
             transforms: Sequence[str] | None = None, methods: Sequence[str] | None = None,
             jobs: int = 1, progress: bool = True, report: bool = True, transform_sources: int | None = None,
             target_fprs: Sequence[float] = (1e-3, 1e-4),
             command: str = "", log: Callable[[str], None] | None = None) -> Scores:
    """Run the whole evaluation and write ``out_dir/report.md`` with its plots (see module docstring).

    ``out_dir/work`` holds the transformed videos and the fingerprint cache: a second run with the
    same ``out_dir`` re-uses them (resumable). ``out_dir/scores.npz`` holds every pair's scores.
    ``manifest``: one or more TSV files (:func:`read_manifest`), merged.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    man: dict[str, str] = {}
    for mf in ([manifest] if isinstance(manifest, (str, os.PathLike)) else manifest or []):
        man.update(read_manifest(mf))
    srcs = collect_sources(sources, man, groups)
    if not srcs:
        raise ValueError("no source videos found")
    names = list(transforms) if transforms is not None else list(T.TRANSFORMS)
    ms = all_methods(compare=methods is not None and "vidprint-compare" in methods)
    if methods is not None:
        unknown = [m for m in methods if m not in ms]
        if unknown:
            raise ValueError(f"unknown methods {unknown}; known: {list(ms)}")
        ms = {k: ms[k] for k in methods}
    every = all_methods(compare=True)
    # the index stores and queries the content-area descriptor too, as the product does
    bars = any(m.needs in ("bars", "index") or any(every[p].needs == "bars" for p in m.any_of)
               for m in ms.values())
    es = build_set(srcs, names, out / "work", jobs=jobs, progress=progress, bars=bars,
                   transform_sources=transform_sources, log=log)
    scores = score_pairs(es, ms, progress=progress, jobs=jobs)
    scores.save(out / "scores.npz")
    if report:
        from vidprint.eval.report import write_report

        write_report(scores, out, target_fprs=target_fprs, command=command)
    return scores


__all__ = [
    "EvalSet",
    "FingerprintCache",
    "Scores",
    "Video",
    "build_set",
    "collect_sources",
    "evaluate",
    "pairs",
    "read_manifest",
    "score_index",
    "score_pairs",
    "transformed_video",
]

