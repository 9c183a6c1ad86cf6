"""Hostile-input cases for ``test_hostile_inputs.py``, generated small and fast with PyAV.

Run as a script (``python hostile_cases.py DIR CASE...``) it fingerprints each case in this process
and prints one JSON line per case: ``{"case", "outcome": "fingerprint"|"error", ...}``. The test
runs it in a child process with a timeout and a memory limit, so a crash or a hang fails the test
instead of killing pytest.
"""
from __future__ import annotations

import io
import json
import os
import struct
import sys
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vidprint.synth import scene_frames, write_video


def _frames(n=30, w=64, h=48, seed=3):
    return list(scene_frames(seed, n, w, h, 30.0))


def _encode(path: Path, codec: str, pix_fmt: str, frames, fps=30, fmt=None, options=None) -> Path:
    with av.open(str(path), "w", format=fmt) as c:
        s = c.add_stream(codec, rate=Fraction(fps))
        s.height, s.width = frames[0].shape[:2]
        s.pix_fmt = pix_fmt
        if options:
            s.options = options
        for rgb in frames:
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def _png(width: int, height: int, rows: int | None = None) -> bytes:
    """A grey PNG of ``width`` x ``height``; ``rows``: only that many rows of pixel data (a header
    that claims more than the file holds). Built row by row: no frame buffer of that size."""
    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    comp = zlib.compressobj(9)
    row = b"\x00" + b"\x80" * width
    raw = b"".join(comp.compress(row) for _ in range(height if rows is None else rows)) + comp.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def _png_mov(path: Path, png: bytes, n: int) -> Path:
    """A MOV of ``n`` copies of a ready-made PNG frame (the PNG's header gives the frame size).

    The PNG of a uniform image is ~250 KB for 16000 x 16000 pixels (rows compress to nothing).
    """
    with av.open(str(path), "w", format="mov") as c:
        s = c.add_stream("png", rate=Fraction(5))
        s.width, s.height, s.pix_fmt = 64, 64, "gray"
        for i in range(n):
            pkt = av.Packet(png)
            pkt.stream = s
            pkt.pts = pkt.dts = i
            pkt.time_base = Fraction(1, 5)
            pkt.duration = 1
            pkt.is_keyframe = True
            c.mux(pkt)
    return path


def _pal8_avi(path: Path, n: int = 4, w: int = 64, h: int = 48) -> Path:
    """Raw palette (pal8) video: the frames carry a 256-colour palette plane."""
    rng = np.random.default_rng(0)
    pal = np.zeros((256, 4), np.uint8)
    pal[:, :3] = rng.integers(0, 256, (256, 3))
    pal[:, 3] = 255
    with av.open(str(path), "w", format="avi") as c:
        s = c.add_stream("rawvideo", rate=Fraction(30))
        s.width, s.height, s.pix_fmt = w, h, "pal8"
        for i in range(n):
            f = av.VideoFrame(w, h, "pal8")
            rows = np.zeros((h, f.planes[0].line_size), np.uint8)
            rows[:, :w] = (np.arange(w)[None, :] + 3 * np.arange(h)[:, None] + 5 * i) % 256
            f.planes[0].update(rows.tobytes())
            f.planes[1].update(pal.tobytes())
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def _cut(src: Path, dst: Path, keep: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: max(1, int(len(data) * keep))])
    return dst


def _flip(src: Path, dst: Path, seed: int, n: int = 12) -> Path:
    data = bytearray(src.read_bytes())
    rng = np.random.default_rng(seed)
    lo = min(len(data) - 1, 64)  # keep the very first bytes (the format probe) mostly intact
    for pos in rng.integers(lo, len(data), n):
        data[pos] ^= 1 << int(rng.integers(0, 8))
    dst.write_bytes(bytes(data))
    return dst


def _remove_moov(src: Path, dst: Path) -> Path:
    """Cut the ``moov`` atom (the index) out of an MP4."""
    data = src.read_bytes()
    i = data.find(b"moov") - 4
    size = struct.unpack(">I", data[i : i + 4])[0]
    dst.write_bytes(data[:i] + data[i + size :])
    return dst


def _audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as c:
        a = c.add_stream("aac", rate=44100)
        f = av.AudioFrame.from_ndarray(np.zeros((1, 4096), np.float32), format="fltp", layout="mono")
        f.sample_rate, f.pts = 44100, 0
        for p in list(a.encode(f)) + list(a.encode()):
            c.mux(p)
    return path


def _image(path: Path) -> Path:
    with av.open(str(path), "w", format="image2", options={"update": "1"}) as c:
        s = c.add_stream("png", rate=1)
        s.width, s.height, s.pix_fmt = 64, 48, "rgb24"
        f = av.VideoFrame.from_ndarray(np.ascontiguousarray(_frames(1)[0]), format="rgb24")
        for p in list(s.encode(f)) + list(s.encode()):
            c.mux(p)
    return path


def _can_encode(codec: str) -> bool:
    try:
        av.codec.Codec(codec, "w")
        return True
    except Exception:
        return False


class NonSeekable(io.RawIOBase):
    """A pipe-like binary stream: reads only, cannot seek."""

    def __init__(self, data: bytes):
        self._b = io.BytesIO(data)

    def readable(self):
        return True

    def seekable(self):
        return False

    def readinto(self, b):
        return self._b.readinto(b)


# case name -> (builder(dir) -> path or a special marker, expected outcomes)
#   expected: "fingerprint", "error", or "either" (both acceptable: a damaged file may or may not
#   keep a decodable frame). "warn": a fingerprint whose report must carry a warning.
def build(d: Path) -> dict[str, tuple[object, str]]:
    d.mkdir(parents=True, exist_ok=True)
    fr = _frames()
    base = {
        "mp4": write_video(d / "base.mp4", fr, 30) or d / "base.mp4",
        "webm": _encode(d / "base.webm", "libvpx", "yuv420p", fr, options={"deadline": "realtime", "cpu-used": "8"}),
        "mkv": _encode(d / "base.mkv", "libx264", "yuv420p", fr, options={"preset": "ultrafast"}),
        # No Theora encoder in PyAV's FFmpeg: VP8 in Ogg (the Theora sample of the corpus is in
        # test_real_world.py).
        "ogg": _encode(d / "base.ogv", "libvpx", "yuv420p", fr, options={"deadline": "realtime", "cpu-used": "8"}),
    }
    cases: dict[str, tuple[object, str]] = {}
    for kind, src in base.items():
        cases[f"{kind}-intact"] = (src, "fingerprint")
        for keep in (0.3, 0.6, 0.9):
            # MP4 with moov first and Matroska with an early cut lose frames: hashed with a warning
            # (WebM/Matroska: no declared count; the declared duration tells). Ogg declares nothing.
            expect = "warn" if kind in ("mp4", "webm", "mkv") else "either"
            cases[f"{kind}-cut{int(keep * 100)}"] = (_cut(src, d / f"cut{int(keep * 100)}.{src.name}", keep), expect)
        for seed in (1, 2, 3):
            cases[f"{kind}-flip{seed}"] = (_flip(src, d / f"flip{seed}.{src.name}", seed), "either")
    cases["mp4-no-moov"] = (_remove_moov(base["mp4"], d / "nomoov.mp4"), "error")
    cases["audio-only"] = (_audio_only(d / "audio.m4a"), "error")
    cases["image-as-video"] = (_image(d / "image.png"), "fingerprint")
    for w, h in ((1, 1), (2, 2), (3, 5), (641, 479)):
        f = [np.ascontiguousarray(np.resize(x, (h, w, 3))) for x in _frames(4, max(w, 8), max(h, 8))]
        cases[f"size-{w}x{h}"] = (_encode(d / f"s{w}x{h}.mkv", "ffv1", "yuv444p", f), "fingerprint")
    small = _frames(6)
    for name, codec, pix, fmt, ext in (
        ("yuv444p", "libx264", "yuv444p", None, "mkv"),
        ("10bit", "libx264", "yuv420p10le", None, "mkv"),
        ("gray", "ffv1", "gray", None, "mkv"),
        ("rgb24", "rawvideo", "rgb24", None, "avi"),
        ("gif-bgra", "gif", "rgb8", None, "gif"),
        ("rgb555", "qtrle", "rgb555be", None, "mov"),
        ("mjpeg", "mjpeg", "yuvj420p", None, "mkv"),
        ("vp9", "libvpx-vp9", "yuv420p", None, "webm"),
        ("av1", "libsvtav1", "yuv420p", None, "mkv"),
    ):
        if not _can_encode(codec):
            cases[name] = (f"skip: this PyAV build has no {codec} encoder", "skip")
            continue
        opts = {"preset": "ultrafast"} if codec == "libx264" else (
            {"deadline": "realtime", "cpu-used": "8"} if codec == "libvpx-vp9" else (
                {"preset": "12"} if codec == "libsvtav1" else None))
        f = small if codec != "libsvtav1" else _frames(6, 64, 64)
        cases[name] = (_encode(d / f"{name}.{ext}", codec, pix, f, fmt=fmt, options=opts), "fingerprint")
    cases["palette"] = (_pal8_avi(d / "palette.avi"), "fingerprint")
    cases["bgr0"] = (_encode(d / "bgr0.mkv", "ffv1", "bgr0", small), "fingerprint")
    write_video(d / "vfr.mkv", fr[:6], 30, times=[0, 0.03, 0.2, 0.21, 0.9, 1.5], container_format="matroska")
    cases["vfr"] = (d / "vfr.mkv", "fingerprint")
    write_video(d / "rotated.mp4", fr[:6], 30, rotation=90)
    cases["rotation"] = (d / "rotated.mp4", "fingerprint")
    write_video(d / "one.mp4", fr[:1], 30)
    cases["one-frame"] = (d / "one.mp4", "fingerprint")
    write_video(d / "gap.mkv", fr[:3], 30, times=[0.0, 1 / 30, 3600.0], container_format="matroska")
    cases["one-hour-gap"] = (d / "gap.mkv", "warn")
    cases["header-16000"] = (_png_mov(d / "claim.mov", _png(16000, 16000, rows=4), 2), "error")
    cases["png-16000"] = (_png_mov(d / "big.mov", _png(16000, 16000), 6), "error")
    cases["directory"] = (d, "error")
    cases["missing"] = (d / "does-not-exist.mp4", "error")
    buf = io.BytesIO()
    write_video(buf, fr, 30)  # in memory: moov at the end
    (d / "moov-last.mp4").write_bytes(buf.getvalue())
    cases["nonseekable-moov-last"] = ("nonseekable:" + str(d / "moov-last.mp4"), "fingerprint")
    cases["nonseekable-over-limit"] = ("nonseekable-limit:" + str(d / "moov-last.mp4"), "error")
    return cases


#: Extra fingerprint() arguments of the child (the test sets none: default workers).
FINGERPRINT_OPTIONS: dict = json.loads(os.environ.get("VIDPRINT_HOSTILE_OPTIONS", "{}"))


def _report_of(src, name):
    from vidprint.decode import DecodeStats, TMKSource, VPDQSource, read_frames

    stats = DecodeStats()
    for _ in read_frames(src, {"t": TMKSource(), "v": VPDQSource()}, name=name, stats=stats):
        pass
    return stats.report()


def run_case(case: str, target: str) -> dict:
    """Fingerprint one case; the outcome as a JSON-ready dict. Only vidprint errors are caught."""
    import vidprint
    from vidprint.decode import TMKSource, read_frames
    from vidprint.errors import VidprintError

    name = case
    try:
        if target.startswith("nonseekable-limit:"):
            data = Path(target.split(":", 1)[1]).read_bytes()
            for _ in read_frames(NonSeekable(data), {"t": TMKSource()}, name=name, max_bytes=len(data) // 2):
                pass
            return {"case": case, "outcome": "fingerprint"}
        if target.startswith("nonseekable:"):
            src = NonSeekable(Path(target.split(":", 1)[1]).read_bytes())
        else:
            src = target
        fp = vidprint.fingerprint(src, name=name, **FINGERPRINT_OPTIONS)
    except VidprintError as exc:
        return {"case": case, "outcome": "error", "type": type(exc).__name__, "source": exc.source,
                "reason": exc.reason}
    report = getattr(fp, "decode_report", None)
    if report is None and not target.startswith("nonseekable"):
        report = _report_of(target, name)
    tmk_ok = fp.tmk is None or bool(np.isfinite(fp.tmk.cos).all() and np.isfinite(fp.tmk.average).all())
    return {"case": case, "outcome": "fingerprint", "tmk_frames": fp.tmk.frame_count if fp.tmk else None,
            "vpdq_frames": len(fp.vpdq) if fp.vpdq is not None else None, "finite": tmk_ok,
            "warnings": list(report.warnings) if report is not None else None}


if __name__ == "__main__":
    for line in sys.stdin:
        case, target = line.rstrip("\n").split("\t", 1)
        print(json.dumps({"start": case}), flush=True)
        print(json.dumps(run_case(case, target)), flush=True)
    os._exit(0)
