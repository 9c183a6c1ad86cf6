"""PDQ hash and PDQF float descriptor of one image or frame, bit-exact with Meta's reference
(docs/algorithms.md §1).

Pipeline: RGB -> float32 luma (:mod:`vidprint.decode.luma`) -> Jarosz tent blur + decimation to 64x64
-> quality -> 16x16 DCT (=PDQF) -> bits above the lower median (=PDQ). The arithmetic details are in
the kernel modules ``_blur`` and ``_dct``.

Image entry points (``img`` is ``uint8[H, W, 3]`` RGB or ``uint8[H, W]`` grey):

* :func:`hash_image` -> :class:`PDQHash` (``.hex``, ``.quality``, ``a - b`` = Hamming distance);
* :func:`pdqf` -> ``float32[256]``, the DCT coefficients ``B[u, v]`` at index ``16*u + v``;
* :func:`hash_image_dihedral` -> 8 hashes in :data:`DIHEDRAL_NAMES` order, from one DCT (§1.9);
* :func:`luma_from_rgb` -> ``float32[H, W]``.

``luma="f32"`` (default) computes the luminance in float32 exactly as the C++ reference
(``(0.299R + 0.587G) + 0.114B``), which is what the reference video hashers (TMK, vPDQ) do.
``luma="f64"`` reproduces PyPI ``pdqhash`` (used by python-threatexchange), whose wrapper computes the
same luma in float64 with NumPy and rounds it to float32: about a third of the pixels then differ by one
float32 ulp, the PDQF by ~1e-6 relative, and hash bits only when a coefficient sits at the median
(none of the 37 reference images). ``pdqf-expected.npz`` of the reference data is ``pdqhash.compute_float``
(``luma="f64"``, stored in reverse order ``[255 - k]``) and is reproduced bit for bit.

Luma entry points, for frames whose luma the decoder computed itself (``float32[H, W]``, values 0..255):
:func:`hash_luma`, :func:`pdqf_luma`, and the batch forms :func:`hash_luma_batch`,
:func:`hash_luma_dihedral_batch`, :func:`pdqf_luma_batch`, which run one nogil Numba call for many
frames (safe to run from several threads at once).

Semantics as the reference: an image with ``H < 5`` or ``W < 5`` hashes to all zeros with quality 0;
an exactly 64x64 input is not blurred (``hash_*`` and ``pdqf*``; the dihedral entry points always blur);
the PDQF entry points have no size guard (any size >= 1x1).

8-bit 4:2:0 video frames can be hashed straight from their YUV planes (no luma plane stored):
:func:`hash_yuv420p_batch` (:mod:`vidprint.pdqf.fused`).

Modules: :mod:`~vidprint.pdqf.image` (image entry points), :mod:`~vidprint.pdqf.frames` (luma
entry points), :mod:`~vidprint.pdqf.fused` (YUV planes), :mod:`~vidprint.pdqf.hash` (the hash value,
hex, distances), :mod:`~vidprint.pdqf.scratch` (buffers); kernels in ``_blur`` (Jarosz filter),
``_dct`` (quality, DCT, bits) and ``_kernels`` (whole pipelines).

Low level, for per-frame calls with preallocated buffers (also callable from other Numba kernels; all
``nogil``), see :class:`Scratch`, :func:`make_scratch` and, in :mod:`vidprint.pdqf._kernels`:

* ``hash_into(luma, rgb, mode, work, a64, tmp, b, median_scratch, words) -> quality``
* ``dihedral_hash_into(luma, rgb, mode, work, a64, tmp, b, b8, median_scratch, words8) -> quality``
* ``pdqf_into(luma, rgb, mode, shortcut, work, a64, tmp, b) -> quality``

with ``mode`` one of ``MODE_LUMA`` (source ``luma`` float32[H, W]; pass ``Scratch.dummy_rgb`` as ``rgb``),
``MODE_RGB`` / ``MODE_RGB_F64`` (source ``rgb`` uint8[H, W, 3]; pass ``Scratch.dummy_luma``), ``work`` from
``alloc_workspace(H, W)``, ``a64`` float32[64, 64], ``tmp`` float32[16, 64], ``b`` float32[16, 16] (receives
the PDQF), ``b8`` float32[8, 16, 16], ``median_scratch`` float32[256], ``words`` uint64[4] /
``words8`` uint64[8, 4] (layout of :mod:`vidprint.pdqf.hash`). All arrays C-contiguous.
"""
from __future__ import annotations

from vidprint.pdqf._dct import DIHEDRAL_NAMES
from vidprint.pdqf.frames import hash_luma, hash_luma_batch, hash_luma_dihedral_batch, pdqf_luma, pdqf_luma_batch
from vidprint.pdqf.fused import hash_yuv420p_batch
from vidprint.pdqf.hash import PDQHash, hamming, hamming_matrix, hex_to_words, hexes_to_words, words_to_hex
from vidprint.pdqf.image import hash_image, hash_image_dihedral, luma_from_rgb, pdqf
from vidprint.pdqf.scratch import Scratch, make_scratch

__all__ = [
    "DIHEDRAL_NAMES",
    "PDQHash",
    "Scratch",
    "hamming",
    "hamming_matrix",
    "hash_image",
    "hash_image_dihedral",
    "hash_luma",
    "hash_luma_batch",
    "hash_luma_dihedral_batch",
    "hash_yuv420p_batch",
    "hex_to_words",
    "hexes_to_words",
    "luma_from_rgb",
    "make_scratch",
    "pdqf",
    "pdqf_luma",
    "pdqf_luma_batch",
    "words_to_hex",
]
