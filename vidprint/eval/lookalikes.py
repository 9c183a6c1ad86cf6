"""Look-alike analysis: what the short-evidence rule (:class:`vidprint.eval.methods.ShortEvidence`)
costs and buys, swept over its thresholds, with a held-out check.

The rule only *removes* matches of ``policy+flip+bars`` (whole-video compact TMK in both orientations,
whole frame or content area, or a vPDQ alignment segment). So it is enough to collect, once, the
evidence of the pairs that policy matched (:func:`collect`): the best whole-video level 2 and the
shorter duration, and each aligned segment's span and mean distance. Any rule is then a vector
operation (:func:`decide`), and a sweep over hundreds of rules takes a second.

``python -m vidprint.eval.lookalikes OUT_DIR [--lookalike PREFIX]`` prints the tables of
docs/evaluation.md ("Look-alikes") from ``OUT_DIR/scores.npz`` and the fingerprint cache in
``OUT_DIR/work/fingerprints`` (the folder ``vidprint eval --out`` wrote).
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

import vidprint.vpdq as V
from vidprint.eval.harness import FingerprintCache, Scores
from vidprint.eval.methods import Record, ShortEvidence, _compact, _duration

BASE = "policy+flip+bars"
WHOLE_PARTS = ("tmk-compact+flip", "tmk-compact-bars+flip")
CLIP_PART = "vpdq-align"


@dataclass(frozen=True)
class Evidence:
    """The evidence behind every pair ``policy+flip+bars`` matched (rows of one method of a :class:`Scores`).

    ``rows``: int64[n], the pair's index within one method's block of rows; ``whole_level2``:
    float64[n], the best level 2 of a matching whole-video comparison (-inf if none matched);
    ``duration_s``: float64[n], the shorter video's duration; ``seg_pair`` / ``seg_span_s`` /
    ``seg_mean_distance``: one entry per aligned segment (pair position in ``rows``, query span in
    seconds, mean Hamming distance of its matched frames).
    """

    rows: np.ndarray
    whole_level2: np.ndarray
    duration_s: np.ndarray
    seg_pair: np.ndarray
    seg_span_s: np.ndarray
    seg_mean_distance: np.ndarray


def _records(s: Scores, cache_root: str | Path, idx: Sequence[int]) -> dict[int, Record]:
    cache = FingerprintCache(cache_root)
    out = {}
    for i in sorted(set(int(x) for x in idx)):
        path = s.videos[i].path
        cb, frac = cache.get_bars(path)
        out[i] = Record(cache.get(path), cb, frac)
    return out


def collect(s: Scores, cache_root: str | Path) -> Evidence:
    """Recompute the evidence of every pair ``policy+flip+bars`` matched in ``s`` (fingerprints from
    the cache at ``cache_root``; nothing is decoded)."""
    n = int(s.select(BASE).sum())
    q, c = s.query[:n], s.compared[:n]
    rows = np.flatnonzero(s.matched[s.select(BASE)])
    recs = _records(s, cache_root, np.concatenate([q[rows], c[rows]]))
    whole = np.full(rows.size, -np.inf)
    dur = np.full(rows.size, np.inf)
    sp, ss, sd = [], [], []
    for j, k in enumerate(rows.tolist()):
        a, b = recs[int(q[k])], recs[int(c[k])]
        dur[j] = min(_duration(a), _duration(b))
        for attr in ("compact", "compact_bars"):
            if getattr(a, attr, None) is None or getattr(b, attr, None) is None:
                continue
            ps = _compact(a, b, ("orig", "flipx"), attr=attr)
            if ps.matched:
                whole[j] = max(whole[j], ps.score)
        for g in V.align(a.vpdq, b.vpdq):
            sp.append(j), ss.append(g.query_duration_s), sd.append(g.mean_distance)
    return Evidence(rows, whole, dur, np.array(sp, np.int64), np.array(ss, float), np.array(sd, float))


def decide(ev: Evidence, rule: ShortEvidence) -> np.ndarray:
    """bool[len(ev.rows)]: still matched under ``rule``."""
    w = (ev.whole_level2 > -np.inf) & ((ev.duration_s >= rule.min_seconds) | (ev.whole_level2 >= rule.level2))
    ok = (ev.seg_span_s >= rule.min_seconds) | (ev.seg_mean_distance <= rule.max_mean_distance)
    clip = np.zeros(ev.rows.size, bool)
    clip[ev.seg_pair[ok]] = True
    return w | clip


@dataclass(frozen=True)
class RuleResult:
    """One rule on one run: false positives (all, inside / outside the look-alike set) and recall per label."""

    rule: ShortEvidence
    fp: int
    fp_lookalike: int
    fp_outside: int
    n_unrelated: int
    n_lookalike: int
    recall: dict[str, float]
    fp_by_label: dict[str, int]


def _context(s: Scores, lookalike: str):
    n = int(s.select(BASE).sum())
    q, c, pos = s.query[:n], s.compared[:n], s.positive[:n]
    look = np.array([v.group.startswith(lookalike) for v in s.videos])
    inside = look[q] & look[c]
    return n, q, c, pos, inside, s.labels()[:n]


def evaluate_rule(s: Scores, ev: Evidence, rule: ShortEvidence | None, lookalike: str = "intel-asl-") -> RuleResult:
    """False positives and recall per label of ``policy+flip+bars`` restricted by ``rule`` (None: the
    policy itself)."""
    n, q, c, pos, inside, lab = _context(s, lookalike)
    m = np.zeros(n, bool)
    m[ev.rows] = True if rule is None else decide(ev, rule)
    neg = ~pos
    labels = sorted(set(lab[pos].tolist()))
    return RuleResult(
        rule or ShortEvidence(math.inf, -math.inf, math.inf), int((m & neg).sum()), int((m & neg & inside).sum()),
        int((m & neg & ~inside).sum()), int(neg.sum()), int((neg & inside).sum()),
        {t: float(m[pos & (lab == t)].mean()) for t in labels},
        {t: int((m & neg & (lab == t)).sum()) for t in labels})


def held_out(s: Scores, ev: Evidence, *, min_seconds: float = 5.0, lookalike: str = "intel-asl-",
             splits: int = 50, seed: int = 0) -> list[dict]:
    """Calibrate on half of the look-alike groups, test on the other half, ``splits`` times.

    Per split: the level-2 threshold (0.01 steps) and the mean-distance threshold (whole bits) are the
    loosest that flag none of the calibration half's unrelated pairs (both videos from calibration
    groups); the result is how many unrelated pairs with both videos from the held-out groups the
    calibrated rule flags. Returns one dict per split.
    """
    n, q, c, pos, inside, lab = _context(s, lookalike)
    groups = np.array([v.group for v in s.videos])
    names = sorted({g for g in groups[q[inside]]})
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(splits):
        cal = set(rng.permutation(names)[: len(names) // 2].tolist())
        in_cal = np.isin(groups, list(cal))
        cal_pair = in_cal[q] & in_cal[c] & ~pos
        test_pair = inside & ~in_cal[q] & ~in_cal[c] & ~pos
        cal_rows = cal_pair[ev.rows]
        short_w = cal_rows & (ev.duration_s < min_seconds) & (ev.whole_level2 > -np.inf)
        t2 = max(0.6, math.ceil(ev.whole_level2[short_w].max() * 100 + 1e-9) / 100) if short_w.any() else 0.6
        sseg = cal_rows[ev.seg_pair] & (ev.seg_span_s < min_seconds)
        d = min(31.0, math.floor(ev.seg_mean_distance[sseg].min() - 1e-9)) if sseg.any() else 31.0
        rule = ShortEvidence(min_seconds, t2, d)
        m = np.zeros(n, bool)
        m[ev.rows] = decide(ev, rule)
        out.append({"rule": rule, "test_fp": int((m & test_pair).sum()), "test_pairs": int(test_pair.sum()),
                    "cal_fp": int((m & cal_pair).sum())})
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def tables(s: Scores, ev: Evidence, rules: Sequence[ShortEvidence | None], labels: Sequence[str],
           lookalike: str = "intel-asl-") -> str:
    """A Markdown trade-off table: one row per rule."""
    res = [evaluate_rule(s, ev, r, lookalike) for r in rules]
    head = ("| evidence < S s: L2 >= / mean distance <= | FP (all unrelated) | in look-alike set | outside | "
            + " | ".join(labels) + " |")
    lines = [head, "|" + "---|" * (4 + len(labels))]
    for r, x in zip(rules, res):
        name = "policy+flip+bars (no rule)" if r is None else f"S={r.min_seconds:g}: {r.level2:g} / {r.max_mean_distance:g}"
        cells = [_pct(x.recall.get(t, math.nan)) + ("*" if x.fp_by_label.get(t) else "") for t in labels]
        lines.append(f"| {name} | {x.fp} / {x.n_unrelated:,} | {x.fp_lookalike} / {x.n_lookalike:,} | "
                     f"{x.fp_outside} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


DEFAULT_SWEEP = (None, ShortEvidence(5, 0.6, 31), ShortEvidence(5, 0.6, 16), ShortEvidence(5, 0.8, 16),
                 ShortEvidence(5, 0.85, 16), ShortEvidence(5, 0.9, 31), ShortEvidence(5, 0.9, 16),
                 ShortEvidence(5, 0.9, 12), ShortEvidence(5, 0.95, 12), ShortEvidence(4, 0.9, 16),
                 ShortEvidence(10, 0.9, 16), ShortEvidence(30, 0.9, 16), ShortEvidence(1e9, 0.9, 16))
WHOLE_LABELS = ("reencode_crf35", "reencode_mpeg4_q12", "resize_0.5", "crop_5", "crop_10", "crop_20", "letterbox_12",
                "pillarbox_12", "logo_10", "logo_20", "pip_50", "grey", "sepia", "brightness_contrast", "hflip",
                "fps_25", "speed_0.8", "speed_1.25", "trim_5_5", "gif_10fps", "black_1_1", "slideshow_2s", "clip_5s",
                "clip_60s", "same-group")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m vidprint.eval.lookalikes", description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", help="a `vidprint eval --out` folder (scores.npz, work/fingerprints)")
    ap.add_argument("--lookalike", default="intel-asl-", help="group-name prefix of the look-alike set")
    ap.add_argument("--splits", type=int, default=50)
    a = ap.parse_args(argv)
    out = Path(a.out_dir)
    s = Scores.load(out / "scores.npz")
    ev = collect(s, out / "work" / "fingerprints")
    present = set(s.labels()[s.positive].tolist())
    print(tables(s, ev, DEFAULT_SWEEP, [t for t in WHOLE_LABELS if t in present], a.lookalike))
    h = held_out(s, ev, lookalike=a.lookalike, splits=a.splits)
    fps = np.array([x["test_fp"] for x in h])
    t2 = np.array([x["rule"].level2 for x in h])
    dd = np.array([x["rule"].max_mean_distance for x in h])
    print(f"\nheld-out, {len(h)} random halves of the look-alike groups: calibrated level 2 "
          f"{t2.min():.2f}..{t2.max():.2f} (median {np.median(t2):.2f}), mean distance {dd.min():g}..{dd.max():g}; "
          f"held-out false positives: 0 in {(fps == 0).sum()} of {len(h)} splits, median {np.median(fps):g}, "
          f"max {fps.max()} (of {h[0]['test_pairs']:,} held-out unrelated pairs per split)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
