"""TMK+PDQF descriptors of a video file: the reference frame source (spec §2.2) and PDQF per frame."""
from __future__ import annotations

from vidprint.decode.container import Source
from vidprint.tmk.descriptor import TMKDescriptor


def hash_video(src: Source, profile: str = "reference", *, name: str | None = None) -> TMKDescriptor:
    """The TMK descriptor of ``src`` (a path, bytes or a binary file object).

    ``profile="reference"`` gives the reference TMK+PDQF, byte-compatible with Meta's ``.tmk`` files.
    To compute vPDQ in the same decoding pass, use :func:`vidprint.fingerprint.fingerprint`.
    """
    from vidprint.fingerprint import fingerprint  # the pipeline sits above this stage

    if profile != "reference":
        raise ValueError(f"unknown TMK profile {profile!r}")
    return fingerprint(src, tmk=True, vpdq=False, name=name).tmk
