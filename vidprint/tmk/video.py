"""TMK+PDQF descriptors of a video file: the reference frame source (spec §2.2) and PDQF per frame."""
from __future__ import annotations

from vidprint.decode.container import Source
from vidprint.tmk.compact import CompactDescriptor
from vidprint.tmk.descriptor import TMKDescriptor


def hash_video(src: Source, profile: str = "reference", *,
               name: str | None = None) -> TMKDescriptor | CompactDescriptor:
    """The TMK descriptor of ``src`` (a path, bytes or a binary file object).

    ``profile="reference"`` gives the reference TMK+PDQF, byte-compatible with Meta's ``.tmk`` files;
    ``profile="compact"`` vidprint's compact descriptor (128-byte level 1, ~15 KB level 2 on
    normalized time, see :mod:`vidprint.tmk.compact`).
    To compute vPDQ in the same decoding pass, use :func:`vidprint.fingerprint.fingerprint`.
    """
    from vidprint.fingerprint import fingerprint  # the pipeline sits above this stage

    if profile not in ("reference", "compact"):
        raise ValueError(f"unknown TMK profile {profile!r}: 'reference' or 'compact'")
    fp = fingerprint(src, tmk=True, vpdq=False, name=name)
    return fp.tmk if profile == "reference" else fp.compact
