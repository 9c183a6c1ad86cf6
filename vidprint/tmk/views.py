"""Views of TMK frames: the PDQF of a rectangle of each frame, for crop and picture-in-picture copies.

A *view* is a rectangle of the frame (:class:`Region`, fractions of the height and width), resampled
to 64x64 with an area (box) filter, whose PDQF feeds a TMK accumulator as a whole frame would. Two
uses (measured in docs/eval-views.md):

* index side, *zoom views* of an original (``Region.centre(0.8)``, ``0.9``): a copy cropped by 20%
  (10%) shows what the stored zoom view shows, so the copy's plain descriptor matches that view;
* query side, the *active region* of a copy (:class:`ActivityMap`, :func:`active_region`): a video
  shrunk onto a static background (picture-in-picture) moves only inside its rectangle, so the
  rectangle is found from the per-pixel temporal standard deviation of the first seconds, and its
  view matches the original's plain descriptor.

Resampling and PDQF fuse. The PDQF of a 64x64 frame ``Y`` (the TMK path, no blur: docs/algorithms.md
§1.10) is ``D Y D^T / 32`` with ``D[i, j] = cos(pi/128 (i+1)(2j+1))`` (16 x 64), and the area
resampling of a rectangle is ``A_r Y A_c^T`` (64 x h and 64 x w, sparse). So a view's PDQF is
``L Y R^T`` with ``L = D A_r / sqrt(32)`` (16 x h) and ``R = D A_c / sqrt(32)`` (16 x w): no
intermediate image, and about the cost of one PDQF per view per frame, on frames the pipeline
already has (the 64x64 TMK frame source; any size works).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit

from vidprint.errors import InvalidArgumentError
from vidprint.tmk.compact import CompactDescriptor
from vidprint.tmk.compact_accumulate import CompactAccumulator

OUT = 64  # PDQ's working size: every view is resampled to OUT x OUT before the transform
NUM_DCT = 16  # PDQF keeps the 16 x 16 lowest DCT coefficients


@dataclass(frozen=True)
class Region:
    """A rectangle of a frame in fractions of its size: rows ``[top, bottom)``, columns
    ``[left, right)``, ``0 <= top < bottom <= 1`` (same for columns)."""

    top: float = 0.0
    left: float = 0.0
    bottom: float = 1.0
    right: float = 1.0

    def __post_init__(self):
        vals = (self.top, self.left, self.bottom, self.right)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in vals):
            raise InvalidArgumentError("region", f"region bounds must be finite numbers, got {vals}")
        if not (0.0 <= self.top < self.bottom <= 1.0 and 0.0 <= self.left < self.right <= 1.0):
            raise InvalidArgumentError("region", f"need 0 <= top < bottom <= 1 and 0 <= left < right <= 1, got {self}")

    @classmethod
    def centre(cls, keep: float) -> "Region":
        """The centred rectangle of ``keep`` of the height and of the width (``0 < keep <= 1``):
        what a crop that removes ``1 - keep`` of each side's length, half on each side, leaves."""
        if not (isinstance(keep, (int, float)) and 0.0 < keep <= 1.0):
            raise InvalidArgumentError("keep", f"keep must be in (0, 1], got {keep!r}")
        m = (1.0 - keep) / 2.0
        return cls(m, m, 1.0 - m, 1.0 - m)

    @property
    def area(self) -> float:
        """Fraction of the frame's area."""
        return (self.bottom - self.top) * (self.right - self.left)

    def pixels(self, h: int, w: int) -> tuple[float, float, float, float]:
        """``(top, left, bottom, right)`` in (fractional) pixels of an ``h`` x ``w`` frame."""
        return self.top * h, self.left * w, self.bottom * h, self.right * w


FULL = Region()


# ------------------------------------------------------------------------------------------------
# Resampling and transform matrices


def _check_interval(n_in: int, a: float, b: float) -> None:
    if not (isinstance(n_in, (int, np.integer)) and n_in >= 1):
        raise InvalidArgumentError("n_in", f"the input length must be a positive integer, got {n_in!r}")
    if not (0.0 <= a < b <= n_in):
        raise InvalidArgumentError("interval", f"need 0 <= start < stop <= {n_in}, got [{a}, {b})")


@lru_cache(maxsize=512)
def _area_matrix_cached(n_in: int, a: float, b: float, n_out: int) -> np.ndarray:
    m = np.zeros((n_out, n_in), np.float64)
    s = (b - a) / n_out
    for o in range(n_out):
        lo, hi = a + o * s, a + (o + 1) * s
        for i in range(max(0, int(math.floor(lo))), min(n_in, int(math.ceil(hi)))):
            m[o, i] = max(0.0, min(hi, i + 1.0) - max(lo, float(i)))
        m[o] /= m[o].sum()
    m.flags.writeable = False
    return m


def area_matrix(n_in: int, start: float, stop: float, n_out: int = OUT) -> np.ndarray:
    """float64[n_out, n_in]: output sample ``o`` is the mean of the input signal (pixel ``i`` covers
    ``[i, i + 1)``) over ``[start + o s, start + (o + 1) s)``, ``s = (stop - start) / n_out``.
    Down- and upsampling alike (an output cell inside one pixel takes that pixel). Read-only."""
    _check_interval(n_in, float(start), float(stop))
    if n_out < 1:
        raise InvalidArgumentError("n_out", f"n_out must be >= 1, got {n_out}")
    return _area_matrix_cached(int(n_in), float(start), float(stop), int(n_out))


@lru_cache(maxsize=1)
def _dct16() -> np.ndarray:
    i = np.arange(NUM_DCT, dtype=np.float64)[:, None]
    j = np.arange(OUT, dtype=np.float64)[None, :]
    return np.cos(np.pi / (2 * OUT) * (i + 1) * (2 * j + 1))


@lru_cache(maxsize=256)
def _view_matrices_cached(h: int, w: int, region: Region) -> tuple[np.ndarray, np.ndarray]:
    t, l, b, r = region.pixels(h, w)
    d = _dct16() / math.sqrt(32.0)
    lm = np.ascontiguousarray(d @ area_matrix(h, t, min(b, h)), dtype=np.float64)
    rm = np.ascontiguousarray(d @ area_matrix(w, l, min(r, w)), dtype=np.float64)
    lm.flags.writeable = False
    rm.flags.writeable = False
    return lm, rm


def view_matrices(h: int, w: int, region: Region) -> tuple[np.ndarray, np.ndarray]:
    """``(L, R)``, float64[16, h] and float64[16, w]: the view's PDQF of an ``h`` x ``w`` frame ``Y``
    is ``(L @ Y @ R.T).ravel()`` (row-major, index ``16 u + v`` as :func:`vidprint.pdqf.pdqf_luma_batch`)."""
    if not isinstance(region, Region):
        raise InvalidArgumentError("region", f"expected a Region, got {type(region).__name__}")
    if h < 1 or w < 1:
        raise InvalidArgumentError("frame", f"frame size must be positive, got {h}x{w}")
    return _view_matrices_cached(int(h), int(w), region)


def _support(m: np.ndarray) -> tuple[int, int]:
    nz = np.flatnonzero(np.any(m != 0.0, axis=0))
    return int(nz[0]), int(nz[-1]) + 1


# ------------------------------------------------------------------------------------------------
# Kernels


@njit(cache=True, nogil=True, error_model="numpy")
def _view_features_into(y, lms, rts, rows, cols, out):
    """out[v, f, 16 u + k] = sum_ij lms[v, u, i] y[f, i, j] rts[v, j, k] over the view's support
    ``rows[v] = (i0, i1)``, ``cols[v] = (j0, j1)`` (outside it the matrices are zero).

    y float32[n, h, w]; lms float32[V, 16, h]; rts float32[V, w, 16] (the right matrix transposed);
    rows, cols int64[V, 2]; out float32[V, n, 256]. As PDQ's DCT kernel: each output is a sequential
    float32 sum in increasing index order and the innermost loop runs over independent outputs
    (vectorised without reordering any sum, so results do not depend on the CPU's SIMD width).
    """
    nv = lms.shape[0]
    n = y.shape[0]
    w = y.shape[2]
    tmp = np.empty((NUM_DCT, w), np.float32)
    acc = np.empty(NUM_DCT, np.float32)
    for v in range(nv):
        lm = lms[v]
        rt = rts[v]
        i0, i1 = rows[v, 0], rows[v, 1]
        j0, j1 = cols[v, 0], cols[v, 1]
        for f in range(n):
            yf = y[f]
            o = out[v, f]
            # rows first over the whole width: a loop over [0, w) vectorises much better than one
            # over the view's columns [j0, j1) (measured ~3x), and the extra columns are cheap
            for u in range(NUM_DCT):
                tu = tmp[u]
                for j in range(w):
                    tu[j] = 0.0
                for i in range(i0, i1):
                    c = lm[u, i]
                    yi = yf[i]
                    for j in range(w):
                        tu[j] = tu[j] + c * yi[j]
            for u in range(NUM_DCT):
                tu = tmp[u]
                for k in range(NUM_DCT):
                    acc[k] = 0.0
                for j in range(j0, j1):
                    t = tu[j]
                    rj = rt[j]
                    for k in range(NUM_DCT):
                        acc[k] = acc[k] + t * rj[k]
                for k in range(NUM_DCT):
                    o[NUM_DCT * u + k] = acc[k]


def _as_frames(luma: np.ndarray) -> np.ndarray:
    y = np.asarray(luma)
    if y.ndim == 2:
        y = y[None]
    if y.ndim != 3 or y.shape[1] < 1 or y.shape[2] < 1:
        raise InvalidArgumentError("luma", f"luma must be float32[n, h, w] (or [h, w]), got shape {np.shape(luma)}")
    if not np.issubdtype(y.dtype, np.number):
        raise InvalidArgumentError("luma", f"luma must be numeric, got {y.dtype}")
    return np.ascontiguousarray(y, dtype=np.float32)


def view_features(luma: np.ndarray, regions: tuple[Region, ...] | list[Region]) -> np.ndarray:
    """The PDQF of every view of every frame: ``float32[len(regions), n, 256]``.

    ``luma``: ``float32[n, h, w]`` PDQ luminance (0..255; any size, e.g. the 64x64 TMK frames). View
    ``v`` of frame ``f`` equals ``pdqf_luma_batch`` of the 64x64 area resampling of ``regions[v]``
    (:func:`region_luma`), up to float rounding. ``Region()`` of a 64x64 frame is its plain PDQF.
    """
    y = _as_frames(luma)
    regs = tuple(regions)
    if not regs:
        raise InvalidArgumentError("regions", "at least one region is needed")
    n, h, w = y.shape
    mats = [view_matrices(h, w, r) for r in regs]
    lms = np.ascontiguousarray(np.stack([m[0] for m in mats]), dtype=np.float32)
    rts = np.ascontiguousarray(np.stack([m[1].T for m in mats]), dtype=np.float32)
    rows = np.array([_support(m[0]) for m in mats], np.int64).reshape(-1, 2)
    cols = np.array([_support(m[1]) for m in mats], np.int64).reshape(-1, 2)
    out = np.empty((len(regs), n, NUM_DCT * NUM_DCT), np.float32)
    if n:
        _view_features_into(y, lms, rts, rows, cols, out)
    return out


def region_luma(luma: np.ndarray, region: Region, size: int = OUT) -> np.ndarray:
    """The area resampling of ``region`` of each frame: ``float32[n, size, size]`` (for inspection;
    :func:`view_features` does not build it)."""
    y = _as_frames(luma)
    n, h, w = y.shape
    t, l, b, r = region.pixels(h, w)
    ar, ac = area_matrix(h, t, min(b, h), size), area_matrix(w, l, min(r, w), size)
    return (ar @ y.astype(np.float64) @ ac.T).astype(np.float32)


# ------------------------------------------------------------------------------------------------
# Active region: the part of the frame that changes over time


class ActivityMap:
    """Streaming per-pixel temporal standard deviation of frames of one size (float64 sums: memory
    is two ``h`` x ``w`` arrays whatever the number of frames).

    Example::

        act = ActivityMap()
        for batch in first_seconds:      # float32[n, h, w]
            act.update(batch)
        region = active_region(act.std())
    """

    def __init__(self) -> None:
        self._s: np.ndarray | None = None
        self._ss: np.ndarray | None = None
        self.count = 0

    def update(self, luma: np.ndarray) -> None:
        """Add ``float32[n, h, w]`` frames (the same ``h`` x ``w`` as earlier calls)."""
        y = _as_frames(luma).astype(np.float64)
        if self._s is None:
            self._s = np.zeros(y.shape[1:], np.float64)
            self._ss = np.zeros(y.shape[1:], np.float64)
        elif y.shape[1:] != self._s.shape:
            raise InvalidArgumentError("luma", f"frame size changed from {self._s.shape} to {y.shape[1:]}")
        self._s += y.sum(axis=0)
        self._ss += np.einsum("nij,nij->ij", y, y)
        self.count += y.shape[0]

    def mean(self) -> np.ndarray:
        """float64[h, w]: each pixel's mean over the frames so far (luma levels)."""
        if self._s is None or self.count == 0:
            raise InvalidArgumentError("activity", "no frames were added")
        return self._s / self.count

    def std(self) -> np.ndarray:
        """float64[h, w]: each pixel's standard deviation over the frames so far (luma levels)."""
        if self._s is None or self.count == 0:
            raise InvalidArgumentError("activity", "no frames were added")
        m = self._s / self.count
        return np.sqrt(np.maximum(self._ss / self.count - m * m, 0.0))


@dataclass(frozen=True)
class ActiveParams:
    """Thresholds of :func:`active_region` (luma levels and fractions; docs/eval-views.md).

    A pixel is *active* when its temporal std reaches ``min_std`` (a quarter of a luma level: any
    change at all, camera and coding noise included, while a static overlay or background coded as
    skipped blocks stays at ~0). A row (column) belongs to the region when its share of active
    pixels is at least ``line_fraction`` of the busiest row's (column's). The region is kept only
    when it is at most ``max_area`` of the frame and at least ``min_side`` of each side, and the
    mean std outside it is at most ``border_ratio`` times the mean inside. With the frames' temporal
    mean, each side then moves to the strongest straight edge of the mean image within ``snap`` of
    the side's length (the border of an inset picture is such an edge; the activity box alone is
    often a pixel or two off, where the inset's own content is static near its border).
    """

    min_std: float = 0.25
    line_fraction: float = 0.2
    max_area: float = 0.8
    min_side: float = 0.2
    border_ratio: float = 0.1
    snap: float = 0.05


DEFAULT_ACTIVE = ActiveParams()


def _edge_strength(mean: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """e[i] (i = 1..h-1): median over columns ``[lo, hi)`` of ``|mean[i] - mean[i - 1]|``: how
    strongly a straight horizontal edge separates rows i - 1 and i along that span (e[0] = -1)."""
    e = np.full(mean.shape[0], -1.0)
    e[1:] = np.median(np.abs(np.diff(mean[:, lo:hi], axis=0)), axis=1)
    return e


def _snap(pos: int, e: np.ndarray, reach: int, n: int) -> int:
    cands = np.arange(max(1, pos - reach), min(n - 1, pos + reach) + 1)
    return int(cands[np.argmax(e[cands])]) if len(cands) else pos


def active_region(std: np.ndarray, params: ActiveParams = DEFAULT_ACTIVE,
                  mean: np.ndarray | None = None) -> Region | None:
    """The rectangle of a frame that moves (from :meth:`ActivityMap.std`, ``float[h, w]``), or None
    when the whole frame moves, nothing moves, or the static border is not clearly static. ``mean``
    (:meth:`ActivityMap.mean`, same shape): snap each side to the nearest strong straight edge
    (:class:`ActiveParams` ``snap``)."""
    s = np.asarray(std, dtype=np.float64)
    if s.ndim != 2 or min(s.shape) < 4 or not np.isfinite(s).all():
        raise InvalidArgumentError("std", f"std must be a finite float[h, w] map (h, w >= 4), got shape {s.shape}")
    if mean is not None and np.shape(mean) != s.shape:
        raise InvalidArgumentError("mean", f"mean must have the shape of std {s.shape}, got {np.shape(mean)}")
    h, w = s.shape
    act = s >= params.min_std
    if not act.any():
        return None
    fr, fc = act.mean(axis=1), act.mean(axis=0)
    rows = np.flatnonzero(fr >= params.line_fraction * fr.max())
    cols = np.flatnonzero(fc >= params.line_fraction * fc.max())
    t, b, l, r = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    reg = Region(t / h, l / w, b / h, r / w)
    if reg.area > params.max_area or min(reg.bottom - reg.top, reg.right - reg.left) < params.min_side:
        return None
    inside = np.zeros_like(act)
    inside[t:b, l:r] = True
    if s[~inside].mean() > params.border_ratio * s[inside].mean():
        return None
    if mean is None or params.snap <= 0:
        return reg
    m = np.asarray(mean, dtype=np.float64)
    er, ec = _edge_strength(m, l, r), _edge_strength(m.T, t, b)
    rh, rw = max(1, round(params.snap * h)), max(1, round(params.snap * w))
    t2, b2 = _snap(t, er, rh, h), _snap(b, er, rh, h)
    l2, r2 = _snap(l, ec, rw, w), _snap(r, ec, rw, w)
    if b2 - t2 < params.min_side * h or r2 - l2 < params.min_side * w:
        return reg
    return Region(t2 / h, l2 / w, b2 / h, r2 / w)


# ------------------------------------------------------------------------------------------------
# Streaming: compact descriptors of views


#: The centred zoom views the pipeline describes (``keep`` fractions: named ``"c95"``, ``"c90"``,
#: ``"c80"``; a crop of 5%, 10% or 20% shows what they show; docs/eval-views.md, docs/evaluation.md).
DEFAULT_ZOOMS = (0.95, 0.9, 0.8)
#: Name of the active-region view.
ACTIVE_VIEW = "active"
#: The zoom view compared on *both* sides (the first side's against the second side's): the edges,
#: where a broadcaster's logo or a caption sits, are left out of both (docs/evaluation.md, "logo").
CENTRE_VIEW = "c80"


def zoom_name(keep: float) -> str:
    """The name of the centred view keeping ``keep`` of each side: ``"c80"`` for 0.8."""
    return f"c{round(100 * keep)}"


class ViewAccumulator:
    """Compact TMK descriptors of views of a stream of TMK frames, in one pass with bounded memory.

    ``zooms``: the centred views to describe (``keep`` fractions; the index-side views of an
    original, named ``"c90"`` for 0.9 and so on). ``active``: also describe the active region
    (:func:`active_region` of the frames of the first ``active_seconds``; the query-side view of a
    picture-in-picture copy): those frames are held back (64x64 float32: 16 KB each, 45 at 15 fps)
    until the region is decided, then described with the rest. Frames of any fixed size work; the
    pipeline's 64x64 TMK frames are enough (PDQF keeps DCT frequencies up to 8 cycles per frame,
    far below the sampling limit of even a 32-pixel view).

    Example::

        acc = ViewAccumulator(zooms=(0.9, 0.8), active=True)
        for luma, times in stream:        # float32[n, h, w], float64[n] seconds
            acc.update(luma, times)
        views = acc.finalize()            # {"c90": CompactDescriptor, "c80": ..., "active": ...}
        acc.region                        # the active Region, or None (no "active" entry then)
    """

    def __init__(self, zooms: tuple[float, ...] = DEFAULT_ZOOMS, active: bool = False,
                 active_seconds: float = 3.0, params: ActiveParams = DEFAULT_ACTIVE) -> None:
        self._zooms = {zoom_name(k): Region.centre(k) for k in zooms}
        if len(self._zooms) != len(tuple(zooms)):
            raise InvalidArgumentError("zooms", f"zoom fractions must differ in whole percent, got {zooms}")
        if not active_seconds > 0:
            raise InvalidArgumentError("active_seconds", f"active_seconds must be positive, got {active_seconds}")
        self._acc = {name: CompactAccumulator() for name in self._zooms}
        self._active = active
        self._active_seconds = float(active_seconds)
        self._params = params
        self._activity = ActivityMap() if active else None
        self._held: list[tuple[np.ndarray, np.ndarray]] = []
        self._t0: float | None = None
        self._decided = not active
        self.region: Region | None = None

    def zoom_features(self, luma: np.ndarray) -> np.ndarray | None:
        """The zoom views' PDQF of ``float32[n, h, w]`` frames, ``float32[len(zooms), n, 256]`` (None
        without zooms). Reads no state: a worker thread may compute it and pass it to :meth:`update`."""
        if not self._zooms:
            return None
        return view_features(luma, list(self._zooms.values()))

    def update(self, luma: np.ndarray, times_s: np.ndarray, zoom_features: np.ndarray | None = None) -> None:
        """Add ``float32[n, h, w]`` frames shown at ``times_s`` (float64[n] seconds, non-decreasing).
        ``zoom_features``: :meth:`zoom_features` of the same frames, if already computed."""
        y = _as_frames(luma)
        t = np.atleast_1d(np.asarray(times_s, dtype=np.float64))
        if t.shape != (y.shape[0],):
            raise InvalidArgumentError("times_s", f"times_s must have shape ({y.shape[0]},), got {t.shape}")
        if y.shape[0] == 0:
            return
        if self._zooms:
            feats = self.zoom_features(y) if zoom_features is None else zoom_features
            if np.shape(feats) != (len(self._zooms), y.shape[0], NUM_DCT * NUM_DCT):
                raise InvalidArgumentError("zoom_features", f"expected shape {(len(self._zooms), y.shape[0], 256)}, "
                                                            f"got {np.shape(feats)}")
            for k, name in enumerate(self._zooms):
                self._acc[name].update(feats[k], t)
        if self._decided:
            self._add_active(y, t)
            return
        if self._t0 is None:
            self._t0 = float(t[0])
        early = t < self._t0 + self._active_seconds
        self._activity.update(y[early])
        self._held.append((y.copy(), t.copy()))
        if not early.all():
            self._decide()

    def _decide(self) -> None:
        self._decided = True
        if self._activity.count:
            self.region = active_region(self._activity.std(), self._params, self._activity.mean())
        if self.region is not None:
            self._acc[ACTIVE_VIEW] = CompactAccumulator()
        held, self._held = self._held, []
        for y, t in held:
            self._add_active(y, t)

    def _add_active(self, y: np.ndarray, t: np.ndarray) -> None:
        if self.region is not None:
            self._acc[ACTIVE_VIEW].update(view_features(y, [self.region])[0], t)

    def finalize(self) -> dict[str, CompactDescriptor]:
        """``name -> CompactDescriptor`` of every view (``"active"`` only when a region was found).
        Views of a stream without frames are absent."""
        if not self._decided:
            self._decide()
        return {name: acc.finalize() for name, acc in self._acc.items() if acc.count}


def zoom_descriptors(src, zooms: tuple[float, ...] = DEFAULT_ZOOMS) -> dict[str, CompactDescriptor]:
    """Compact descriptors of the centred zoom views of a video (``{"c95": ..., "c90": ..., "c80": ...}``),
    from its 64x64 TMK frames (the reference TMK frame source).

    A decoding pass of its own, for evaluation (:mod:`vidprint.eval.methods`); the pipeline would
    feed a :class:`ViewAccumulator` the TMK frames it already decodes. ``src``: a path, bytes or a
    binary file object; raises :class:`vidprint.DecodeError` naming it when it cannot be decoded.
    """
    from vidprint.decode import TMKSource, read_frames  # noqa: PLC0415 - evaluation only

    acc = ViewAccumulator(zooms=zooms, active=False)
    for batch in read_frames(src, {"tmk": TMKSource()}):
        acc.update(np.ascontiguousarray(batch.luma), batch.time)
    return acc.finalize()


__all__ = [
    "ACTIVE_VIEW",
    "CENTRE_VIEW",
    "DEFAULT_ACTIVE",
    "DEFAULT_ZOOMS",
    "FULL",
    "OUT",
    "ActiveParams",
    "ActivityMap",
    "Region",
    "ViewAccumulator",
    "active_region",
    "area_matrix",
    "region_luma",
    "view_features",
    "view_matrices",
    "zoom_descriptors",
    "zoom_name",
]
