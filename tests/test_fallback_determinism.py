"""The libswscale fallback gives the same fingerprint on every run, on worker threads (issue 11).

Pixel formats without a native conversion go through libswscale. PyAV keeps one ``SwsContext`` per
frame object, and the TMK and vPDQ sources convert the SAME frame object at different sizes on
different worker threads: two threads then reconfigured and ran one context at once, giving
different fingerprints from run to run, hangs and segfaults. Each format below is hashed 20 times
with the default workers, in a subprocess under a timeout (a hang or a crash fails, it never blocks
the suite), and every run must give byte-identical reference ``.tmk``, compact and vPDQ outputs.
"""
from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import av
import numpy as np
import pytest

from vidprint.synth import scene_frames, write_video

RUNS = 20
TIMEOUT_S = 90  # per format; a normal run of 20 takes a few seconds

_CHILD = r"""
import hashlib, sys
import vidprint
from vidprint.vpdq.textformat import to_text

path, runs = sys.argv[1], int(sys.argv[2])
for _ in range(runs):
    fp = vidprint.fingerprint(path)
    digest = hashlib.sha256(fp.tmk.to_bytes() + fp.compact.to_bytes() + to_text(fp.vpdq).encode()).hexdigest()
    print(digest, fp.native_conversion, flush=True)
"""

# name -> (codec, pix_fmt, (width, height), frames, fps, container file suffix)
CASES = {
    "yuv420p10le": ("libx264", "yuv420p10le", (64, 48), 8, 30, ".mp4"),
    "yuv444p": ("libx264", "yuv444p", (64, 48), 8, 30, ".mp4"),
    "nv12": ("rawvideo", "nv12", (64, 48), 8, 30, ".nut"),
    "bgr0": ("ffv1", "bgr0", (64, 48), 8, 30, ".mkv"),
    "pal8": ("png", "pal8", (48, 40), 8, 30, ".mov"),
    "yuv444p-3x5": ("ffv1", "yuv444p", (3, 5), 8, 30, ".mkv"),
    # 5 fps: the 15 fps TMK source repeats every frame object three times
    "yuv444p-1080p": ("libx264", "yuv444p", (1920, 1080), 3, 5, ".mp4"),
}


def _write_pal8(path, frames, fps: int, codec: str) -> None:
    """Encode RGB frames as palette video: 3-3-2 bit colour cube (swscale cannot encode to pal8)."""
    i = np.arange(256)
    palette = np.stack([np.full(256, 255), (i >> 5 & 7) * 255 // 7, (i >> 2 & 7) * 255 // 7,
                        (i & 3) * 255 // 3], axis=1).astype(np.uint8)  # ARGB
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=Fraction(fps))
        first = True
        for rgb in frames:
            if first:
                stream.height, stream.width = rgb.shape[:2]
                stream.pix_fmt = "pal8"
                first = False
            idx = (rgb[..., 0] >> 5 << 5) | (rgb[..., 1] >> 5 << 2) | (rgb[..., 2] >> 6)
            frame = av.VideoFrame.from_ndarray((np.ascontiguousarray(idx.astype(np.uint8)), palette), format="pal8")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fallback")
    out = {}
    for name, (codec, pix_fmt, (w, h), n, fps, suffix) in CASES.items():
        path = folder / f"{name}{suffix}"
        frames = scene_frames(3, n, w, h, fps)
        if pix_fmt == "pal8":
            _write_pal8(path, frames, fps, codec)
        else:
            write_video(path, frames, fps, codec=codec, pix_fmt=pix_fmt)
        with av.open(str(path)) as c:  # the decoder really hands out this pixel format
            assert next(c.decode(video=0)).format.name == pix_fmt
        out[name] = path
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_fallback_is_deterministic_on_worker_threads(clips, name):
    try:
        r = subprocess.run([sys.executable, "-c", _CHILD, str(clips[name]), str(RUNS)],
                           capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        done = (exc.stdout or b"").count(b"\n") if isinstance(exc.stdout, bytes) else (exc.stdout or "").count("\n")
        pytest.fail(f"{name}: hashing hung ({done} of {RUNS} runs finished in {TIMEOUT_S} s)")
    assert r.returncode == 0, f"{name}: child died with return code {r.returncode}\n{r.stderr[-2000:]}"
    lines = r.stdout.splitlines()
    assert len(lines) == RUNS
    digests = {line.split()[0] for line in lines}
    assert len(digests) == 1, f"{name}: {len(digests)} different fingerprints in {RUNS} runs"
    assert {line.split()[1] for line in lines} == {"False"}, "the clip must take the libswscale fallback"
