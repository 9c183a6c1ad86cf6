"""Constants of the TMK+PDQF reference profile (docs/algorithms.md §2.3).

Every ``.tmk`` file stores these values in its header and preamble, so they are data, not just
configuration: two descriptors can be compared only when they agree (see
:func:`vidprint.tmk.score.check_compatible`).
"""
from __future__ import annotations

import numpy as np
from scipy.special import iv

#: Resampled frame rate of the reference pipeline, frames per second.
FPS: int = 15
#: Dimension of a PDQF frame feature.
FEATURE_DIM: int = 256
#: Number of Fourier coefficients per period.
NUM_COEFFICIENTS: int = 32
#: Bessel parameter of the Poullot weights.
BETA: float = 32.0
#: Name of the only frame-feature algorithm the reference recognizes.
ALGORITHM: bytes = b"PDQF"


def poullot_periods() -> np.ndarray:
    """The four "Poullot" periods, in resampled (15 fps) frames: ``int32[4]``, all prime."""
    return np.array([2731, 4391, 9767, 14653], dtype=np.int32)


def poullot_coefficients(m: int = NUM_COEFFICIENTS, beta: float = BETA) -> np.ndarray:
    """Poullot Fourier weights ``a_0 .. a_{m-1}`` as ``float32[m]``.

    ``a_0 = (I_0(beta) - exp(-beta)) / (2 sinh beta)`` and ``a_j = I_j(beta) / sinh beta``, evaluated
    in f64 with :func:`scipy.special.iv` and rounded once to f32. For the defaults (m = 32,
    beta = 32) the result equals, bit for bit, the coefficients stored in the reference ``.tmk``
    files (checked by ``tests/test_tmk_format.py``).
    """
    j = np.arange(m, dtype=np.float64)
    sinh_b = np.sinh(beta)
    a = iv(j, beta) / sinh_b
    a[0] = (iv(0.0, beta) - np.exp(-beta)) / (2.0 * sinh_b)
    return a.astype(np.float32)


def pair_score_normalizer(coefficients: np.ndarray) -> np.float32:
    """Level-2 normalizer ``N = a_0 + 2 * sum_{j>=1} a_j`` (about 1.9291957 for the defaults).

    Evaluated as the reference does: an f32 running value, each step ``value + 2.0 * a_j``
    computed in f64 and stored back to f32. Returns 1 for an empty coefficient list.
    """
    c = np.asarray(coefficients, dtype=np.float32)
    if c.size == 0:
        return np.float32(1.0)
    acc = np.float32(c[0])
    for a in c[1:]:
        acc = np.float32(float(acc) + 2.0 * float(a))
    return acc
