"""Decoding: frame choice of both reference frame sources, inputs of every kind, and bad input."""
from __future__ import annotations

import io
import struct
from fractions import Fraction

import av
import numpy as np
import pytest

from conftest import CHAIRS, VIDEOS, need_shared
from vidprint.decode import DecodeStats, TMKSource, VPDQSource, probe, read_frames
from vidprint.decode.cfr import CFRResampler
from vidprint.errors import DecodeError
from vidprint.synth import make_video, scene_frames, write_video


def _indices(src, sources, **kw):
    out: dict[str, list] = {k: [] for k in sources}
    stats = DecodeStats()
    for b in read_frames(src, sources, stats=stats, **kw):
        out[b.source].append((b.index.copy(), b.time.copy(), b.luma.shape[1:]))
    return {k: (np.concatenate([i for i, _, _ in v]), np.concatenate([t for _, t, _ in v]),
                {s for _, _, s in v}) for k, v in out.items()}, stats


def _vpdq_lines(path):
    rows = [line.split(",") for line in path.read_text().splitlines()]
    return np.array([int(r[0]) for r in rows]), [r[3] for r in rows]


@pytest.mark.parametrize("name", CHAIRS or ["(no reference data)"])
def test_both_sources_match_reference_frame_choice(name):
    """One pass gives the .tmk header's frame count and the vPDQ file's frame numbers and times."""
    ref = need_shared()
    header = (ref / "tmk" / f"{name}.tmk").read_bytes()[:32]
    tmk_count = struct.unpack("<i", header[28:32])[0]
    frames, stamps = _vpdq_lines(ref / "vpdq" / f"{name}.txt")
    got, stats = _indices(VIDEOS / f"{name}.mp4",
                          {"tmk": TMKSource(), "vpdq": VPDQSource(), "vpdq1s": VPDQSource(every_seconds=1.0)})
    tmk_idx, tmk_t, tmk_shapes = got["tmk"]
    assert len(tmk_idx) == tmk_count
    np.testing.assert_array_equal(tmk_idx, np.arange(tmk_count))
    np.testing.assert_allclose(tmk_t, np.arange(tmk_count) / 15)
    assert tmk_shapes == {(64, 64)}
    v_idx, v_t, v_shapes = got["vpdq"]
    np.testing.assert_array_equal(v_idx, frames)
    assert [f"{t:.3f}" for t in v_t] == stamps
    assert v_shapes == {(720, 480)}
    # every_seconds=1 at 30 fps keeps n % 30 == 0, as the reference's n mod int(N*fps)
    np.testing.assert_array_equal(got["vpdq1s"][0], frames[frames % 30 == 0])
    assert stats.decoded["tmk"] == stats.decoded["vpdq"] == len(frames)


def test_cfr_rule_on_standard_rates():
    """The CFR rule's documented outputs (spec §2.2) at 25, 30, 60 and 10 fps."""
    def choose(fps, n):
        r = CFRResampler(15, 0.0, fps)
        out = []
        for i in range(n):
            rep, cur = r.push(i / fps, 1 / fps)
            out += [i - 1] * rep + [i] * cur
        return out

    assert choose(30, 12)[:8] == [0, 1, 2, 3, 5, 7, 9, 11]
    assert choose(25, 13)[:10] == [0, 1, 2, 3, 4, 5, 7, 9, 10, 12]
    assert choose(60, 16)[:5] == [0, 1, 3, 7, 11]
    assert choose(10, 6)[:8] == [0, 0, 1, 1, 2, 3, 3, 4]
    # a 30 fps video of N frames yields N/2 + 2 outputs
    assert len(choose(30, 564)) == 284


def test_bytes_filelike_and_path_agree(tmp_path):
    data = make_video(5, seconds=1.0)
    path = tmp_path / "v.mp4"
    path.write_bytes(data)
    spec = {"v": VPDQSource(), "t": TMKSource()}
    lumas = []
    for src in (str(path), data, io.BytesIO(data)):
        lumas.append([b.luma.copy() for b in read_frames(src, spec)])
    for other in lumas[1:]:
        assert len(other) == len(lumas[0])
        for a, b in zip(lumas[0], other):
            np.testing.assert_array_equal(a, b)


def test_batches_hold_a_bounded_number_of_pixels():
    """Each batch holds a bounded number of pixels, whatever the video's length."""
    data = make_video(6, seconds=4.0, size=(640, 480))
    sizes = [b.luma.nbytes for b in read_frames(data, {"v": VPDQSource()})]
    assert sum(sizes) == 120 * 640 * 480 * 4
    assert max(sizes) <= 16_000_000


_PEAK_RSS_SCRIPT = """
import json, resource, sys
from vidprint.decode import TMKSource, VPDQSource, read_frames

def decode(path):
    n = 0
    for b in read_frames(path, {"t": TMKSource(), "v": VPDQSource()}):
        n += b.luma.nbytes if b.source == "v" else 0
    return n

def peak():  # this process's peak resident set size so far, bytes (Linux reports KiB)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

short = decode(sys.argv[1])
after_short = peak()
long = decode(sys.argv[2])
print(json.dumps({"short_bytes": short, "long_bytes": long, "after_short": after_short, "after_long": peak()}))
"""


def test_peak_memory_does_not_grow_with_video_length(tmp_path):
    """Decoding a 6x longer video raises a fresh process's peak RSS by far less than its frames' size.

    Measured in a subprocess (peak RSS is per process and only grows). The short video is decoded
    first, so the baseline includes imports, Numba kernels and decoder buffers; the long one then
    yields ~220 MB of native-size luma, which must stream through instead of accumulating.
    """
    import json
    import subprocess
    import sys

    short, long = tmp_path / "short.mp4", tmp_path / "long.mp4"
    frames = list(scene_frames(6, 30, 640, 480))  # rendering is the slow part: reuse one second
    write_video(short, frames, 30)
    write_video(long, frames * 6, 30)
    proc = subprocess.run([sys.executable, "-c", _PEAK_RSS_SCRIPT, str(short), str(long)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["long_bytes"] == 180 * 640 * 480 * 4  # all frames were really decoded
    growth = r["after_long"] - r["after_short"]
    assert growth < r["long_bytes"] / 8, f"peak RSS grew by {growth / 2**20:.0f} MiB: {r}"


def test_variable_frame_rate_follows_timestamps():
    """Irregular timestamps: the 15 fps output count follows the clock, not the frame count."""
    rng = np.random.default_rng(0)
    times = np.concatenate([[0.0], np.cumsum(rng.uniform(0.02, 0.12, 49))])
    frames = list(scene_frames(7, 50, 160, 120))
    buf = io.BytesIO()
    write_video(buf, frames, 30, times=times)
    got, stats = _indices(buf.getvalue(), {"t": TMKSource(), "v": VPDQSource()})
    assert stats.decoded["v"] == 50
    # ffmpeg's CFR output covers the clock from 0 to the last frame (+ one frame duration)
    assert abs(len(got["t"][0]) - (times[-1] * 15 + 1)) <= 3


def test_rotation_metadata_rotates_tmk_frames_only():
    frames = list(scene_frames(8, 20, 160, 96))
    plain, rotated = io.BytesIO(), io.BytesIO()
    # MPEG-4 part 2: two encodes of the same frames are byte-identical (libx264 through PyAV was
    # seen to differ between runs), so the only difference between the files is the display matrix.
    write_video(plain, frames, 30, codec="mpeg4")
    write_video(rotated, frames, 30, codec="mpeg4", rotation=90)
    spec = {"t": TMKSource(), "v": VPDQSource()}
    a = {b.source: b.luma.copy() for b in read_frames(plain.getvalue(), spec)}
    b = {b.source: b.luma.copy() for b in read_frames(rotated.getvalue(), spec)}
    np.testing.assert_array_equal(a["v"], b["v"])  # vPDQ: no auto-rotation, as the reference
    assert a["v"].shape[1:] == (96, 160)
    turned = np.rot90(a["t"], 1, axes=(1, 2))
    assert np.abs(b["t"] - turned).mean() < 3.0 < np.abs(b["t"] - a["t"]).mean()


def test_odd_dimensions_and_stream_choice():
    frames = list(scene_frames(9, 10, 99, 67))
    buf = io.BytesIO()
    write_video(buf, frames, 30, codec="mpeg4", pix_fmt="yuv420p")
    got, _ = _indices(buf.getvalue(), {"v": VPDQSource(), "s": VPDQSource(size=32)})
    assert got["v"][2] == {(67, 99)}
    assert got["s"][2] == {(32, 32)}


def _audio_only() -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as c:
        s = c.add_stream("aac", rate=44100)
        for i in range(10):
            f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            f.sample_rate, f.pts = 44100, i * 1024
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return buf.getvalue()


def _no_frames() -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as c:
        s = c.add_stream("mpeg4", rate=Fraction(30))
        s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
        a = c.add_stream("aac", rate=44100)
        f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        f.sample_rate, f.pts = 44100, 0
        for p in list(a.encode(f)) + list(a.encode()):
            c.mux(p)
    return buf.getvalue()


def _corrupt(data: bytes, start: float, length: int, seed: int = 0) -> bytes:
    bad = bytearray(data)
    i = int(len(bad) * start)
    bad[i : i + length] = np.random.default_rng(seed).integers(0, 256, length, dtype=np.uint8).tobytes()
    return bytes(bad)


@pytest.mark.parametrize(
    "make, reason",
    [
        # x264's bytes vary from run to run (tests/test_eval_transforms.py), so 200 random bytes at
        # the start may leave a parseable header (then no packet decodes): either is a clear reason
        (lambda d: _corrupt(d, 0.0, 200), ("not a readable media file", "no decodable video frames")),
        (lambda d: np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes(), "not a readable"),
        (lambda d: b"", "empty"),
        (lambda d: _audio_only(), "no video stream"),
        (lambda d: _no_frames(), "no decodable video frames"),
    ],
    ids=["bad-header", "garbage", "empty", "audio-only", "zero-frames"],
)
def test_bad_input_names_source_and_reason(make, reason, tmp_path):
    path = tmp_path / "good.mp4"
    write_video(path, list(scene_frames(10, 60, 160, 120)), 30)
    data = make(path.read_bytes())
    with pytest.raises(DecodeError) as err:
        for _ in read_frames(data, {"v": VPDQSource(), "t": TMKSource()}, name="bad-clip.mp4"):
            pass
    assert err.value.source == "bad-clip.mp4"
    assert any(r in err.value.reason for r in ((reason,) if isinstance(reason, str) else reason)), err.value.reason
    assert str(err.value).startswith("bad-clip.mp4: ")


@pytest.mark.parametrize("keep", [0.5, 0.97], ids=["half", "97pct"])
def test_truncated_file_hashes_what_decodes_and_says_so(keep, tmp_path):
    """A cut file is hashed for the frames it holds, with a warning; strict mode refuses it."""
    path = tmp_path / "good.mp4"
    write_video(path, list(scene_frames(10, 60, 160, 120)), 30)
    data = path.read_bytes()[: int(path.stat().st_size * keep)]
    stats = DecodeStats()
    n = sum(len(b) for b in read_frames(data, {"v": VPDQSource()}, name="cut.mp4", stats=stats))
    report = stats.report()
    assert 0 < n < 60 and report.frames_decoded == n and report.frames_declared == 60
    assert report.ended_early and any("truncated" in w for w in report.warnings)
    with pytest.raises(DecodeError, match="truncated") as err:
        for _ in read_frames(data, {"v": VPDQSource(), "t": TMKSource()}, name="cut.mp4", strict=True):
            pass
    assert err.value.source == "cut.mp4"


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DecodeError, match="no such file"):
        probe(tmp_path / "nope.mp4")
    with pytest.raises(DecodeError, match="directory"):
        probe(tmp_path)


def test_reference_padded_dimensions():
    need_shared()
    got, _ = _indices(VIDEOS / "test-padded-dimensions.mp4", {"v": VPDQSource(), "t": TMKSource()})
    assert len(got["v"][0]) == 150 and got["v"][2] == {(1080, 1080)}
    assert len(got["t"][0]) == 77


def test_streamable_layout_from_first_bytes():
    """Which non-seekable inputs are decoded as they are read (vidprint.decode.container): hand-built
    prefixes, damaged ones included."""
    from vidprint.decode.container import mp4_index_position, streamable_layout

    def box(kind: bytes, body: bytes = b"") -> bytes:
        return (8 + len(body)).to_bytes(4, "big") + kind + body

    ftyp = box(b"ftyp", b"isom\0\0\2\0isomiso2")
    assert mp4_index_position(ftyp + box(b"free") + box(b"moov", b"\0" * 40)) == "first"
    assert mp4_index_position(ftyp + box(b"mdat", b"\0" * 40)) == "last"
    large = (1).to_bytes(4, "big") + b"free" + (24).to_bytes(8, "big") + b"\0" * 8  # 64-bit size
    assert mp4_index_position(ftyp + large + box(b"moov")) == "first"
    assert mp4_index_position(ftyp) is None  # the prefix ends before either
    assert mp4_index_position(ftyp + (1).to_bytes(4, "big") + b"free") is None  # cut inside a header
    assert mp4_index_position(ftyp + (3).to_bytes(4, "big") + b"free") is None  # impossible size
    assert mp4_index_position(b"garbage bytes, not boxes") is None and mp4_index_position(b"") is None
    assert streamable_layout(ftyp + box(b"moov")) and not streamable_layout(ftyp + box(b"mdat"))
    assert streamable_layout(b"\x1aE\xdf\xa3" + b"\0" * 20)  # Matroska / WebM
    ts = (b"\x47" + b"\0" * 187) * 3
    assert streamable_layout(ts + b"\x47") and not streamable_layout(ts[:300])
    assert streamable_layout(b"YUV4MPEG2 W64 H48") and streamable_layout(b"DKIF\0\0")
    assert not streamable_layout(b"GIF89a") and not streamable_layout(b"")
