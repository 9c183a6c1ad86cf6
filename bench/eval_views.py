"""Views (vidprint.tmk.views) on the cached evaluation set: crop, picture-in-picture, logo.

Run (after a ``vidprint eval`` run whose ``OUT/scores.npz`` and ``OUT/work`` cache exist)::

    python bench/eval_views.py --eval EVAL_OUT --out CACHE_DIR

Reads the evaluation's video list and fingerprints (``--eval``, read-only), decodes every video once
more into 64x64 and 128x128 TMK frames (cached in ``--out/frames`` by content hash, 3.2 GB for the
930 videos of docs/evaluation.md: ~4 min on one busy core the first time) and computes compact TMK
descriptors of these *views* (cached in ``--out/views``, ~1 min); scoring all 61,002 pairs with
every variant takes ~3 min:

* ``zoom``: index side, the originals' centre 90% and 80% (``Region.centre``), from the 64x64 frames
  the pipeline already has (``zoom128``: the same from 128x128 frames, to see whether the larger
  source buys anything);
* ``active``: query side, the rectangle that moves over the first 3 s (``ActivityMap`` +
  ``active_region`` on the 64x64 frames, sides snapped to the mean image's straight edges), when one
  is found; ``active-raw``: the same without the snapping;
* ``c50``: query side, the fixed centre 50% (catches a centred picture-in-picture only);
* ``logo-mask``: an *oracle* upper bound for masking a logo: the known logo box of ``logo_*`` copies
  filled with each frame's mean, in the query only (``logo-mask-q``) or in the query and in the
  original (``logo-mask-qo``, what an index-side masked view of that corner would give).

Each variant scores a pair as the best compact score (level 1 >= 0.4, then level 2 >= 0.6, the
documented defaults; original orientation only) over its combinations of query and original views,
and is printed beside ``plain`` (the cached plain compact descriptors): recall per transform, and
false positives on every unrelated pair of the evaluation (inside / outside the ASL look-alike set),
with the highest unrelated level 2 outside it. Then the CPU cost per frame (``time.process_time``)
of each view beside the plain PDQF and beside decoding, measured in the same run.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import io
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vidprint.atomic import atomic_write  # noqa: E402
from vidprint.decode import TMKSource, read_frames  # noqa: E402
from vidprint.eval.harness import FingerprintCache, Video, content_hash, pairs  # noqa: E402
from vidprint.pdqf import pdqf_luma_batch  # noqa: E402
from vidprint.tmk import CompactAccumulator, CompactDescriptor  # noqa: E402
from vidprint.tmk.compact import COMPACT_LEVEL1_THRESHOLD as L1, COMPACT_LEVEL2_THRESHOLD as L2  # noqa: E402
from vidprint.tmk.compact_scoring import compact_level1, compact_level2  # noqa: E402
from vidprint.tmk.views import ActivityMap, Region, active_region, view_features  # noqa: E402

VIEWS_VERSION = "views7"
ACTIVE_SECONDS = 3.0
ZOOMS = {"c90": Region.centre(0.9), "c80": Region.centre(0.8)}
C50 = Region.centre(0.5)
LOOKALIKE = "intel-asl-"


# ------------------------------------------------------------------------------------------------
# Frames and view descriptors (cached)


def frames(path: str, root: Path) -> dict[str, np.ndarray]:
    """64x64 (float32) and 128x128 (float16) TMK frames of a video, and their times, cached."""
    p = root / "frames" / f"{content_hash(path)}.npz"
    if not p.exists():
        l64, l128, t = [], [], []
        for b in read_frames(path, {"a": TMKSource(size=64), "b": TMKSource(size=128)}):
            if b.source == "a":
                l64.append(np.array(b.luma, np.float32))
                t.append(b.time)
            else:
                l128.append(np.array(b.luma, np.float16))
        buf = io.BytesIO()
        np.savez(buf, l64=np.concatenate(l64), l128=np.concatenate(l128), t=np.concatenate(t))
        p.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(p, buf.getvalue())
    with np.load(p) as z:
        return {k: z[k] for k in z.files}


def compact(features: np.ndarray, times: np.ndarray) -> CompactDescriptor:
    acc = CompactAccumulator()
    acc.update(features, times)
    return acc.finalize()


def logo_box(info, fraction: float) -> Region:
    """The box :func:`vidprint.eval.transforms.logo` draws, in fractions of the frame."""
    h, w = info.height, info.width
    bh, bw = max(4, int(h * fraction)), max(4, int(w * fraction))
    m = max(0, min(h, w) // 40)
    return Region(m / h, (w - m - bw) / w, (m + bh) / h, (w - m) / w)


def masked(luma: np.ndarray, box: Region) -> np.ndarray:
    """Frames with ``box`` filled with each frame's mean outside it."""
    y = luma.copy()
    n, h, w = y.shape
    t, l, b, r = (int(round(x)) for x in box.pixels(h, w))
    inside = np.zeros((h, w), bool)
    inside[t:b, l:r] = True
    y[:, inside] = y[:, ~inside].mean(axis=1)[:, None]
    return y


def static_box(std: np.ndarray, min_std: float = 0.25, fractions: tuple[float, float] = (0.005, 0.15),
               fill: float = 0.6) -> tuple[int, int, int, int] | None:
    """A logo detector tried and rejected (docs/eval-views.md): the bounding box of the pixels that do
    not change (std < ``min_std``) when they are ``fractions`` of the frame and fill ``fill`` of their box."""
    st = std < min_std
    if not fractions[0] <= st.mean() <= fractions[1]:
        return None
    rows, cols = np.flatnonzero(st.any(axis=1)), np.flatnonzero(st.any(axis=0))
    t, b, l, r = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return (int(t), int(l), int(b), int(r)) if st[t:b, l:r].mean() >= fill else None


def view_descriptors(v: Video, info, root: Path, original: bool) -> dict:
    """``name -> CompactDescriptor bytes`` (and the active region) of one video's views, cached."""
    p = root / "views" / f"{content_hash(v.path)}.{VIEWS_VERSION}.{int(original)}.pkl"
    if p.exists():
        with open(p, "rb") as fh:
            return pickle.load(fh)
    fr = frames(v.path, root)
    y64, t = fr["l64"], fr["t"]
    out: dict = {}
    if original:
        f = view_features(y64, list(ZOOMS.values()))
        for k, name in enumerate(ZOOMS):
            out[name] = compact(f[k], t).to_bytes()
        f = view_features(fr["l128"].astype(np.float32), list(ZOOMS.values()))
        for k, name in enumerate(ZOOMS):
            out[name + "_128"] = compact(f[k], t).to_bytes()
    act = ActivityMap()
    act.update(y64[t < ACTIVE_SECONDS])
    reg = active_region(act.std(), mean=act.mean())
    out["active_region"] = reg
    out["static_box"] = static_box(act.std())
    if reg is not None:
        out["active"] = compact(view_features(y64, [reg])[0], t).to_bytes()
    raw = active_region(act.std())  # the activity box alone, not snapped to edges (for comparison)
    if raw is not None:
        out["active_raw"] = compact(view_features(y64, [raw])[0], t).to_bytes()
    out["c50"] = compact(view_features(y64, [C50])[0], t).to_bytes()
    for name, fraction in (("logo_10", 0.1), ("logo_20", 0.2)):
        if (original and not v.transform) or v.transform == name:
            out[f"mask_{name}"] = compact(pdqf_luma_batch(masked(y64, logo_box(info, fraction))), t).to_bytes()
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(p, pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))
    return out


# ------------------------------------------------------------------------------------------------
# Scoring


def best(combos, memo: dict) -> tuple[float, float]:
    """(level 1, level 2) of the best combination: level 2 only where level 1 passes (as the index
    does); the highest level 2, else the highest level 1 with level 2 = -inf. ``memo`` caches the
    scores of one pair's descriptor combinations (several variants share them)."""
    top1, top2 = -np.inf, -np.inf
    for a, b in combos:
        if a is None or b is None:
            continue
        key = (id(a), id(b))
        if key not in memo:
            l1 = compact_level1(a, b)
            memo[key] = (l1, compact_level2(a, b) if l1 >= L1 else -np.inf)
        l1, l2 = memo[key]
        if l1 >= L1:
            if l2 > top2:
                top1, top2 = l1, l2
        elif top2 == -np.inf and l1 > top1:
            top1 = l1
    return top1, top2


def variants(q: dict, o: dict, qv: Video) -> dict[str, list]:
    """Query/original descriptor combinations of each variant."""
    qp, op = q["plain"], o["plain"]
    mask_q = q.get(f"mask_{qv.transform}") if qv.transform.startswith("logo") else None
    return {
        "plain": [(qp, op)],
        "zoom": [(qp, op), (qp, o["c90"]), (qp, o["c80"])],
        "zoom128": [(qp, op), (qp, o["c90_128"]), (qp, o["c80_128"])],
        "active-raw": [(qp, op), (q.get("active_raw"), op)],
        "active": [(qp, op), (q.get("active"), op)],
        "c50": [(qp, op), (q["c50"], op)],
        "zoom+active": [(qp, op), (qp, o["c90"]), (qp, o["c80"]), (q.get("active"), op)],
        "zoom+active+c50": [(qp, op), (qp, o["c90"]), (qp, o["c80"]), (q.get("active"), op), (q["c50"], op)],
        "logo-mask-q": [(qp, op), (mask_q, op)],
        "logo-mask-qo": [(qp, op), (mask_q, o.get(f"mask_{qv.transform}"))],
    }


def load(d: dict) -> dict:
    return {k: CompactDescriptor.from_bytes(v) if isinstance(v, bytes) else v for k, v in d.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--eval", required=True, help="a vidprint eval output folder (read-only)")
    ap.add_argument("--out", default="eval-views-cache", help="cache folder for frames and views")
    ap.add_argument("--limit-unrelated", type=int, default=0, help="score at most N unrelated pairs (0 = all)")
    ap.add_argument("--short-seconds", type=float, default=5.0,
                    help="look-alike guard: pairs whose shorter video is under this many seconds ...")
    ap.add_argument("--short-level2", type=float, default=0.9, help="... need this level 2 (second table)")
    args = ap.parse_args()
    ev, root = Path(args.eval), Path(args.out)
    meta = json.loads(str(np.load(ev / "scores.npz", allow_pickle=False)["meta"]))
    videos = [Video(**v) for v in meta["videos"]]
    cache = FingerprintCache(ev / "work" / "fingerprints")
    q_idx, c_idx, pos = pairs(videos)
    originals = {i for i, v in enumerate(videos) if not v.transform}

    t0 = time.time()
    descs: list[dict] = []
    for i, v in enumerate(videos):
        fp = cache.get(v.path)
        d = load(view_descriptors(v, fp.info, root, i in originals))
        d["plain"] = fp.compact
        descs.append(d)
        if i % 100 == 99:
            print(f"  views of {i + 1}/{len(videos)} videos ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    by_tr: dict[str, list[int]] = {}
    for i, v in enumerate(videos):
        by_tr.setdefault(v.transform, []).append(i)
    for key, what in (("active_region", "active region"), ("static_box", "static box (logo detector)")):
        found = [descs[i][key] is not None for i in range(len(videos))]
        print(f"{what} found in: " + ", ".join(f"{tr or 'originals'} {sum(found[i] for i in ix)}/{len(ix)}"
                                               for tr, ix in by_tr.items() if sum(found[i] for i in ix)))

    unrel = np.flatnonzero(~pos)
    if args.limit_unrelated:
        unrel = unrel[: args.limit_unrelated]
    posi = np.flatnonzero(pos)
    names = list(variants(descs[0], descs[0], videos[0]))
    res = {n: np.full((len(q_idx), 2), -np.inf) for n in names}
    t0 = time.time()
    for k in np.concatenate([posi, unrel]):
        qi, ci = q_idx[k], c_idx[k]
        memo: dict = {}
        for n, combos in variants(descs[qi], descs[ci], videos[qi]).items():
            res[n][k] = best(combos, memo)
    print(f"scored {len(posi)} positive + {len(unrel)} unrelated pairs x {len(names)} variants "
          f"in {time.time() - t0:.0f} s", file=sys.stderr)

    labels = np.array([videos[q].transform or ("same-group" if videos[q].group == videos[c].group else "")
                       for q, c in zip(q_idx, c_idx)], dtype=object)
    asl = np.array([videos[q].group.startswith(LOOKALIKE) and videos[c].group.startswith(LOOKALIKE)
                    for q, c in zip(q_idx, c_idx)])
    match = {n: (r[:, 0] >= L1) & (r[:, 1] >= L2) for n, r in res.items()}
    trs = ["same-group"] + [t for t in by_tr if t]
    table(f"Recall at the compact defaults (L1 >= {L1}, L2 >= {L2}), original orientation only",
          names, match, res, labels, pos, trs, unrel, asl, videos, q_idx, c_idx)
    # the look-alike guard (vidprint.eval.methods.ShortEvidence at the time of writing): evidence
    # from a video under --short-seconds needs level 2 >= --short-level2
    dur = np.array([min(descs[q]["plain"].duration_s, descs[c]["plain"].duration_s) for q, c in zip(q_idx, c_idx)])
    short = {n: m & ((dur >= args.short_seconds) | (res[n][:, 1] >= args.short_level2)) for n, m in match.items()}
    table(f"The same with the look-alike guard (shorter video under {args.short_seconds:g} s: level 2 >= "
          f"{args.short_level2:g})", names, short, res, labels, pos, trs, unrel, asl, videos, q_idx, c_idx)
    cost(videos, root)


def table(title, names, match, res, labels, pos, trs, unrel, asl, videos, q_idx, c_idx) -> None:
    """Print recall per transform and false positives (inside / outside the look-alike set)."""
    print(f"\n{title}:\n")
    print("| transform | n | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for tr in trs:
        ix = np.flatnonzero(pos & (labels == tr))
        print(f"| {tr} | {len(ix)} | " + " | ".join(f"{100 * match[n][ix].mean():.0f}%" for n in names) + " |")
    inside, outside = unrel[asl[unrel]], unrel[~asl[unrel]]
    print(f"\nFalse positives on {len(unrel)} unrelated ordered pairs ({len(inside)} inside the ASL look-alike "
          f"set, {len(outside)} outside):\n")
    print("| variant | FP | inside look-alikes | outside | max L2 outside (L1 passing) | 2nd | 3rd |")
    print("|---|---|---|---|---|---|---|")
    for n in names:
        m = match[n]
        l2o = res[n][outside, 1]
        top = np.sort(l2o[np.isfinite(l2o)])[::-1][:3]
        print(f"| {n} | {int(m[unrel].sum())} | {int(m[inside].sum())} | {int(m[outside].sum())} | "
              + " | ".join(f"{x:.3f}" for x in top) + " |")
        if len(top) and top[0] >= 0.45:
            k = outside[np.argmax(np.where(np.isfinite(l2o), l2o, -1))]
            print(f"|   (top: {videos[q_idx[k]].name} vs {videos[c_idx[k]].name}) | | | | | | |")


def cost(videos: list[Video], root: Path) -> None:
    """CPU seconds per 15 fps TMK frame of each view, beside the plain PDQF and decoding."""
    srcs = [v for v in videos if not v.transform][:12]
    ys = [frames(v.path, root) for v in srcs]
    y64 = np.concatenate([y["l64"] for y in ys])
    y128 = np.concatenate([y["l128"] for y in ys]).astype(np.float32)
    n = len(y64)
    reps = 5

    def per_frame(fn) -> float:
        fn()  # compile / warm
        ts = []
        for _ in range(reps):
            t = time.process_time()
            fn()
            ts.append(time.process_time() - t)
        return 1e6 * float(np.median(ts)) / n

    rows = {
        "plain PDQF (64x64, pdqf_luma_batch)": per_frame(lambda: pdqf_luma_batch(y64)),
        "zoom views c90 + c80 from 64x64": per_frame(lambda: view_features(y64, list(ZOOMS.values()))),
        "zoom views c90 + c80 from 128x128": per_frame(lambda: view_features(y128, list(ZOOMS.values()))),
        "one view (c50) from 64x64": per_frame(lambda: view_features(y64, [C50])),
        "activity map (64x64)": per_frame(lambda: ActivityMap().update(y64)),
        "compact accumulator update": per_frame(lambda: CompactAccumulator().update(
            pdqf_luma_batch(y64[:1]).repeat(n, 0), np.arange(n) / 15.0)),
    }
    t = time.process_time()
    frames_decoded = 0
    for v in srcs:
        for b in read_frames(v.path, {"a": TMKSource(size=64)}):
            frames_decoded += len(b.time)
            _ = b.luma
    dec = 1e6 * (time.process_time() - t) / max(1, frames_decoded)
    print(f"\nCPU per 15 fps TMK frame (median of {reps}, {n} frames of {len(srcs)} originals; "
          f"time.process_time):\n")
    print("| step | us per frame | vs plain PDQF | vs decode + 64x64 TMK frames |")
    print("|---|---|---|---|")
    base = rows["plain PDQF (64x64, pdqf_luma_batch)"]
    for k, us in rows.items():
        print(f"| {k} | {us:.1f} | {us / base:.2f}x | {100 * us / dec:.1f}% |")
    print(f"| decode + 64x64 TMK frames (read_frames, same videos) | {dec:.0f} | {dec / base:.0f}x | 100% |")


if __name__ == "__main__":
    main()
