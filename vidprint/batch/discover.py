"""Finding the videos in an archive: by content (magic bytes), not by file name.

:func:`discover` walks files and folders and yields, in a stable order (sorted names, depth first):

* :class:`Candidate` -- a file to hash: its first bytes are a known video container, or its name has a
  video extension (the decoder then decides, in an isolated worker: a text file named ``.mp4`` ends
  as a recorded failure, not a crash), or it was named explicitly on the command line;
* :class:`Problem` -- something the walk could not use and the operator should hear about: a
  symbolic-link loop, a broken link, a file or folder that cannot be read, a FIFO or device.

Files whose content is not a known container and whose name is not a video's (``README.txt``,
``photo.jpg``) are counted as ignored and not reported one by one (:class:`Ignored`).

The walk never opens anything but regular files (a FIFO would block the reader forever), reads at
most :data:`SNIFF_BYTES` bytes of each file, follows symbolic links (archives use them) and walks
every real folder once, so a link cycle ends the walk of that branch with a :class:`Problem`.
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from typing import Iterable, Iterator, Union

#: Bytes read from the start of each file to recognise its container.
SNIFF_BYTES = 1024

#: Extensions of video files: a file so named is hashed even if its first bytes are not recognised.
VIDEO_EXTENSIONS = frozenset(
    "3g2 3gp 264 265 asf avi divx dv f4v flv gif h264 h265 hevc ivf m1v m2t m2ts m2v m4v mkv mov mp4 "
    "mpe mpeg mpg mts mxf nut ogm ogv qt rm rmvb ts vob webm wmv y4m".split()
)

# ISO base media (MP4, MOV, 3GP): a box type at offset 4.
_BMFF_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot")
# ``ftyp`` major brands of still images (HEIF/AVIF photos): not videos.
_IMAGE_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"jpeg", b"jp2 ")


@dataclass(frozen=True)
class Candidate:
    """A file to hash. ``container``: what its first bytes say (None: unrecognised, tried by name);
    ``mtime_ns``: its modification time when the walk saw it (None: not known)."""

    path: str
    size: int
    container: str | None
    mtime_ns: int | None = None


@dataclass(frozen=True)
class Problem:
    """A path the walk could not use: ``reason`` in words, ``kind`` a short category for summaries."""

    path: str
    kind: str
    reason: str
    stage: str = "discover"


@dataclass(frozen=True)
class Ignored:
    """A readable regular file that is neither a known container nor named like a video."""

    path: str


Found = Union[Candidate, Problem, Ignored]


def sniff(head: bytes) -> str | None:
    """The container a file's first bytes announce (``"mp4"``, ``"matroska"``, ...), or None.

    ``head`` is the start of the file (:data:`SNIFF_BYTES` is enough for every signature here).
    Only containers that carry video (or may: Ogg, MPEG-TS, MP4 audio are decided by the decoder)
    are recognised; still images are not.
    """
    if len(head) >= 12 and head[4:8] in _BMFF_BOXES:
        if head[4:8] == b"ftyp" and head[8:12] in _IMAGE_BRANDS:
            return None
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head[:4] == b"RIFF" and head[8:11] == b"AVI":
        return "avi"
    if head.startswith(b"FLV\x01"):
        return "flv"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "asf"
    if head.startswith(b".RMF"):
        return "realmedia"
    if head.startswith(b"YUV4MPEG2"):
        return "y4m"
    if head.startswith(b"DKIF"):
        return "ivf"
    if head.startswith(b"nut/multimedia container"):
        return "nut"
    if head.startswith(b"\x06\x0e\x2b\x34\x02\x05\x01\x01"):
        return "mxf"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "mpeg-ps"
    if head.startswith(b"\x00\x00\x01\xb3"):
        return "mpeg-video"
    for packet in (188, 192):  # MPEG-TS (and BDAV M2TS: a 4-byte prefix per packet)
        first = 0 if packet == 188 else 4
        if len(head) >= first + 3 * packet and all(head[first + i * packet] == 0x47 for i in range(3)):
            return "mpeg-ts"
    for start in (b"\x00\x00\x00\x01", b"\x00\x00\x01"):  # Annex B elementary streams
        if head.startswith(start) and len(head) > len(start) + 1:
            nal = head[len(start)]
            if nal & 0x1F == 7 and not nal & 0x80:  # H.264 sequence parameter set
                return "h264"
            if (nal >> 1) & 0x3F == 32 and not nal & 0x80:  # HEVC video parameter set
                return "hevc"
    return None


def _has_video_extension(path: str) -> bool:
    return os.path.splitext(path)[1][1:].lower() in VIDEO_EXTENSIONS


def _describe(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def _stat(path: str) -> os.stat_result | Problem:
    """``os.stat`` following links, or the :class:`Problem` that says why it failed."""
    try:
        return os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Problem(path, "symlink loop", "symbolic link loop (too many levels of links)")
        if exc.errno == errno.ENOENT and os.path.islink(path):
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            return Problem(path, "broken symlink", f"broken symbolic link (points to {target!r}, which does not exist)")
        if exc.errno in (errno.EACCES, errno.EPERM):
            return Problem(path, "unreadable", f"cannot be read: {_describe(exc)}")
        return Problem(path, "unreadable", f"cannot stat: {_describe(exc)}")


def _examine(path: str, st: os.stat_result, explicit: bool) -> Found:
    """Classify one regular file by its first bytes (and its name)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        try:
            head = os.read(fd, SNIFF_BYTES)
        finally:
            os.close(fd)
    except OSError as exc:
        return Problem(path, "unreadable", f"cannot be read: {_describe(exc)}")
    if st.st_size == 0 or not head:
        if explicit or _has_video_extension(path):
            return Problem(path, "empty file", "empty file (0 bytes)")
        return Ignored(path)
    container = sniff(head)
    if container is None and not (explicit or _has_video_extension(path)):
        return Ignored(path)
    return Candidate(path, int(st.st_size), container, int(st.st_mtime_ns))


def discover(paths: Iterable[str | os.PathLike]) -> Iterator[Found]:
    """Walk files and folders; yield a :class:`Candidate`, :class:`Problem` or :class:`Ignored` per file.

    Files named in ``paths`` are always candidates (if readable and not empty); files found inside
    folders are candidates when their content or their name says video. Order: the arguments as
    given, each folder's entries sorted by name, depth first. A real folder is walked once however
    many links lead to it; a link back into a folder being walked is reported as a symlink loop.
    """
    walked: set[tuple[int, int]] = set()
    for root in paths:
        root = os.fspath(root)
        st = _stat(root)
        if isinstance(st, Problem):
            yield st
        elif stat.S_ISDIR(st.st_mode):
            yield from _walk(root, st, walked, ancestors=())
        elif stat.S_ISREG(st.st_mode):
            yield _examine(root, st, explicit=True)
        else:
            yield Problem(root, "not a regular file", f"{_file_type(st.st_mode)}, not a regular file")


def _walk(folder: str, st: os.stat_result, walked: set, ancestors: tuple) -> Iterator[Found]:
    key = (st.st_dev, st.st_ino)
    if key in ancestors:
        yield Problem(folder, "symlink loop", "symbolic link loop: leads back to a folder that contains it")
        return
    if key in walked:
        return  # the same real folder reached again through another link: walked already
    walked.add(key)
    try:
        with os.scandir(folder) as it:
            names = sorted(entry.name for entry in it)
    except OSError as exc:
        yield Problem(folder, "unreadable", f"folder cannot be listed: {_describe(exc)}")
        return
    inner = ancestors + (key,)
    for name in names:
        path = os.path.join(folder, name)
        est = _stat(path)
        if isinstance(est, Problem):
            yield est
        elif stat.S_ISDIR(est.st_mode):
            yield from _walk(path, est, walked, inner)
        elif stat.S_ISREG(est.st_mode):
            yield _examine(path, est, explicit=False)
        else:
            yield Problem(path, "not a regular file", f"{_file_type(est.st_mode)}, not a regular file")
