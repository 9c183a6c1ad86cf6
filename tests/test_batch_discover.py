"""Finding videos in an archive by content: signatures, odd files, links, unreadable entries.

No decoding here: the walk only reads the first bytes of files. The container signatures are
written out from the formats' specifications (ISO/IEC 14496-12 box header, EBML magic, RIFF, GIF,
MPEG-TS sync bytes, Annex B start codes), not taken from the code under test.
"""
from __future__ import annotations

import os
import stat

import pytest

from vidprint.batch.discover import Candidate, Ignored, Problem, discover, sniff
from vidprint.synth import make_video


@pytest.mark.parametrize("head, container", [
    (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41", "mp4"),
    (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ", "mp4"),
    (b"\x00\x00\x00\x08free\x00\x00\x10\x00mdat", "mp4"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01", "matroska"),
    (b"RIFF\x00\x10\x00\x00AVI LIST", "avi"),
    (b"FLV\x01\x05\x00\x00\x00\x09", "flv"),
    (b"GIF89a\x40\x00\x30\x00", "gif"),
    (b"GIF87a\x40\x00\x30\x00", "gif"),
    (b"OggS\x00\x02", "ogg"),
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9", "asf"),
    (b"YUV4MPEG2 W64 H48 F30:1\n", "y4m"),
    (b"DKIF\x00\x00\x20\x00VP80", "ivf"),
    (b"\x00\x00\x01\xba\x44\x00", "mpeg-ps"),
    (b"\x00\x00\x01\xb3\x14\x00", "mpeg-video"),
    (bytes([0x47, 0x40, 0x00, 0x10]) + bytes(184) + bytes([0x47]) + bytes(187) + bytes([0x47]) + bytes(187), "mpeg-ts"),
    (b"\x00\x00\x00\x01\x67\x64\x00\x1f", "h264"),
    (b"\x00\x00\x00\x01\x40\x01\x0c\x01", "hevc"),
])
def test_sniff_recognises_video_containers(head, container):
    assert sniff(head + bytes(64)) == container


@pytest.mark.parametrize("head", [
    b"hello world, this is text\n" * 4,
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",  # a HEIF photo: ISO media but a still image
    b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1",
    b"ID3\x04\x00\x00\x00\x00\x00\x00",  # MP3
    b"",
])
def test_sniff_rejects_other_content(head):
    assert sniff(head) is None


def _by_path(found):
    return {os.path.basename(f.path): f for f in found}


def test_discover_by_content_not_by_name(tmp_path):
    video = make_video(1, seconds=0.2, size=(32, 24))
    (tmp_path / "clip.mp4").write_bytes(video)
    (tmp_path / "no_extension").write_bytes(video)  # a video without an extension: found
    (tmp_path / "clip.txt").write_bytes(video)  # a video with a misleading name: found
    (tmp_path / "text.mp4").write_text("not a video\n" * 10)  # named like a video: tried, the decoder decides
    (tmp_path / "notes.txt").write_text("plain notes\n")  # neither: ignored
    (tmp_path / "empty.mp4").write_bytes(b"")
    found = _by_path(discover([tmp_path]))
    assert found["clip.mp4"] == Candidate(str(tmp_path / "clip.mp4"), len(video), "mp4",
                                          os.stat(tmp_path / "clip.mp4").st_mtime_ns)
    assert found["no_extension"].container == "mp4"
    assert found["clip.txt"].container == "mp4"
    assert isinstance(found["text.mp4"], Candidate) and found["text.mp4"].container is None
    assert isinstance(found["notes.txt"], Ignored)
    assert isinstance(found["empty.mp4"], Problem) and found["empty.mp4"].kind == "empty file"


def test_discover_order_is_stable_and_depth_first(tmp_path):
    video = make_video(2, seconds=0.2, size=(32, 24))
    for rel in ("b/2.mp4", "b/1.mp4", "a.mp4", "c/x/y.mp4", "c/0.mp4"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(video)
    paths = [os.path.relpath(f.path, tmp_path) for f in discover([tmp_path])]
    assert paths == ["a.mp4", "b/1.mp4", "b/2.mp4", "c/0.mp4", "c/x/y.mp4"]


def test_symlink_loops_end_with_a_problem(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "v.mp4").write_bytes(make_video(3, seconds=0.2, size=(32, 24)))
    os.symlink("..", tmp_path / "sub" / "up")  # a folder cycle
    os.symlink("self", tmp_path / "self")  # a link to itself: ELOOP
    os.symlink("sub", tmp_path / "z_alias")  # a second way into the same folder: walked once, no problem
    found = list(discover([tmp_path]))
    problems = {os.path.relpath(f.path, tmp_path): f for f in found if isinstance(f, Problem)}
    assert problems["sub/up"].kind == "symlink loop"
    assert problems["self"].kind == "symlink loop"
    assert len(problems) == 2
    assert [os.path.relpath(f.path, tmp_path) for f in found if isinstance(f, Candidate)] == ["sub/v.mp4"]


def test_unreadable_entries_are_reported_not_opened(tmp_path):
    """The tests run as root, for whom ``chmod 000`` changes nothing, so "unreadable" is made the ways
    root also meets: a FIFO (opening it would block the walk forever), a dangling symbolic link (a file
    deleted behind a link) and a link to a non-regular file; ``chmod 000`` is checked too when not root."""
    os.mkfifo(tmp_path / "fifo.mp4")
    os.symlink(tmp_path / "gone.mp4", tmp_path / "dangling.mp4")
    os.symlink("/dev/null", tmp_path / "device.mp4")
    found = _by_path(discover([tmp_path]))
    assert found["fifo.mp4"].kind == "not a regular file" and "FIFO" in found["fifo.mp4"].reason
    assert found["dangling.mp4"].kind == "broken symlink" and "gone.mp4" in found["dangling.mp4"].reason
    assert found["device.mp4"].kind == "not a regular file"
    # A FIFO named on the command line is refused the same way (not opened).
    (only,) = discover([tmp_path / "fifo.mp4"])
    assert isinstance(only, Problem) and only.kind == "not a regular file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied_is_reported(tmp_path):
    f = tmp_path / "locked.mp4"
    f.write_bytes(make_video(4, seconds=0.2, size=(32, 24)))
    f.chmod(0)
    d = tmp_path / "closed"
    d.mkdir()
    d.chmod(0)
    try:
        found = _by_path(discover([tmp_path]))
    finally:
        f.chmod(stat.S_IRUSR | stat.S_IWUSR)
        d.chmod(stat.S_IRWXU)
    assert found["locked.mp4"].kind == "unreadable"
    assert found["closed"].kind == "unreadable"


def test_missing_root_is_a_problem(tmp_path):
    (only,) = discover([tmp_path / "nope"])
    assert isinstance(only, Problem) and only.kind == "unreadable"
