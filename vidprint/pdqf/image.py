"""PDQ, PDQF and dihedral hashes of one image: ``uint8[H, W, 3]`` RGB, ``uint8[H, W]`` grey, a PIL
image in any mode, or an image file (with Pillow installed)."""
from __future__ import annotations

import os

import numpy as np

from vidprint.decode.luma import luma_from_grey_into, luma_from_rgb_into
from vidprint.errors import DecodeError, InvalidArgumentError
from vidprint.pdqf import _kernels
from vidprint.pdqf.hash import PDQHash
from vidprint.pdqf.scratch import DUMMY_LUMA, DUMMY_RGB, cached_scratch, readonly

_LUMA_MODES = {"f32": _kernels.MODE_RGB, "f64": _kernels.MODE_RGB_F64}


# --------------------------------------------------------------------------------------------------
# Input checking


def _check_luma_mode(luma: str) -> int:
    try:
        return _LUMA_MODES[luma]
    except KeyError:
        raise InvalidArgumentError("luma", f"luma must be 'f32' or 'f64', got {luma!r}") from None


def _is_pil_image(img) -> bool:
    return hasattr(img, "mode") and hasattr(img, "convert") and hasattr(img, "size")


def _open_image(path) -> "object":
    """A PIL image from a path; Pillow is needed for files (the only optional dependency here)."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise InvalidArgumentError(os.fspath(path), "hashing an image file needs Pillow (pip install pillow); "
                                                    "or pass a uint8[H, W, 3] RGB array") from None
    try:
        img = Image.open(path)
        img.load()
        return img
    except FileNotFoundError:
        raise DecodeError(os.fspath(path), "no such file") from None
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DecodeError(os.fspath(path), f"not a readable image ({exc})") from None


def _as_image(img) -> tuple[np.ndarray, bool]:
    """-> (C-contiguous uint8 array, is_rgb).

    Accepts ``uint8[H, W, 3]`` RGB, ``uint8[H, W]`` grey, a PIL image in any mode, or a path to an
    image file. PIL images (and files) are converted with ``image.convert("RGB")``, exactly as the
    reference's own tests prepare their inputs: a palette image is hashed as its colours (never as
    its palette indices), RGBA and LA drop alpha, CMYK/YCbCr/LAB/HSV/I/F follow Pillow's conversion.
    """
    if isinstance(img, (str, os.PathLike)):
        img = _open_image(img)
    if _is_pil_image(img):
        img = img.convert("RGB")
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        raise InvalidArgumentError("image", f"image must be uint8 (or a PIL image or a path), got {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 3:
        return readonly(np.ascontiguousarray(arr)), True
    if arr.ndim == 2:
        return readonly(np.ascontiguousarray(arr)), False
    raise InvalidArgumentError("image", f"image must be uint8[H, W, 3] (RGB) or uint8[H, W] (grey), "
                                        f"got shape {arr.shape}")


def _grey_luma(grey: np.ndarray) -> np.ndarray:
    out = np.empty(grey.shape, dtype=np.float32)
    luma_from_grey_into(grey, out)
    return readonly(out)


def _source(img, luma: str) -> tuple[np.ndarray, np.ndarray, int]:
    """-> (luma_plane, rgb, mode) arguments for the kernels."""
    mode = _check_luma_mode(luma)
    arr, is_rgb = _as_image(img)
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InvalidArgumentError("image", f"image must be at least 1x1, got shape {arr.shape}")
    if is_rgb:
        return DUMMY_LUMA, arr, mode
    return _grey_luma(arr), DUMMY_RGB, _kernels.MODE_LUMA


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
        raise InvalidArgumentError("luma_from_rgb", f"luma_from_rgb needs uint8[H, W, 3], got shape {arr.shape}")
    out = np.empty(arr.shape[:2], dtype=np.float32)
    luma_from_rgb_into(arr, out, mode != _kernels.MODE_RGB)
    return out


def hash_image(img, *, luma: str = "f32") -> PDQHash:
    """PDQ hash of an image at native size (§1.1): ``uint8[H, W, 3]`` RGB, ``uint8[H, W]`` grey, a PIL
    image in any mode or a path (both converted with ``convert("RGB")``, as the reference tests do)."""
    plane, rgb, mode = _source(img, luma)
    h, w = (rgb.shape[:2] if mode != _kernels.MODE_LUMA else plane.shape)
    s = cached_scratch(h, w)
    words = np.empty(4, dtype=np.uint64)
    q = _kernels.hash_into(plane, rgb, mode, s.work, s.a64, s.tmp, s.b, s.median, words)
    return PDQHash(words, int(q))


def pdqf(img: np.ndarray, *, luma: str = "f32") -> np.ndarray:
    """PDQF of an image: ``float32[256]``, DCT coefficient ``B[u, v]`` at ``16*u + v`` (§1.10).

    Not median-subtracted, not normalised. No size guard; a 64x64 image is not blurred.
    """
    plane, rgb, mode = _source(img, luma)
    h, w = (rgb.shape[:2] if mode != _kernels.MODE_LUMA else plane.shape)
    s = cached_scratch(h, w)
    _kernels.pdqf_into(plane, rgb, mode, True, s.work, s.a64, s.tmp, s.b)
    return s.b.reshape(256).copy()


def hash_image_dihedral(img: np.ndarray, *, luma: str = "f32") -> list[PDQHash]:
    """The 8 dihedral PDQ hashes of an image, in :data:`DIHEDRAL_NAMES` order (§1.9).

    Derived from one DCT by sign flips and transposes; always blurs, even a 64x64 image. All share one
    quality.
    """
    plane, rgb, mode = _source(img, luma)
    h, w = (rgb.shape[:2] if mode != _kernels.MODE_LUMA else plane.shape)
    s = cached_scratch(h, w)
    words8 = np.empty((8, 4), dtype=np.uint64)
    q = _kernels.dihedral_hash_into(plane, rgb, mode, s.work, s.a64, s.tmp, s.b, s.b8, s.median, words8)
    return [PDQHash(words8[d].copy(), int(q)) for d in range(8)]

