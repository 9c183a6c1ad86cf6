"""What happened while a video was decoded: the :class:`DecodeReport` every fingerprint carries.

vidprint decodes like FFmpeg's own tools (and therefore like the reference TMK and vPDQ hashers,
which sit on FFmpeg): a packet the decoder rejects, or an empty packet (Theora's "repeat the
previous frame"), is skipped and counted, and decoding goes on; a container that declares more
frames than it holds is hashed for the frames it holds. Nothing of this is silent: the report says
what was skipped, and ``strict=True`` turns any irregularity into a :class:`DecodeError`.
See ``docs/decoding.md`` for the policy and the limits.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class DecodeReport:
    """What decoding one video did, beyond producing frames.

    Attributes
    ----------
    source : str
        The video's name (path, ``<N bytes in memory>``, ...).
    frames_declared : int
        Video frames the container's index declares; 0 if it declares none (WebM, Matroska, Ogg).
    frames_decoded : int
        Frames the decoder produced.
    packets_read : int
        Non-empty video packets the demuxer returned.
    packets_rejected : int
        Packets the decoder refused (corrupt data); each was skipped.
    packets_empty : int
        Empty packets (size 0) in the stream, skipped (Theora uses them to repeat a frame).
    ended_early : bool
        The stream seems to end before its declared end: fewer frames than declared, a demuxer error
        that stopped reading, or a last frame far before the declared duration.
    duplicates_capped : int
        Output frames of the 15 fps TMK stream *not* produced because a timestamp gap asked for more
        repeats than :data:`vidprint.decode.reader.MAX_REPEATS` (of one frame) or
        :data:`vidprint.decode.reader.REPEATS_PER_FRAME` (per decoded frame, over the whole video).
    conversion : str or None
        ``"native"`` (vidprint's kernels converted every frame), ``"fallback"`` (libswscale converted
        some), None if no frame was converted.
    warnings : tuple of str
        One sentence per irregularity, in the order found; empty for a clean decode.
    """

    source: str
    frames_declared: int = 0
    frames_decoded: int = 0
    packets_read: int = 0
    packets_rejected: int = 0
    packets_empty: int = 0
    ended_early: bool = False
    duplicates_capped: int = 0
    conversion: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        """True if nothing irregular happened (then ``strict=True`` would have accepted the video)."""
        return not self.warnings

    def summary(self) -> str:
        """One line for a log or the CLI: ``"source: warning; warning"``, or ``"source: clean"``."""
        return f"{self.source}: " + ("; ".join(self.warnings) if self.warnings else "clean")

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (``warnings`` as a list)."""
        d = asdict(self)
        d["warnings"] = list(self.warnings)
        return d


__all__ = ["DecodeReport"]
