"""Mirrored (left-right flipped) TMK descriptors, computed from the descriptor itself: no second decode.

PDQF is the 16x16 DCT ``B[u, v] = sum_{y,x} D[u, y] D[v, x] A[y, x]`` of the 64x64 downsampled luma
``A``, with PDQ's DCT matrix ``D[i, j] = cos(pi / 128 * (i + 1) * (2j + 1))`` (frequencies 1..16: row
``i`` is frequency ``i + 1``, there is no DC row; docs/algorithms.md §1). Mirroring the frame left-right maps column
``x`` to ``63 - x`` and ``D[v, 63 - x] = (-1)^(v + 1) D[v, x]``, so the PDQF of the mirrored frame is
the frame's own PDQF with the sign of every coefficient of *odd horizontal frequency* ``v + 1``
flipped: index ``16 u + v`` with ``v`` even. This is exact for a 64x64 frame. Larger frames are
blurred and decimated to 64x64 first, and the decimation's sample positions are not always mirror
symmetric (a one-pixel shift for some widths): the law then holds to a cosine of >= 0.99 between
predicted and actual PDQF (tests/test_eval_mirror.py checks it on real mirrored frames).

Both TMK profiles are linear in the per-frame features (averages and Fourier sums, then scalings that
depend on norms only), so flipping the signs of the descriptor's feature dimensions gives exactly the
descriptor of the mirrored video, int8 quantization included (the per-part scales are max-abs, which
sign changes keep). Vertical flips follow the same way with ``u``; both together are a 180° rotation.

:func:`compact_score_oriented` scores a pair in both orientations and says which one matched. Searching
two orientations doubles the unrelated comparisons a query makes, so its false-positive rate is about
twice the one-orientation rate at the same thresholds: docs/evaluation.md has the measured cost.
"""
from __future__ import annotations

import numpy as np

from vidprint.tmk.compact import COMPACT_LEVEL1_THRESHOLD, LEVEL1_INDEX, CompactDescriptor
from vidprint.tmk.compact_scoring import CompactScore, compact_level1, compact_score
from vidprint.tmk.descriptor import TMKDescriptor

_U, _V = np.divmod(np.arange(256), 16)

#: float32[256] signs taking a PDQF vector (index ``16 u + v``) to the PDQF of the left-right mirror.
HFLIP_SIGNS = np.where(_V % 2 == 0, -1.0, 1.0).astype(np.float32)
#: The same for an upside-down flip (odd vertical frequencies ``u + 1``).
VFLIP_SIGNS = np.where(_U % 2 == 0, -1.0, 1.0).astype(np.float32)
#: Orientation name -> signs, ``"orig"`` first (names as :data:`vidprint.pdqf.DIHEDRAL_NAMES` where shared).
ORIENTATIONS: dict[str, np.ndarray] = {
    "orig": np.ones(256, np.float32),
    "flipx": HFLIP_SIGNS,
    "flipy": VFLIP_SIGNS,
    "rot180": HFLIP_SIGNS * VFLIP_SIGNS,
}

for _s in ORIENTATIONS.values():
    _s.flags.writeable = False


def _signs(orientation: str) -> np.ndarray:
    try:
        return ORIENTATIONS[orientation]
    except KeyError:
        raise ValueError(f"unknown orientation {orientation!r}; known: {list(ORIENTATIONS)}") from None


def mirror_features(features: np.ndarray, orientation: str = "flipx") -> np.ndarray:
    """PDQF vectors ``float32[..., 256]`` of the flipped frames (sign changes, see module docstring)."""
    f = np.asarray(features, dtype=np.float32)
    if f.shape[-1] != 256:
        raise ValueError(f"features must be float32[..., 256], got shape {f.shape}")
    return f * _signs(orientation)


def mirror_compact(d: CompactDescriptor, orientation: str = "flipx") -> CompactDescriptor:
    """The compact descriptor of the flipped video: exact, int8 codes included."""
    s = _signs(orientation)
    l1 = (d.level1_int8.astype(np.int16) * s[LEVEL1_INDEX].astype(np.int16)).astype(np.int8)
    if d.quantized:
        coeffs = (d.coeffs.astype(np.int16) * s.astype(np.int16)).astype(np.int8)
    else:
        coeffs = d.coeffs * s
    return CompactDescriptor(level1=l1, dc_norm=d.dc_norm, scales=d.scales, coeffs=coeffs,
                             frame_count=d.frame_count, duration_s=d.duration_s)


def mirror_tmk(d: TMKDescriptor, orientation: str = "flipx") -> TMKDescriptor:
    """The reference-profile descriptor of the flipped video (a new object; ``.tmk`` files unchanged)."""
    s = _signs(orientation)
    return TMKDescriptor(fps=d.fps, periods=d.periods, coefficients=d.coefficients,
                         frame_count=d.frame_count, average=d.average * s, cos=d.cos * s, sin=d.sin * s)


def compact_score_oriented(
    a: CompactDescriptor,
    b: CompactDescriptor,
    orientations: tuple[str, ...] = ("orig", "flipx"),
    level1: float = COMPACT_LEVEL1_THRESHOLD,
) -> tuple[CompactScore, str]:
    """The best compact score of ``a`` against ``b`` seen in each of ``orientations`` of ``b``.

    Level 2 (the expensive part) is computed only for orientations whose level 1 reaches ``level1``
    (the prefilter, as an index query does); the result is the orientation with the highest level 2
    among those. If none passes, the orientation with the highest level 1, with ``level2``,
    ``offset`` and ``scale`` NaN (not computed). Returns ``(score, orientation)``.
    """
    if not orientations:
        raise ValueError("orientations must not be empty")
    best: tuple[CompactScore, str] | None = None
    fallback: tuple[float, str] | None = None
    for name in orientations:
        bb = b if name == "orig" else mirror_compact(b, name)
        l1 = compact_level1(a, bb)
        if l1 >= level1:
            sc = compact_score(a, bb)
            if best is None or sc.level2 > best[0].level2:
                best = (sc, name)
        elif fallback is None or l1 > fallback[0]:
            fallback = (l1, name)
    if best is not None:
        return best
    nan = float("nan")
    return CompactScore(fallback[0], nan, nan, nan), fallback[1]


__all__ = [
    "HFLIP_SIGNS",
    "ORIENTATIONS",
    "VFLIP_SIGNS",
    "compact_score_oriented",
    "mirror_compact",
    "mirror_features",
    "mirror_tmk",
]
