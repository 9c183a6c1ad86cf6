"""Input planes for the libswscale comparisons, shared by ``test_swscale.py`` and the script that records
its expected values (``record_swscale_expectations.py``), so that both feed libswscale and vidprint the
same pixels. Plain numpy: importing this module loads neither vidprint nor PyAV.
"""
from __future__ import annotations

import numpy as np


def constant_planes(w: int, h: int, yv: int, uv: int, vv: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y, U, V planes (uint8, shapes (h, w) and ((h+1)//2, (w+1)//2)) of a 4:2:0 frame of one colour."""
    cw, ch = (w + 1) // 2, (h + 1) // 2
    return (np.full((h, w), yv, np.uint8), np.full((ch, cw), uv, np.uint8), np.full((ch, cw), vv, np.uint8))


def random_planes(w: int, h: int, seed: int = 12345) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y, U, V planes (uint8, 4:2:0) of uniform random noise; the same seed gives the same pixels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 256, (h, w), dtype=np.uint8)
    u = rng.integers(0, 256, ((h + 1) // 2, (w + 1) // 2), dtype=np.uint8)
    v = rng.integers(0, 256, ((h + 1) // 2, (w + 1) // 2), dtype=np.uint8)
    return y, u, v
