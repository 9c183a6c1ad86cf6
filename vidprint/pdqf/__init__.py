"""PDQ hash and PDQF float descriptor of one image or frame, bit-exact with Meta's reference (spec §1).

Pipeline: RGB -> float32 luma -> Jarosz tent blur + decimation to 64x64 -> quality -> 16x16 DCT (=PDQF)
-> bits above the lower median (=PDQ). See :mod:`vidprint.pdqf._kernels` for the arithmetic details.

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

import threading
from dataclasses import dataclass, field

import numpy as np

from vidprint.pdqf import _kernels
from vidprint.pdqf.hash import PDQHash, hamming, hamming_matrix, hex_to_words, hexes_to_words, words_to_hex

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
    "hex_to_words",
    "hexes_to_words",
    "luma_from_rgb",
    "make_scratch",
    "pdqf",
    "pdqf_luma",
    "pdqf_luma_batch",
    "words_to_hex",
]

#: Names of the 8 dihedral variants, in the reference's order (§1.9): the image transform each
#: hash corresponds to (rotations counter-clockwise; flipx reverses rows, flipy reverses columns,
#: flipplus1 transposes, flipminus1 anti-transposes).
DIHEDRAL_NAMES: tuple[str, ...] = ("orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1")

_LUMA_MODES = {"f32": _kernels.MODE_RGB, "f64": _kernels.MODE_RGB_F64}


def _readonly(arr: np.ndarray) -> np.ndarray:
    """A read-only view (no copy). Kernels never write their inputs; passing every input read-only
    means one Numba specialisation serves writable arrays and read-only ones (e.g. from Pillow)."""
    v = arr.view()
    v.flags.writeable = False
    return v


_DUMMY_RGB = _readonly(np.empty((0, 0, 3), dtype=np.uint8))
_DUMMY_LUMA = _readonly(np.empty((0, 0), dtype=np.float32))


@dataclass(frozen=True)
class Scratch:
    """Preallocated buffers for hashing frames of one size ``h x w`` (see :func:`make_scratch`).

    Reuse one per thread; the arrays are overwritten by every call.
    """

    h: int
    w: int
    work: np.ndarray  # float32[rows, max(w, 64)], blur workspace
    a64: np.ndarray  # float32[64, 64], the decimated plane
    tmp: np.ndarray  # float32[16, 64], half-done DCT
    b: np.ndarray  # float32[16, 16], PDQF of the last frame
    b8: np.ndarray  # float32[8, 16, 16], dihedral coefficient matrices
    median: np.ndarray  # float32[256], median scratch
    dummy_rgb: np.ndarray = field(default_factory=lambda: _DUMMY_RGB)  # uint8[0, 0, 3], unused source
    dummy_luma: np.ndarray = field(default_factory=lambda: _DUMMY_LUMA)  # float32[0, 0], unused source

    def _check(self, luma: np.ndarray) -> np.ndarray:
        # the kernels do no bounds checking: a plane larger than the workspace would overrun it
        if luma.shape != (self.h, self.w) or luma.dtype != np.float32 or not luma.flags.c_contiguous:
            raise ValueError(
                f"expected a C-contiguous float32[{self.h}, {self.w}] luma plane, got {luma.dtype}{list(luma.shape)}"
            )
        return _readonly(luma)

    def hash_luma_into(self, luma: np.ndarray, words: np.ndarray) -> int:
        """PDQ of ``luma`` float32[h, w] (C-contiguous) into ``words`` uint64[4]; returns the quality."""
        return int(
            _kernels.hash_into(
                self._check(luma), self.dummy_rgb, _kernels.MODE_LUMA, self.work, self.a64, self.tmp, self.b, self.median, words
            )
        )

    def pdqf_luma_into(self, luma: np.ndarray, coeffs: np.ndarray) -> int:
        """PDQF of ``luma`` float32[h, w] into ``coeffs`` float32[256]; returns the quality."""
        q = _kernels.pdqf_into(
            self._check(luma), self.dummy_rgb, _kernels.MODE_LUMA, True, self.work, self.a64, self.tmp, self.b
        )
        coeffs[:] = self.b.reshape(256)
        return int(q)


def make_scratch(h: int, w: int) -> Scratch:
    """Buffers for frames of ``h`` rows and ``w`` columns."""
    if h < 1 or w < 1:
        raise ValueError(f"frame size must be at least 1x1, got {h}x{w}")
    return Scratch(
        h=int(h),
        w=int(w),
        work=_kernels.alloc_workspace(int(h), int(w)),
        a64=np.empty((64, 64), dtype=np.float32),
        tmp=np.empty((16, 64), dtype=np.float32),
        b=np.empty((16, 16), dtype=np.float32),
        b8=np.empty((8, 16, 16), dtype=np.float32),
        median=np.empty(256, dtype=np.float32),
    )


_LOCAL = threading.local()


def _cached_scratch(h: int, w: int) -> Scratch:
    """This thread's scratch for ``h x w`` frames (kept for the last size used)."""
    s = getattr(_LOCAL, "scratch", None)
    if s is None or s.h != h or s.w != w:
        s = make_scratch(h, w)
        _LOCAL.scratch = s
    return s


# --------------------------------------------------------------------------------------------------
# Input checking


def _check_luma_mode(luma: str) -> int:
    try:
        return _LUMA_MODES[luma]
    except KeyError:
        raise ValueError(f"luma must be 'f32' or 'f64', got {luma!r}") from None


def _as_image(img) -> tuple[np.ndarray, bool]:
    """-> (C-contiguous uint8 array, is_rgb). Accepts uint8[H, W, 3] or uint8[H, W]."""
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        raise TypeError(f"image must be uint8, got {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 3:
        return _readonly(np.ascontiguousarray(arr)), True
    if arr.ndim == 2:
        return _readonly(np.ascontiguousarray(arr)), False
    raise ValueError(f"image must be uint8[H, W, 3] (RGB) or uint8[H, W] (grey), got shape {arr.shape}")


def _as_luma(luma, ndim: int) -> np.ndarray:
    arr = np.ascontiguousarray(luma, dtype=np.float32)
    if arr.ndim != ndim:
        shape = "float32[H, W]" if ndim == 2 else "float32[N, H, W]"
        raise ValueError(f"luma must be {shape}, got shape {arr.shape}")
    if arr.shape[-1] < 1 or arr.shape[-2] < 1:
        raise ValueError(f"luma planes must be at least 1x1, got shape {arr.shape}")
    return _readonly(arr)


def _grey_luma(grey: np.ndarray) -> np.ndarray:
    out = np.empty(grey.shape, dtype=np.float32)
    _kernels.luma_from_grey_into(grey, out)
    return _readonly(out)


def _source(img, luma: str) -> tuple[np.ndarray, np.ndarray, int]:
    """-> (luma_plane, rgb, mode) arguments for the kernels."""
    mode = _check_luma_mode(luma)
    arr, is_rgb = _as_image(img)
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"image must be at least 1x1, got shape {arr.shape}")
    if is_rgb:
        return _DUMMY_LUMA, arr, mode
    return _grey_luma(arr), _DUMMY_RGB, _kernels.MODE_LUMA


# --------------------------------------------------------------------------------------------------
# Image entry points


def luma_from_rgb(rgb: np.ndarray, *, luma: str = "f32") -> np.ndarray:
    """PDQ luminance of ``uint8[H, W, 3]`` RGB -> ``float32[H, W]`` (§1.2).

    ``luma="f32"``: ``(0.299*R + 0.587*G) + 0.114*B`` with float32 constants and float32 operations in
    that order (C++ reference). ``luma="f64"``: the same in float64, rounded once (PyPI ``pdqhash``).
    """
    mode = _check_luma_mode(luma)
    arr, is_rgb = _as_image(rgb)
    if not is_rgb:
        raise ValueError(f"luma_from_rgb needs uint8[H, W, 3], got shape {arr.shape}")
    out = np.empty(arr.shape[:2], dtype=np.float32)
    _kernels.luma_from_rgb_into(arr, out, mode != _kernels.MODE_RGB)
    return out


def hash_image(img: np.ndarray, *, luma: str = "f32") -> PDQHash:
    """PDQ hash of an image: ``uint8[H, W, 3]`` RGB or ``uint8[H, W]`` grey, at native size (§1.1)."""
    plane, rgb, mode = _source(img, luma)
    h, w = (rgb.shape[:2] if mode != _kernels.MODE_LUMA else plane.shape)
    s = _cached_scratch(h, w)
    words = np.empty(4, dtype=np.uint64)
    q = _kernels.hash_into(plane, rgb, mode, s.work, s.a64, s.tmp, s.b, s.median, words)
    return PDQHash(words, int(q))


def pdqf(img: np.ndarray, *, luma: str = "f32") -> np.ndarray:
    """PDQF of an image: ``float32[256]``, DCT coefficient ``B[u, v]`` at ``16*u + v`` (§1.10).

    Not median-subtracted, not normalised. No size guard; a 64x64 image is not blurred.
    """
    plane, rgb, mode = _source(img, luma)
    h, w = (rgb.shape[:2] if mode != _kernels.MODE_LUMA else plane.shape)
    s = _cached_scratch(h, w)
    _kernels.pdqf_into(plane, rgb, mode, True, s.work, s.a64, s.tmp, s.b)
    return s.b.reshape(256).copy()


def hash_image_dihedral(img: np.ndarray, *, luma: str = "f32") -> list[PDQHash]:
    """The 8 dihedral PDQ hashes of an image, in :data:`DIHEDRAL_NAMES` order (§1.9).

    Derived from one DCT by sign flips and transposes; always blurs, even a 64x64 image. All share one
    quality.
    """
    plane, rgb, mode = _source(img, luma)
    h, w = (rgb.shape[:2] if mode != _kernels.MODE_LUMA else plane.shape)
    s = _cached_scratch(h, w)
    words8 = np.empty((8, 4), dtype=np.uint64)
    q = _kernels.dihedral_hash_into(plane, rgb, mode, s.work, s.a64, s.tmp, s.b, s.b8, s.median, words8)
    return [PDQHash(words8[d].copy(), int(q)) for d in range(8)]


# --------------------------------------------------------------------------------------------------
# Luma entry points


def hash_luma(luma: np.ndarray) -> PDQHash:
    """PDQ hash of a ``float32[H, W]`` luminance plane (values on the 0..255 scale)."""
    plane = _as_luma(luma, 2)
    s = _cached_scratch(*plane.shape)
    words = np.empty(4, dtype=np.uint64)
    q = s.hash_luma_into(plane, words)
    return PDQHash(words, q)


def pdqf_luma(luma: np.ndarray) -> np.ndarray:
    """PDQF ``float32[256]`` of a ``float32[H, W]`` luminance plane (no size guard, 64x64 unblurred)."""
    plane = _as_luma(luma, 2)
    s = _cached_scratch(*plane.shape)
    out = np.empty(256, dtype=np.float32)
    s.pdqf_luma_into(plane, out)
    return out


def hash_luma_batch(lumas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PDQ of many same-size frames ``float32[N, H, W]`` in one nogil call.

    Returns ``(words uint64[N, 4], quality int32[N])``; ``words`` in :mod:`vidprint.pdqf.hash` layout.
    """
    arr = _as_luma(lumas, 3)
    n = arr.shape[0]
    words = np.empty((n, 4), dtype=np.uint64)
    quality = np.empty(n, dtype=np.int32)
    if n:
        _kernels.hash_luma_batch_into(arr, words, quality)
    return words, quality


def hash_luma_dihedral_batch(lumas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dihedral PDQ of many frames ``float32[N, H, W]``: ``(words uint64[N, 8, 4], quality int32[N])``.

    Variant order :data:`DIHEDRAL_NAMES`; always blurs (reference dihedral entry point).
    """
    arr = _as_luma(lumas, 3)
    n = arr.shape[0]
    words = np.empty((n, 8, 4), dtype=np.uint64)
    quality = np.empty(n, dtype=np.int32)
    if n:
        _kernels.dihedral_luma_batch_into(arr, words, quality)
    return words, quality


def pdqf_luma_batch(lumas: np.ndarray, *, return_quality: bool = False):
    """PDQF of many frames ``float32[N, H, W]`` -> ``float32[N, 256]`` (and ``int32[N]`` quality if asked).

    TMK feeds 64x64 frames, which take the reference's no-blur shortcut (§1.10): their PDQF is the DCT
    of the luma itself. Other sizes are blurred and decimated first. No size guard.
    """
    arr = _as_luma(lumas, 3)
    n = arr.shape[0]
    coeffs = np.empty((n, 256), dtype=np.float32)
    quality = np.empty(n, dtype=np.int32)
    if n:
        _kernels.pdqf_luma_batch_into(arr, coeffs, quality)
    return (coeffs, quality) if return_quality else coeffs
