"""vidprint's hashes do not come from libswscale: they are the same with FFmpeg's SIMD paths on or off.

Each run is a subprocess (``av_force_cpu_flags`` is process-wide): one with the CPU's SIMD flags as
detected, one with all flags forced off. In the same two runs, libswscale's own RGB24 conversion is
checked to *differ*, which proves the flags took effect and that the test would catch a dependence.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from conftest import VIDEOS, need_shared

_SCRIPT = textwrap.dedent(
    r"""
    import ctypes, hashlib, json, sys
    import av, av.video
    force_c = sys.argv[2] == "c"
    if force_c:
        # The only skippable outcome: this platform offers no way to force FFmpeg's C path. It is
        # reported as data on stdout; any crash after this point exits non-zero and fails the test.
        try:
            with open("/proc/self/maps") as fh:
                paths = sorted({l.split()[-1] for l in fh if "libavutil" in l and "/" in l})
            lib = ctypes.CDLL(paths[0])
            force, get = lib.av_force_cpu_flags, lib.av_get_cpu_flags
        except (OSError, IndexError, AttributeError) as exc:
            print(json.dumps({"cannot_force_c_path": repr(exc)}))
            sys.exit(0)
        force.argtypes = [ctypes.c_int]
        force(0)
        if get() != 0:
            print(json.dumps({"cannot_force_c_path": f"av_get_cpu_flags() = {get()} after forcing 0"}))
            sys.exit(0)
    from vidprint.pipeline import fingerprint
    fp = fingerprint(sys.argv[1])
    sws = hashlib.sha256()
    with av.open(sys.argv[1]) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i % 10 == 0:
                sws.update(frame.to_ndarray(format="rgb24").tobytes())
    print(json.dumps({
        "vpdq": fp.vpdq.to_text(),
        "tmk": hashlib.sha256(fp.tmk.to_bytes()).hexdigest(),
        "native": fp.native_conversion,
        "libswscale_rgb": sws.hexdigest(),
    }))
    """
)


def _run(video, mode: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, str(video), mode], capture_output=True, text=True,
                          timeout=600)
    # A crash (any non-zero exit, whatever its message) is a failure, never a skip.
    assert proc.returncode == 0, f"{mode} run exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if "cannot_force_c_path" in result:
        pytest.skip(f"cannot force FFmpeg's C path on this platform: {result['cannot_force_c_path']}")
    return result


def test_same_hashes_with_and_without_simd():
    need_shared()
    video = VIDEOS / "chair-19-sd-bar.mp4"
    simd, plain = _run(video, "simd"), _run(video, "c")
    assert simd["native"] and plain["native"]
    # the control: libswscale's own pixels change with the CPU flags ...
    assert simd["libswscale_rgb"] != plain["libswscale_rgb"]
    # ... vidprint's hashes do not
    assert simd["vpdq"] == plain["vpdq"]
    assert simd["tmk"] == plain["tmk"]
    assert simd["vpdq"] == (VIDEOS.parent / "vpdq" / "chair-19-sd-bar.txt").read_text()
