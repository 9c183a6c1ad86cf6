"""C integer arithmetic (int64), as libswscale's table and filter builders do it in C.

Used by :mod:`vidprint.decode._yuv2rgb` (colour tables) and :mod:`vidprint.decode._swscale_filters`
(scaler filters), which must reproduce libswscale's integer results bit for bit. ``c_div`` and
``rounded_div`` are Numba functions, callable from Python and from the filter kernels alike.
"""
from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def c_div(a, b):
    """C integer division ``a / b`` (int64): truncates toward zero (Python's ``//`` floors). ``b != 0``."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


@njit(cache=True, nogil=True)
def rounded_div(a, b):
    """FFmpeg's ``ROUNDED_DIV(a, b)`` (int64) for ``b > 0``: division rounding half away from zero."""
    return c_div(a + (b >> 1) if a >= 0 else a - (b >> 1), b)


def av_log2(v: int) -> int:
    """FFmpeg's ``av_log2``: index of the highest set bit, 0 for ``v <= 0``."""
    return v.bit_length() - 1 if v > 0 else 0
