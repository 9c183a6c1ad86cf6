"""Temporal alignment of a query clip against a compared video from their vPDQ hashes.

Finds where the query's content appears in the compared video as straight lines
``t_compared = speed * t_query + offset_s`` in the plane of matched frame pairs, working in seconds
(timestamps), so differing frame rates and sampling intervals do not matter.

Algorithm (all times in seconds):

1. Frames with ``quality < quality`` are dropped on both sides: blank / flat frames never take part.
2. Candidate pairs: every (query frame, compared frame) at Hamming distance ``<= distance``, found
   exactly with a 16 x 16-bit multi-index (pigeonhole, docs/algorithms.md §4.2) in a Numba kernel.
3. Local non-maximum suppression: a pair is kept only if its distance is the minimum among the pairs
   of the same query frame whose compared times are within ``nms_window_s``, **and** among the pairs of
   the same compared frame whose query times are within ``nms_window_s``. Moving content keeps about
   one pair per frame, on the true line; a near-static stretch (whose frames all match each other)
   keeps a few pairs at scattered places instead of a dense block, so it cannot draw a line on its own.
   Each kept pair has weight ``1 / (number of tied minima)``, so exact duplicates share one vote.
4. Hough vote over (speed, offset) with speeds on a geometric grid over ``speed_range`` (speed 1
   wins ties) and offset bins of ``bin_s``; each kept pair votes with its weight times
   ``(distance + 1 - d) / (distance + 1)``, so near-identical pairs outvote the many far ones of
   look-alike footage. The strongest line is refined by iteratively re-weighted least squares on
   the kept pairs within ``tolerance_s`` of it (the speed only where they span >= 0.25 s).
5. Support: a query frame supports the line if **any** of its pairs (before suppression) lies within
   ``tolerance_s`` of it (so static stretches inside a true match do count). Supported frames are split
   into segments wherever two consecutive supported frames are more than ``max_gap_s`` apart.
6. A segment is reported if it has ``>= min_frames`` supported frames, ``score >= min_score``,
   evidence density ``>= min_density``, and is *pinned down* (see :class:`Segment`): a frame is
   specific when its best pair on the line is at least ``specificity_margin`` bits closer than its
   best pair on the line shifted by +-(tolerance_s + 1) or +-(tolerance_s + 3) s ("none within
   ``distance``" counts as ``distance + 1``); the segment needs specificity ``>= min_specificity``
   **or** at least ``min_specific_s`` seconds of specific frames (and ``>= min_frames`` of them).
   Frames that support the shifted lines about as well (still images, static shots, short loops)
   do not pin the alignment down, so a line made only of them is rejected, while a clip whose
   moving second is followed by a long static stretch is still found. The kept
   pairs near the line are then removed and steps 4-6 repeat, so a clip that appears several times
   yields several segments. Overlapping segments (two transforms, two nearly equal lines) keep the best.

Limit: with one hash per second on **both** sides, the sampling instants of the two videos differ by
up to half a second, and fast-changing content (e.g. the hand-held chair footage) then has no frame
pairs within 31 bits at all; hash at least one side densely for clip search.

Tested tolerances (tests/test_vpdq_align.py): re-encoding noise up to 8 bits per hash, 30 -> 25 fps,
speed 0.8x-1.25x, dropped frames, repeated occurrences, static stretches, low-quality blocks, 1 s
clips of look-alike footage (generated and real), clips of 0.6 s of motion and 4 s of a held shot.
Measured on the evaluation set: docs/eval-clips.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from vidprint.errors import InvalidArgumentError
from vidprint.vpdq import _kernels
from vidprint.vpdq.features import VPDQHash, require_vpdq
from vidprint.vpdq.match import DISTANCE_THRESHOLD, QUALITY_THRESHOLD, pair_finder

IDENTITY = "orig"  # name of the untransformed query in Segment.transform (docs/algorithms.md §5.3 order names)


@dataclass(frozen=True)
class Segment:
    """One aligned stretch: query ``[query_start_s, query_end_s]`` shows the content of compared
    ``[compared_start_s, compared_end_s]``.

    * ``query_start_s`` / ``query_end_s``: timestamps of the first and last supporting query frame.
    * ``compared_start_s`` / ``compared_end_s``: the line evaluated at those two query times.
    * ``matched_frames``: query frames (quality-filtered) in the segment that have a match within
      ``tolerance_s`` of the line.
    * ``score``: in 0..1, the larger of (a) ``matched_frames`` / all quality-filtered query frames
      with timestamps in ``[query_start_s, query_end_s]`` and (b) the same fraction for the compared
      frames in ``[compared_start_s, compared_end_s]`` (+- ``tolerance_s``). 1 = every usable frame of
      the more sparsely sampled side matched where expected; taking the larger keeps a 30 fps query
      against a 1 fps compared video (or the reverse) scoring high.
    * ``speed``: d t_compared / d t_query (1.25 = the query plays the content 1.25x faster).
    * ``offset_s``: compared time corresponding to query time 0 (``t_c = speed * t_q + offset_s``).
    * ``transform``: which query variant matched (``"orig"`` unless dihedral variants were given).
    * ``mean_distance``: mean, over matched frames, of the smallest Hamming distance of an on-line pair.
    * ``density``: evidence of the locally-best pairs on the line per frame (0..1, counted on the
      sparser side); ~0.8-0.9 for moving content, below 0.25 for a line through static content.
    * ``specificity``: fraction of the matched frames whose best pair on the line is at least
      ``specificity_margin`` bits closer than any pair on the same line shifted by
      +-(tolerance_s + 1) s or +-(tolerance_s + 3) s (no pair within ``distance`` there counts as
      ``distance + 1``); 1 for moving content, 0 for a still image or a short loop, whose position
      along the line is undetermined, and low for look-alike footage, whose pairs on the line are
      all far (a frame matched at more than ``distance + 1 - specificity_margin`` bits is never
      specific).
    """

    query_start_s: float
    query_end_s: float
    compared_start_s: float
    compared_end_s: float
    matched_frames: int
    score: float
    speed: float
    offset_s: float
    transform: str = IDENTITY
    mean_distance: float = math.nan
    density: float = 0.0
    specificity: float = 0.0

    @property
    def query_duration_s(self) -> float:
        return self.query_end_s - self.query_start_s

    def compared_at(self, query_time_s: float) -> float:
        """The compared time (seconds) of query time ``query_time_s`` on this segment's line
        (``speed * t + offset_s``). Evaluated at a query's first and last frame, it locates a whole
        clip even where its ends were not matched (e.g. frames of quality below the threshold)."""
        return float(self.speed * float(query_time_s) + self.offset_s)


@dataclass(frozen=True)
class _Params:
    distance: int
    speed_range: tuple[float, float]
    tolerance_s: float
    max_gap_s: float
    min_frames: int
    min_score: float
    min_density: float
    min_specificity: float
    nms_window_s: float
    bin_s: float
    max_segments: int
    shifts: tuple[float, ...] = ()
    specificity_margin: int = 8
    min_specific_s: float = 0.5


def _speed_grid(lo: float, hi: float, query_span: float, bin_s: float) -> np.ndarray:
    # Offsets are measured at the query's middle, so a speed error e shifts the line by at most
    # e * span / 2 at the ends: keep that under half a bin.
    step = min(0.01, bin_s / max(query_span, 1e-9))
    n = int(math.ceil(math.log(hi / lo) / math.log1p(step))) + 1
    n = max(2, min(n, 4000))
    g = np.geomspace(lo, hi, n)
    if lo <= 1.0 <= hi:
        g = np.unique(np.append(g, 1.0))
    # nearest to speed 1 first: the Hough peak keeps the first of equal maxima, so on a clip too
    # short to tell the speeds apart, the unedited speed wins
    return np.ascontiguousarray(g[np.argsort(np.abs(np.log(g)), kind="stable")])


#: Shortest query span (seconds) of the inliers over which the line fit estimates a speed; over a
#: shorter span it keeps the Hough speed (the slope of a few frames is noise).
_MIN_FIT_SPAN_S = 0.25


def _fit_line(tq, tc, w, s0, o0, ref, tol, lo, hi):
    """IRLS (Tukey-like) fit of tc = s * (tq - ref) + o starting from (s0, o0); returns (s, o, inlier mask)."""
    s, o = s0, o0
    inl = np.abs(tc - (s * (tq - ref) + o)) <= tol
    for _ in range(4):
        if inl.sum() < 2:
            break
        x, y = tq[inl] - ref, tc[inl]
        r = y - (s * x + o)
        ww = w[inl] * np.clip(1.0 - (r / tol) ** 2, 0.0, None) ** 2
        if ww.sum() <= 0:
            break
        xm = np.average(x, weights=ww)
        ym = np.average(y, weights=ww)
        sxx = np.sum(ww * (x - xm) ** 2)
        if sxx > 1e-9 * ww.sum() and np.ptp(x) >= _MIN_FIT_SPAN_S:
            s_new = float(np.sum(ww * (x - xm) * (y - ym)) / sxx)
            if not lo / 1.1 <= s_new <= hi * 1.1:
                s_new = s
        else:
            s_new = s
        o_new = float(ym - s_new * xm)
        s, o = s_new, o_new
        inl = np.abs(tc - (s * (tq - ref) + o)) <= tol
    return s, o, inl


def _mutual_minima(qi, cj, dd, tq, tc, window: float) -> tuple[np.ndarray, np.ndarray]:
    """Step 3: indices of the pairs that are local distance minima along both axes, and their
    weights ``1 / (number of tied minima)``."""
    o_row = np.lexsort((tc, qi))
    row_min = np.empty(qi.size, dtype=np.bool_)
    row_ties = np.empty(qi.size, dtype=np.int64)
    _kernels.window_minima(qi[o_row], tc[o_row], dd[o_row], window, row_min, row_ties)
    o_col = np.lexsort((tq, cj))
    col_min = np.empty(qi.size, dtype=np.bool_)
    col_ties = np.empty(qi.size, dtype=np.int64)
    _kernels.window_minima(cj[o_col], tq[o_col], dd[o_col], window, col_min, col_ties)
    keep = np.zeros(qi.size, dtype=np.bool_)
    ties = np.ones(qi.size, dtype=np.int64)
    keep[o_row] = row_min
    ties[o_row] = row_ties
    keep2 = np.zeros(qi.size, dtype=np.bool_)
    keep2[o_col] = col_min
    ties2 = np.ones(qi.size, dtype=np.int64)
    ties2[o_col] = col_ties
    keep &= keep2
    k_idx = np.flatnonzero(keep)
    return k_idx, 1.0 / np.maximum(ties[k_idx], ties2[k_idx]).astype(np.float64)


@dataclass(frozen=True)
class _Pairs:
    """Candidate pairs of one alignment: query row ``qi``, compared row ``cj``, distance ``dd``, and
    their times ``tq`` / ``tc`` (seconds)."""

    qi: np.ndarray
    cj: np.ndarray
    dd: np.ndarray
    tq: np.ndarray
    tc: np.ndarray


def _line_segments(pairs: _Pairs, q_t, s: float, o: float, ref: float, near_k, k_tq, k_w,
                   q_sorted_t, c_sorted_t, p: _Params, transform: str) -> list[Segment]:
    """Steps 5-6 for the line ``tc = s * (tq - ref) + o``: supported query frames, split at gaps,
    each run scored and kept if it passes the thresholds. ``near_k``: the kept pairs on the line."""
    qi, cj, dd, tq, tc = pairs.qi, pairs.cj, pairs.dd, pairs.tq, pairs.tc
    resid = tc - (s * (tq - ref) + o)
    on = np.abs(resid) <= p.tolerance_s
    if not on.any():
        return []
    best_d = np.full(q_t.shape[0], _NO_PAIR, dtype=np.int64)
    np.minimum.at(best_d, qi[on], dd[on].astype(np.int64))
    # specificity: a frame pins the alignment down only if its best pair on the line is clearly
    # (specificity_margin bits) closer than any pair on the line shifted by a few seconds; "no pair
    # within the threshold" there counts as distance + 1. Static content and loops match about as
    # well everywhere; a high-distance pair on the line (look-alike footage) is never clearly better.
    off_d = np.full(q_t.shape[0], p.distance + 1, dtype=np.int64)
    for delta in p.shifts:
        m = np.abs(resid - delta) <= p.tolerance_s
        np.minimum.at(off_d, qi[m], dd[m].astype(np.int64))
    elsewhere = off_d < best_d + p.specificity_margin
    # specific frames needed on their own: min_specific_s of query time at its sampling interval
    # (a float: math.inf disables this way of being pinned down)
    dt_q = float(np.median(np.diff(q_sorted_t))) if q_sorted_t.size > 1 else 1.0
    min_specific_n = max(float(p.min_frames), p.min_specific_s / max(dt_q, 1e-6) - 1e-9)
    frames = np.flatnonzero(best_d < _NO_PAIR)
    ft = q_t[frames]
    order = np.argsort(ft, kind="stable")
    frames, ft = frames[order], ft[order]
    cuts = np.flatnonzero(np.diff(ft) > p.max_gap_s) + 1
    out: list[Segment] = []
    for run in np.split(np.arange(frames.size), cuts):
        if run.size < max(p.min_frames, 1):
            continue
        qs, qe = float(ft[run[0]]), float(ft[run[-1]])
        n_q = int(np.searchsorted(q_sorted_t, qe, "right") - np.searchsorted(q_sorted_t, qs, "left"))
        cs, ce = s * (qs - ref) + o, s * (qe - ref) + o
        lo_c, hi_c = min(cs, ce) - p.tolerance_s, max(cs, ce) + p.tolerance_s
        n_c = int(np.searchsorted(c_sorted_t, hi_c, "right") - np.searchsorted(c_sorted_t, lo_c, "left"))
        in_run = near_k & (k_tq >= qs) & (k_tq <= qe)
        density = float(k_w[in_run].sum()) / max(1, min(n_q, n_c))
        c_hit = np.unique(cj[on & (tq >= qs) & (tq <= qe) & (tc >= lo_c) & (tc <= hi_c)]).size
        score = max(run.size / max(n_q, 1), c_hit / max(n_c, 1))
        n_specific = int(np.count_nonzero(~elsewhere[frames[run]]))
        specific = n_specific / run.size
        pinned = specific >= p.min_specificity or n_specific >= min_specific_n
        if score < p.min_score or density < p.min_density or not pinned:
            continue
        out.append(Segment(
            query_start_s=qs,
            query_end_s=qe,
            compared_start_s=float(cs),
            compared_end_s=float(ce),
            matched_frames=int(run.size),
            score=float(score),
            speed=float(s),
            offset_s=float(o - s * ref),
            transform=transform,
            mean_distance=float(best_d[frames[run]].mean()),
            density=float(min(density, 1.0)),
            specificity=specific,
        ))
    return out


#: "No pair" marker of the per-frame best distance (larger than any Hamming distance).
_NO_PAIR = 1 << 30


def _align_one(
    q_words: np.ndarray, q_t: np.ndarray, finder, c_t: np.ndarray, p: _Params, transform: str
) -> list[Segment]:
    """Alignment of quality-filtered frames (``words uint64[N,4]``, ``t float64[N]`` seconds) against
    the compared frames behind ``finder`` (see :func:`pair_finder`) with timestamps ``c_t``."""
    if q_words.shape[0] == 0 or c_t.shape[0] == 0:
        return []
    qi, cj, dd = finder(q_words)
    if qi.size == 0:
        return []
    pairs = _Pairs(qi, cj, dd, q_t[qi], c_t[cj])

    # 3. mutual local minima
    k_idx, k_w = _mutual_minima(qi, cj, dd, pairs.tq, pairs.tc, p.nms_window_s)
    k_tq = np.ascontiguousarray(pairs.tq[k_idx])
    k_tc = np.ascontiguousarray(pairs.tc[k_idx])
    # vote weight: closer pairs count more, so that on look-alike footage (every frame within the
    # threshold of many others) the near-identical pairs, not the many far ones, set the line
    k_v = np.ascontiguousarray(k_w * (p.distance + 1.0 - dd[k_idx].astype(np.float64)) / (p.distance + 1.0))
    active = np.ones(k_idx.size, dtype=np.bool_)

    # 4. Hough grid: speeds, and offsets measured at the query's middle
    lo, hi = p.speed_range
    q_lo, q_hi = float(q_t.min()), float(q_t.max())
    ref = 0.5 * (q_lo + q_hi)
    speeds = _speed_grid(lo, hi, q_hi - q_lo, p.bin_s)
    omin = float(k_tc.min()) - hi * (q_hi - ref) - 2 * p.bin_s
    omax = float(k_tc.max()) + hi * (ref - q_lo) + 2 * p.bin_s
    nbins = int(math.ceil((omax - omin) / p.bin_s)) + 1
    c_sorted_t = np.sort(c_t)
    q_sorted_t = np.sort(q_t)
    min_votes = max(2.0, 0.5 * p.min_frames * p.min_density)

    segments: list[Segment] = []
    for _ in range(_PEAKS_PER_SEGMENT * p.max_segments):
        if len(segments) >= p.max_segments or not active.any():
            break
        si, o0, votes = _kernels.hough_peak(k_tq, k_tc, k_v, active, speeds, ref, omin, p.bin_s, nbins)
        if votes < min_votes:
            break
        s, o, _ = _fit_line(k_tq[active], k_tc[active], k_v[active], float(speeds[si]), o0, ref,
                            p.tolerance_s, lo, hi)
        near_k = active & (np.abs(k_tc - (s * (k_tq - ref) + o)) <= p.tolerance_s)
        if not near_k.any():  # the refined line drifted off its votes: drop the peak's own pairs
            near_k = active & (np.abs(k_tc - (speeds[si] * (k_tq - ref) + o0)) <= p.tolerance_s)
            if not near_k.any():
                break
        active &= ~near_k
        # 5-6. support from all pairs, segments
        segments.extend(_line_segments(pairs, q_t, s, o, ref, near_k, k_tq, k_w, q_sorted_t, c_sorted_t,
                                       p, transform))
    return segments


#: Hough peaks examined per segment asked for (a peak may yield no segment).
_PEAKS_PER_SEGMENT = 4


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    """Overlap of two intervals as a fraction of the shorter one (0..1)."""
    inter = min(a1, b1) - max(a0, b0)
    shorter = max(min(a1 - a0, b1 - b0), 1e-9)
    return max(0.0, inter) / shorter


def _dedupe(segs: list[Segment]) -> list[Segment]:
    """Among segments covering the same stretch (>50 % overlap on both axes; e.g. two transforms, or
    two nearly identical lines), keep the best (most matched frames, then highest score)."""
    ranked = sorted(segs, key=lambda g: (-g.matched_frames, -g.score))
    out: list[Segment] = []

    def c_span(g: Segment) -> tuple[float, float]:
        return min(g.compared_start_s, g.compared_end_s), max(g.compared_start_s, g.compared_end_s)

    for g in ranked:
        if any(
            _overlap(g.query_start_s, g.query_end_s, h.query_start_s, h.query_end_s) > 0.5
            and _overlap(*c_span(g), *c_span(h)) > 0.5
            for h in out
        ):
            continue
        out.append(g)
    return out


def align(
    query: VPDQHash,
    compared: VPDQHash,
    distance: int = DISTANCE_THRESHOLD,
    quality: int = QUALITY_THRESHOLD,
    *,
    speed_range: tuple[float, float] = (0.8, 1.25),
    tolerance_s: float = 0.5,
    max_gap_s: float = 5.0,
    min_frames: int = 5,
    min_score: float = 0.3,
    min_density: float = 0.2,
    min_specificity: float = 0.2,
    nms_window_s: float = 0.5,
    bin_s: float = 0.25,
    max_segments: int = 16,
    dihedral: Mapping[str, np.ndarray] | None = None,
    specificity_margin: int = 8,
    min_specific_s: float = 0.5,
) -> list[Segment]:
    """Find where the query's content appears in ``compared`` (module docstring for the algorithm).

    Parameters:
        distance: Hamming threshold in bits (inclusive) for a frame pair to match.
        quality: frames with quality below this (0..100) are ignored on both sides.
        speed_range: (min, max) of d t_compared / d t_query searched.
        tolerance_s: how far (compared seconds) a pair may lie from the line and still count.
        max_gap_s: longest run of query time without support inside one segment.
        min_frames, min_score, min_density, min_specificity: acceptance thresholds of a segment (see
            :class:`Segment`).
        specificity_margin: bits by which a frame's pair on the line must beat its pairs on the
            shifted lines for the frame to count as specific (0..distance + 1).
        min_specific_s: a segment with fewer than ``min_specificity`` specific frames is still
            accepted when its specific frames amount to this many seconds of query time (count x
            median query sampling interval, and at least ``min_frames`` frames): e.g. a 5 s clip with
            one second of motion and four of a static shot. ``math.inf`` disables it.
        nms_window_s: half-width (seconds) of the local-minimum suppression window.
        bin_s: offset bin of the Hough vote, seconds.
        max_segments: maximum number of segments returned per transform.
        dihedral: optional ``{name: uint64[N, 4]}`` hashes of transformed query frames (same frames and
            order as ``query``, e.g. the 8 PDQ dihedral variants). Each is aligned too; overlapping
            results keep the best transform, reported in ``Segment.transform``. The untransformed query
            is always searched, as ``"orig"`` unless some entry holds identical words.

    Returns segments sorted by compared start time.
    """
    require_vpdq(query, "query")
    require_vpdq(compared, "compared")
    p = _Params(
        int(distance), (float(speed_range[0]), float(speed_range[1])), float(tolerance_s),
        float(max_gap_s), int(min_frames), float(min_score), float(min_density), float(min_specificity),
        float(nms_window_s), float(bin_s), int(max_segments),
        tuple(sg * (float(tolerance_s) + d) for d in (1.0, 3.0) for sg in (-1.0, 1.0)),
        int(specificity_margin), float(min_specific_s),
    )
    if not 0 < p.speed_range[0] <= p.speed_range[1]:
        raise InvalidArgumentError("speed_range", f"speed_range must satisfy 0 < min <= max, got {speed_range}")
    if p.specificity_margin < 0 or not p.min_specific_s >= 0:
        raise InvalidArgumentError("specificity_margin, min_specific_s",
                                   f"must be >= 0, got {specificity_margin}, {min_specific_s}")
    qmask = query.quality >= quality
    cmask = compared.quality >= quality
    c_words = np.ascontiguousarray(compared.words[cmask])
    c_t = np.ascontiguousarray(compared.timestamps[cmask])
    q_t = np.ascontiguousarray(query.timestamps[qmask])

    variants: dict[str, np.ndarray] = {}
    if dihedral:
        for name, w in dihedral.items():
            w = np.ascontiguousarray(w, dtype=np.uint64)
            if w.shape != query.words.shape:
                raise InvalidArgumentError("dihedral", f"dihedral variant {name!r} has shape {w.shape}, query {query.words.shape}")
            variants[name] = w
    if not any(np.array_equal(w, query.words) for w in variants.values()):
        variants = {IDENTITY: query.words, **variants}

    finder = pair_finder(c_words, p.distance, int(qmask.sum()) * len(variants))
    segs: list[Segment] = []
    for name, w in variants.items():
        segs.extend(_align_one(np.ascontiguousarray(w[qmask]), q_t, finder, c_t, p, name))
    return merge_segments(segs)


def merge_segments(*groups: Sequence[Segment]) -> list[Segment]:
    """The segments of several alignments of one pair (e.g. of the whole frames and of the content
    areas), as :func:`align` returns them: among segments covering the same stretch (> 50% overlap of
    the shorter, in query time and in compared time) only the best is kept (most matched frames, then
    highest score), and the rest are sorted by compared start time."""
    segs = _dedupe([g for group in groups for g in group])
    return sorted(segs, key=lambda g: (g.compared_start_s, g.query_start_s))
