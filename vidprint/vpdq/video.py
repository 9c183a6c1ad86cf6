"""vPDQ hashes of a video file: the reference frame source (spec §3.1) and PDQ per frame."""
from __future__ import annotations

import numpy as np

from vidprint.decode.container import Source
from vidprint.vpdq.features import VPDQHash


def hash_video(src: Source, every_seconds: float = 0.0, size: int | None = None, *, scaler: str = "area",
               name: str | None = None) -> VPDQHash:
    """Per-frame PDQ hashes of ``src`` (a path, bytes or a binary file object).

    ``every_seconds``: one frame every S seconds by the reference's ``n % int(S * fps)`` rule (0 =
    every frame). ``size``: None hashes frames at native size (bit-exact with the reference's plain
    C conversion); N squashes them to N x N with ``scaler`` ("area" as the current reference,
    "lanczos" as its older ``-128x128`` sample files). To compute TMK in the same decoding pass,
    use :func:`vidprint.fingerprint.fingerprint`.
    """
    from vidprint.fingerprint import fingerprint  # the pipeline sits above this stage

    return fingerprint(src, tmk=False, vpdq=True, every_seconds=every_seconds, size=size, scaler=scaler,
                       name=name).vpdq


def hash_video_dihedral(src: Source, every_seconds: float = 0.0, size: int | None = None, *,
                        scaler: str = "area", name: str | None = None) -> tuple[VPDQHash, dict[str, np.ndarray]]:
    """:func:`hash_video` plus the 8 dihedral variants of every frame's hash (spec §1.9).

    Returns ``(hashes, variants)`` with ``variants[name]`` a ``uint64[N, 4]`` array in the frame order
    of ``hashes``, names as :data:`vidprint.pdqf.DIHEDRAL_NAMES`; pass ``variants`` to
    :func:`vidprint.vpdq.align` as ``dihedral=`` to find flipped or rotated copies.
    """
    from vidprint.fingerprint import fingerprint

    fp = fingerprint(src, tmk=False, vpdq=True, every_seconds=every_seconds, size=size, scaler=scaler,
                     dihedral=True, name=name)
    return fp.vpdq, fp.vpdq_dihedral
