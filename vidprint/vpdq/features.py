"""The vPDQ hash of one video: per-frame PDQ hashes with quality, frame number and timestamp.

A :class:`VPDQHash` stores the frames column-wise as numpy arrays (``N`` = number of hashed frames):

* ``words``: ``uint64[N, 4]``, the PDQ hashes (word 0 = most significant hex digits, see
  :mod:`vidprint.pdqf.hash`);
* ``quality``: ``int32[N]``, 0..100;
* ``frame_numbers``: ``int64[N]``, 0-based decoder frame counter of each hashed frame;
* ``timestamps``: ``float64[N]``, seconds.

Metadata that the reference text format cannot carry (``fps``, ``every_seconds``, ``size``,
``pruned``, ``source``) travels in a JSON sidecar, see :mod:`vidprint.vpdq.textformat`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterator

import numpy as np

from vidprint.errors import InvalidArgumentError
from vidprint.pdqf.hash import PDQHash, hexes_to_words, words_to_hex

from vidprint.vpdq import _kernels


@dataclass(frozen=True)
class VPDQFeature:
    """One hashed frame, as yielded by :meth:`VPDQHash.features`."""

    frame_number: int
    quality: int
    hash: PDQHash
    timestamp: float  # seconds

    @property
    def hex(self) -> str:
        return self.hash.hex


@dataclass(frozen=True, eq=False)
class VPDQHash:
    """Per-frame PDQ hashes of one video (see the module docstring for the array layout).

    Arrays are converted to the canonical dtypes and made C-contiguous and read-only on construction.

    Metadata:
        fps: frame rate (frames per second) the frame numbers refer to, or None if unknown.
        every_seconds: sampling interval requested when hashing (0 = every frame), or None.
        size: ``(width, height)`` in pixels the frames were hashed at, or None (native / unknown).
        pruned: None, or a dict recording what :func:`prune` (or a caller) dropped, so that a reader
            knows the frames are not the complete list. Must be JSON-serialisable.
        source: free-form name of the video the hashes come from.
    """

    words: np.ndarray
    quality: np.ndarray
    frame_numbers: np.ndarray
    timestamps: np.ndarray
    fps: float | None = None
    every_seconds: float | None = None
    size: tuple[int, int] | None = None
    pruned: dict[str, Any] | None = field(default=None)
    source: str | None = None

    def __post_init__(self) -> None:
        words = np.ascontiguousarray(self.words, dtype=np.uint64)
        if words.size == 0:
            words = words.reshape(0, 4)
        if words.ndim != 2 or words.shape[1] != 4:
            raise InvalidArgumentError("words", f"words must be uint64[N, 4], got shape {words.shape}")
        n = words.shape[0]
        cols = {}
        for name, dt in (("quality", np.int32), ("frame_numbers", np.int64), ("timestamps", np.float64)):
            arr = np.ascontiguousarray(getattr(self, name), dtype=dt).reshape(-1)
            if arr.shape[0] != n:
                raise InvalidArgumentError(name, f"{name} has {arr.shape[0]} entries, words has {n}")
            cols[name] = arr
        for name, arr in (("words", words), *cols.items()):
            if arr.flags.writeable:  # own a private read-only copy so the frozen object stays frozen
                arr = arr.copy()
                arr.flags.writeable = False
            object.__setattr__(self, name, arr)
        if self.size is not None:
            w, h = self.size
            object.__setattr__(self, "size", (int(w), int(h)))
        if self.fps is not None:
            object.__setattr__(self, "fps", float(self.fps))
        if self.every_seconds is not None:
            object.__setattr__(self, "every_seconds", float(self.every_seconds))

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_hexes(
        cls,
        hexes: list[str],
        quality,
        frame_numbers=None,
        timestamps=None,
        **meta: Any,
    ) -> "VPDQHash":
        """Build from hex strings. ``frame_numbers`` defaults to ``0..N-1``; ``timestamps`` to
        ``frame_numbers / fps`` if ``fps`` is given in ``meta``, else to the frame numbers."""
        words = hexes_to_words(list(hexes))
        n = words.shape[0]
        fn = np.arange(n, dtype=np.int64) if frame_numbers is None else frame_numbers
        if timestamps is None:
            fps = meta.get("fps")
            timestamps = np.asarray(fn, dtype=np.float64) / (fps if fps else 1.0)
        return cls(words, np.broadcast_to(np.asarray(quality), (n,)), fn, timestamps, **meta)

    # -- access ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.words.shape[0])

    def features(self) -> Iterator[VPDQFeature]:
        """Iterate over the frames as :class:`VPDQFeature` objects (slow; for inspection)."""
        for i in range(len(self)):
            yield VPDQFeature(
                int(self.frame_numbers[i]),
                int(self.quality[i]),
                PDQHash(self.words[i].copy(), int(self.quality[i])),
                float(self.timestamps[i]),
            )

    def __iter__(self) -> Iterator[VPDQFeature]:
        return self.features()

    def hexes(self) -> list[str]:
        """The hashes as 64-digit lowercase hex strings, in frame order."""
        return [words_to_hex(w) for w in self.words]

    @property
    def duration(self) -> float:
        """Span of the timestamps in seconds (last minus first; 0 for fewer than two frames)."""
        return float(self.timestamps[-1] - self.timestamps[0]) if len(self) > 1 else 0.0

    def select(self, index, **meta: Any) -> "VPDQHash":
        """Subset of frames (boolean mask, index array or slice), keeping the metadata unless
        overridden in ``meta``."""
        return replace(
            self,
            words=self.words[index],
            quality=self.quality[index],
            frame_numbers=self.frame_numbers[index],
            timestamps=self.timestamps[index],
            **meta,
        )

    def metadata(self) -> dict[str, Any]:
        """The metadata fields as a JSON-serialisable dict (None values included)."""
        return {
            "fps": self.fps,
            "every_seconds": self.every_seconds,
            "size": list(self.size) if self.size is not None else None,
            "pruned": self.pruned,
            "source": self.source,
        }

    def _frames_key(self) -> tuple:
        # Timestamps at the text format's precision (``%.3f``), so equality survives a text round trip.
        stamps = np.round(self.timestamps, 3) + 0.0
        return (self.words.tobytes(), self.quality.tobytes(), self.frame_numbers.tobytes(), stamps.tobytes())

    def __eq__(self, other: object) -> bool:
        """Value equality of the frames: hashes, qualities, frame numbers and timestamps to the
        millisecond (the text format's precision). Metadata (fps, sampling, size, pruning, source) is
        descriptive and not compared; use :meth:`equals` for that."""
        if not isinstance(other, VPDQHash):
            return NotImplemented
        return self is other or self._frames_key() == other._frames_key()

    def __hash__(self) -> int:
        return hash(self._frames_key())

    def equals(self, other: "VPDQHash", metadata: bool = True) -> bool:
        """Exact equality of all frames, timestamps to the bit (and of the metadata if ``metadata``)."""
        same = (
            len(self) == len(other)
            and np.array_equal(self.words, other.words)
            and np.array_equal(self.quality, other.quality)
            and np.array_equal(self.frame_numbers, other.frame_numbers)
            and np.array_equal(self.timestamps, other.timestamps)
        )
        return bool(same and (not metadata or self.metadata() == other.metadata()))

    # -- I/O conveniences (implemented in textformat) ------------------------------------------
    def to_text(self) -> str:
        """Reference vPDQ text (``frame,quality,hex,%.3f timestamp`` per line)."""
        from vidprint.vpdq.textformat import to_text

        return to_text(self)

    def write(self, path, sidecar: bool | None = None) -> None:
        """Write the reference text file, plus ``PATH.json`` metadata sidecar (see
        :func:`vidprint.vpdq.textformat.write`)."""
        from vidprint.vpdq.textformat import write

        write(self, path, sidecar=sidecar)

    def to_bytes(self) -> bytes:
        """The reference text as ASCII bytes (:meth:`to_text`)."""
        return self.to_text().encode("ascii")

    @classmethod
    def from_bytes(cls, data, source: str | None = None) -> "VPDQHash":
        """Parse reference text from bytes, a path or a binary file object (no sidecar is applied)."""
        from vidprint.vpdq.textformat import read_content

        return read_content(data, source)

    @classmethod
    def read(cls, src, source: str | None = None) -> "VPDQHash":
        """Read a vPDQ text file (see :func:`vidprint.vpdq.textformat.read`)."""
        from vidprint.vpdq.textformat import read

        return read(src, source)

    def to_signal_str(self) -> str:
        """python-threatexchange ``VPDQSignal`` JSON string (see :func:`textformat.to_signal_str`)."""
        from vidprint.vpdq.textformat import to_signal_str

        return to_signal_str(self)

    def __repr__(self) -> str:
        return (
            f"VPDQHash({len(self)} frames, {self.duration:.3f} s, fps={self.fps}, "
            f"source={self.source!r}{', pruned' if self.pruned else ''})"
        )


def require_vpdq(x: object, name: str) -> VPDQHash:
    """``x`` if it is a :class:`VPDQHash`, else :class:`vidprint.errors.InvalidArgumentError` naming ``name``."""
    if not isinstance(x, VPDQHash):
        raise InvalidArgumentError(name, f"expected a VPDQHash (vidprint.vpdq.read or vidprint.fingerprint(...).vpdq), "
                                         f"got {type(x).__name__}")
    return x


def prune(vh: VPDQHash, distance: int | None = None, min_quality: int | None = None) -> VPDQHash:
    """Drop low-quality frames and runs of near-identical consecutive frames.

    Steps, in this order:

    1. if ``min_quality`` is not None, drop frames with ``quality < min_quality``;
    2. if ``distance`` is not None, walk the remaining frames in order and drop every frame whose
       Hamming distance to the **last kept** frame is ``<= distance`` (so slow drift still yields a
       new frame each time the content has moved by more than ``distance`` bits).

    The result records what was done in ``pruned``: ``{"distance", "min_quality", "input_frames",
    "kept_frames"}``, with the previous record (if ``vh`` was already pruned) under ``"previous"``.
    Frame numbers and timestamps of the kept frames are unchanged.
    """
    require_vpdq(vh, "vh")
    keep = np.ones(len(vh), dtype=np.bool_)
    if min_quality is not None:
        keep &= vh.quality >= int(min_quality)
    if distance is not None:
        idx = np.flatnonzero(keep)
        sub = np.ascontiguousarray(vh.words[idx])
        kept = np.empty(idx.shape[0], dtype=np.bool_)
        _kernels.prune_runs(sub, int(distance), kept)
        keep[idx[~kept]] = False
    record: dict[str, Any] = {
        "distance": None if distance is None else int(distance),
        "min_quality": None if min_quality is None else int(min_quality),
        "input_frames": len(vh),
        "kept_frames": int(keep.sum()),
    }
    if vh.pruned:
        record["previous"] = vh.pruned
    return vh.select(keep, pruned=record)
