"""Colour-conversion kernels for callers that fuse frame conversion into their own loops.

The public, documented home of decode's row kernels. :mod:`vidprint.pdqf.fused` calls them to hash
8-bit 4:2:0 frames straight from their planes, 8 luma rows at a time into the blur's workspace,
without ever storing a luma plane; :class:`vidprint.decode.convert.LumaConverter` calls the same
kernels to produce whole luma planes. Both therefore give the same bits.

* :func:`luma420_rows` ``(y, u, v, width, r0, r1, tables, lt, out, o0)``: PDQ luma of image rows
  ``r0 .. r1-1`` of a 4:2:0 frame, libswscale's plain-C table conversion fused with the luma
  (nogil, unchecked: call :func:`check_planes` once per frame first);
* :func:`yuv_tables` / :func:`luma_tables` ``(full_range)``: the integer tables and their
  luma-premultiplied float32 form the kernel needs (cached, read-only);
* :func:`check_planes` ``(y, u, v, width, height, chroma_rows, out_h, out_w)``: raises ValueError
  unless the planes cover the frame;
* the luma weights and RGB / grey luma kernels of :mod:`vidprint.decode.luma`.
"""
from vidprint.decode._yuv2rgb import check_planes, luma420_rows, luma_tables, yuv_tables
from vidprint.decode.luma import (
    LUMA_B,
    LUMA_G,
    LUMA_R,
    LUMA_WEIGHTS,
    luma_from_grey_into,
    luma_from_rgb_into,
    luma_row_from_rgb,
    luma_row_from_rgb_f64,
)

__all__ = [
    "LUMA_B",
    "LUMA_G",
    "LUMA_R",
    "LUMA_WEIGHTS",
    "check_planes",
    "luma420_rows",
    "luma_from_grey_into",
    "luma_from_rgb_into",
    "luma_row_from_rgb",
    "luma_row_from_rgb_f64",
    "luma_tables",
    "yuv_tables",
]
