"""vidprint.decode._yuv2rgb against libswscale's plain-C unscaled YUV -> RGB24 converter.

Ground truth comes from the libswscale that PyAV ships, forced onto its portable C code with
``av_force_cpu_flags(0)``. That must happen before any conversion and is process-wide, so it runs in a
subprocess (once per module): the subprocess decodes sample frames, converts them and synthetic frames
with ``frame.reformat(format="rgb24")`` and saves planes and RGB as ``.npy`` files for the tests.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from vidprint.decode import _yuv2rgb as yr

from conftest import VIDEOS  # $VIDPRINT_SHARED or ../shared

# (video, frame indices) decoded in the subprocess; 480x720 chair clips and the 1080x1080 one.
REAL_FRAMES = {
    "chair-19-sd-bar.mp4": (0, 61),
    "chair-22-sd-sepia-bar.mp4": (40,),
    "chair-orig-22-sd-bar.mp4": (300,),
    "test-padded-dimensions.mp4": (0, 77),
}
# Sizes exercising the converter's 8-, 4- and 2-pixel column steps and odd widths (even heights only:
# odd heights are not converted by this code path in swscale, see test_odd_height_leaves_table_path).
SIZES = [(2, 2), (6, 4), (10, 2), (12, 6), (14, 8), (16, 2), (3, 4), (5, 2), (7, 6), (9, 4), (11, 2),
         (13, 8), (15, 4), (17, 6), (33, 10), (479, 6)]
ODD_HEIGHT_SIZES = [(8, 3), (16, 7), (9, 5)]

_SUBPROCESS = textwrap.dedent(
    r"""
    import ctypes, glob, json, os, sys
    import numpy as np
    import av
    import av.video  # make sure PyAV's libavutil is mapped before looking for it

    out = sys.argv[1]
    status = {"ok": False}

    def loaded_avutil():
        with open("/proc/self/maps") as fh:
            paths = {line.split()[-1] for line in fh if "libavutil" in line and "/" in line}
        if paths:
            return sorted(paths)[0]
        libs = glob.glob(os.path.join(os.path.dirname(av.__file__), os.pardir, "av.libs", "libavutil*.so*"))
        return libs[0] if libs else None

    try:
        path = loaded_avutil()
        lib = ctypes.CDLL(path)
        lib.av_force_cpu_flags.argtypes = [ctypes.c_int]
        lib.av_get_cpu_flags.restype = ctypes.c_int
        lib.av_force_cpu_flags(0)
        if lib.av_get_cpu_flags() != 0:
            raise RuntimeError("av_force_cpu_flags(0) did not take effect")
    except Exception as exc:  # no libavutil found, or no such symbol
        status["reason"] = f"cannot force libswscale's C path: {exc!r}"
        json.dump(status, open(os.path.join(out, "status.json"), "w"))
        sys.exit(0)

    av.logging.set_level(av.logging.ERROR)
    cfg = json.load(open(os.path.join(out, "config.json")))

    def planes(frame):
        return [np.frombuffer(p, np.uint8).reshape(-1, p.line_size).copy() for p in frame.planes]

    def frame_from(fmt, arrays, w, h):
        fr = av.VideoFrame(w, h, fmt)
        for p, a in zip(fr.planes, arrays):
            buf = np.frombuffer(p, np.uint8).reshape(-1, p.line_size)
            buf[: a.shape[0], : a.shape[1]] = a
        return fr

    def rgb(frame):
        return frame.reformat(format="rgb24").to_ndarray()

    real = []
    for name, idx in cfg["real"].items():
        want = set(idx)
        with av.open(os.path.join(cfg["videos"], name)) as ct:
            for i, fr in enumerate(ct.decode(video=0)):
                if i in want:
                    key = f"{name}-{i}"
                    for k, p in enumerate(planes(fr)):
                        np.save(os.path.join(out, f"{key}.p{k}.npy"), p)
                    np.save(os.path.join(out, f"{key}.rgb.npy"), rgb(fr))
                    real.append([key, fr.format.name, fr.width, fr.height, int(fr.color_range)])
                if i >= max(want):
                    break
    status["real"] = real

    # Synthetic frames: planes written by the test process, converted here.
    for job in cfg["synthetic"]:
        arrays = [np.load(os.path.join(out, f"{job['key']}.in{k}.npy")) for k in range(job["nplanes"])]
        fr = frame_from(job["fmt"], arrays, job["w"], job["h"])
        np.save(os.path.join(out, f"{job['key']}.rgb.npy"), rgb(fr))

    status["libswscale"] = list(av.library_versions["libswscale"])
    status["ok"] = True
    json.dump(status, open(os.path.join(out, "status.json"), "w"))
    """
)


def _all_values_planes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 4096x4096 4:2:0 frame holding every (Y, U, V) triple once: 64 2x2 blocks per (U, V)."""
    blk = np.arange(2048 * 2048, dtype=np.int64).reshape(2048, 2048)
    uv, g = blk // 64, blk % 64
    u = (uv // 256).astype(np.uint8)
    v = (uv % 256).astype(np.uint8)
    y = np.empty((4096, 4096), np.uint8)
    y[0::2, 0::2] = 4 * g
    y[0::2, 1::2] = 4 * g + 1
    y[1::2, 0::2] = 4 * g + 2
    y[1::2, 1::2] = 4 * g + 3
    return y, u, v


def _random_planes(rng, w: int, h: int, chroma_h: int) -> list[np.ndarray]:
    cw = (w + 1) // 2
    return [rng.integers(0, 256, (h, w), dtype=np.uint8),
            rng.integers(0, 256, (chroma_h, cw), dtype=np.uint8),
            rng.integers(0, 256, (chroma_h, cw), dtype=np.uint8)]


def _luma_f32(rgb: np.ndarray) -> np.ndarray:
    """Spec §1.2: float32, (0.299 R + 0.587 G) + 0.114 B, left to right."""
    f = rgb.astype(np.float32)
    return (np.float32(0.299) * f[..., 0] + np.float32(0.587) * f[..., 1]) + np.float32(0.114) * f[..., 2]


@pytest.fixture(scope="module")
def gt(tmp_path_factory):
    """Run the forced-C-path subprocess once; return (directory, status, synthetic jobs)."""
    if not VIDEOS.is_dir():
        pytest.skip(f"reference videos not found at {VIDEOS} (../shared beside the checkout)")
    out = tmp_path_factory.mktemp("swscale_c")
    rng = np.random.default_rng(20240611)
    jobs = []

    def add(key, fmt, arrays, w, h):
        for k, a in enumerate(arrays):
            np.save(out / f"{key}.in{k}.npy", a)
        jobs.append({"key": key, "fmt": fmt, "w": w, "h": h, "nplanes": len(arrays)})

    allv = _all_values_planes()
    add("all-limited", "yuv420p", allv, 4096, 4096)
    add("all-full", "yuvj420p", allv, 4096, 4096)
    for w, h in SIZES + ODD_HEIGHT_SIZES:
        add(f"size-{w}x{h}", "yuv420p", _random_planes(rng, w, h, (h + 1) // 2), w, h)
    add("422", "yuv422p", _random_planes(rng, 64, 16, 16), 64, 16)
    add("gray", "gray", [np.arange(256, dtype=np.uint8).reshape(4, 64)], 64, 4)

    config = {"videos": str(VIDEOS), "real": REAL_FRAMES, "synthetic": jobs}
    (out / "config.json").write_text(json.dumps(config))
    proc = subprocess.run([sys.executable, "-c", _SUBPROCESS, str(out)], capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f"ground-truth subprocess failed:\n{proc.stderr[-3000:]}")
    status = json.loads((out / "status.json").read_text())
    if not status["ok"]:
        pytest.skip(status["reason"])
    return out, status, {j["key"]: j for j in jobs}


def _load(out: Path, key: str, what: str) -> np.ndarray:
    return np.load(out / f"{key}.{what}.npy")


def test_real_frames_rgb_and_luma_exact(gt):
    out, status, _ = gt
    assert len(status["real"]) == sum(len(v) for v in REAL_FRAMES.values())
    padded = 0
    for key, fmt, w, h, color_range in status["real"]:
        assert fmt == "yuv420p" and color_range == 0, (key, fmt, color_range)  # untagged: BT.601 limited
        y, u, v = (_load(out, key, f"p{k}") for k in range(3))
        padded += y.shape[1] > w
        ref = _load(out, key, "rgb")
        tables = yr.yuv_tables(False)
        mine = yr.yuv420p_to_rgb24(y, u, v, w, h, tables)
        assert mine.shape == (h, w, 3)
        np.testing.assert_array_equal(mine, ref, err_msg=key)
        luma = np.full((h, w), np.nan, np.float32)
        yr.yuv420p_to_luma(y, u, v, w, h, tables, luma)
        np.testing.assert_array_equal(luma, _luma_f32(ref), err_msg=key)
    assert padded, "PyAV planes were expected to carry row padding (line_size > width)"


@pytest.mark.parametrize("key,full", [("all-limited", False), ("all-full", True)])
def test_every_yuv_triple_exact(gt, key, full):
    out, _, jobs = gt
    y, u, v = (_load(out, key, f"in{k}") for k in range(3))
    ref = _load(out, key, "rgb")
    mine = yr.yuv420p_to_rgb24(y, u, v, 4096, 4096, yr.yuv_tables(full))
    bad = np.argwhere((mine != ref).any(-1))
    assert bad.size == 0, f"{len(bad)} pixels differ, first at {bad[:3].tolist()}"
    # Neutral grey (U = V = 128) read from swscale's own output: limited range maps Y 16 -> 0 but
    # Y 235 -> 253 (not 255) in this converter; full range is the identity.
    uv = 128 * 256 + 128
    expect = {16: 0, 235: 253} if not full else {16: 16, 235: 235}
    for yval, rgbval in expect.items():
        blk = uv * 64 + yval // 4
        r, c = 2 * (blk // 2048) + (yval % 4) // 2, 2 * (blk % 2048) + yval % 2
        assert (y[r, c], u[r // 2, c // 2], v[r // 2, c // 2]) == (yval, 128, 128)
        assert ref[r, c].tolist() == [rgbval] * 3


def test_fused_luma_matches_rgb_on_every_triple(gt):
    out, _, _ = gt
    y, u, v = (_load(out, "all-limited", f"in{k}") for k in range(3))
    ref = _load(out, "all-limited", "rgb")
    luma = np.empty((4096, 4096), np.float32)
    yr.yuv420p_to_luma(y, u, v, 4096, 4096, yr.yuv_tables(False), luma)
    np.testing.assert_array_equal(luma, _luma_f32(ref))


@pytest.mark.parametrize("w,h", SIZES)
def test_sizes_exact_except_unwritten_last_odd_column(gt, w, h):
    out, _, _ = gt
    key = f"size-{w}x{h}"
    y, u, v = (_load(out, key, f"in{k}") for k in range(3))
    ref = _load(out, key, "rgb")
    tables = yr.yuv_tables(False)
    mine = yr.yuv420p_to_rgb24(y, u, v, w, h, tables)
    cols = w - (w & 1)  # swscale never writes the last column of an odd width
    np.testing.assert_array_equal(mine[:, :cols], ref[:, :cols])
    if w & 1:
        # Our last column uses chroma column w // 2 like the others: check it against a 1-column-wider
        # conversion of the same data (chroma is shared, so its column w-1 is fully determined).
        y2 = np.concatenate([y, y[:, -1:]], axis=1)
        wider = yr.yuv420p_to_rgb24(y2, u, v, w + 1, h, tables)
        np.testing.assert_array_equal(mine[:, -1], wider[:, w - 1])
    luma = np.empty((h, w), np.float32)
    yr.yuv420p_to_luma(y, u, v, w, h, tables, luma)
    np.testing.assert_array_equal(luma, _luma_f32(mine))


@pytest.mark.parametrize("w,h", ODD_HEIGHT_SIZES)
def test_odd_height_leaves_table_path(gt, w, h):
    """swscale converts odd heights with its generic scaler, not the table code: route them elsewhere."""
    out, _, _ = gt
    key = f"size-{w}x{h}"
    y, u, v = (_load(out, key, f"in{k}") for k in range(3))
    ref = _load(out, key, "rgb")
    mine = yr.yuv420p_to_rgb24(y, u, v, w, h, yr.yuv_tables(False))
    assert not np.array_equal(mine[:, : w - (w & 1)], ref[:, : w - (w & 1)])
    assert not yr.table_path_applies("yuv420p", h)
    assert yr.table_path_applies("yuv420p", h + 1)


def test_padded_strides_ignored():
    rng = np.random.default_rng(7)
    w, h = 37, 22
    y, u, v = _random_planes(rng, w, h, (h + 1) // 2)
    tables = yr.yuv_tables(False)
    plain = yr.yuv420p_to_rgb24(y, u, v, w, h, tables)
    pad = [np.concatenate([p, rng.integers(0, 256, (p.shape[0], 27), dtype=np.uint8)], axis=1) for p in (y, u, v)]
    pad[0] = np.concatenate([pad[0], np.full((3, pad[0].shape[1]), 255, np.uint8)])  # extra rows too
    np.testing.assert_array_equal(yr.yuv420p_to_rgb24(pad[0], pad[1], pad[2], w, h, tables), plain)
    luma = np.empty((h, w), np.float32)
    yr.yuv420p_to_luma(pad[0], pad[1], pad[2], w, h, tables, luma)
    np.testing.assert_array_equal(luma, _luma_f32(plain))


def test_422_matches_this_libswscale(gt):
    out, status, _ = gt
    y, u, v = (_load(out, "422", f"in{k}") for k in range(3))
    ref = _load(out, "422", "rgb")
    tables = yr.yuv_tables(False)
    legacy = yr.yuv422p_to_rgb24(y, u, v, 64, 16, tables, False)
    per_row = yr.yuv422p_to_rgb24(y, u, v, 64, 16, tables, True)
    major = status["libswscale"][0]
    if major <= 7:  # FFmpeg <= 6.1: chroma row 2k serves rows 2k and 2k+1
        np.testing.assert_array_equal(legacy, ref)
    elif major >= 9:  # FFmpeg 8
        np.testing.assert_array_equal(per_row, ref)
    else:
        assert np.array_equal(legacy, ref) or np.array_equal(per_row, ref)
    luma = np.empty((16, 64), np.float32)
    yr.yuv422p_to_luma(y, u, v, 64, 16, tables, luma, False)
    np.testing.assert_array_equal(luma, _luma_f32(legacy))


def test_gray_is_replicated(gt):
    out, _, _ = gt
    ref = _load(out, "gray", "rgb")
    g = _load(out, "gray", "in0")
    np.testing.assert_array_equal(ref, np.repeat(g[..., None], 3, axis=2))
    luma = np.empty((4, 64), np.float32)
    yr.gray8_to_luma(g, 64, 4, luma)
    np.testing.assert_array_equal(luma, _luma_f32(ref))


def test_tables_and_routing():
    t = yr.yuv_tables(False)
    assert t is yr.yuv_tables(False) and t.shape == (5, 2048) and not t.flags.writeable
    assert not np.array_equal(yr.yuv_tables(True), t)
    assert not np.array_equal(yr.yuv_tables(False, "bt709"), t)
    with pytest.raises(ValueError, match="matrix"):
        yr.yuv_tables(False, "bt2100")
    assert yr.format_layout("yuvj420p") == ("420", True)
    assert yr.format_layout("yuv420p") == ("420", False)
    assert yr.format_layout("nv12") is None and not yr.table_path_applies("yuv444p", 720)
    with pytest.raises(ValueError):
        yr.yuv420p_to_luma(np.zeros((4, 4), np.uint8), np.zeros((1, 2), np.uint8),
                           np.zeros((2, 2), np.uint8), 4, 4, t, np.empty((4, 4), np.float32))


@pytest.mark.parametrize("w, h", [(64, 64), (65, 48), (4, 6), (100, 38), (6, 2000)])
@pytest.mark.parametrize("full_range", [False, True])
def test_fused_420_hash_equals_hash_of_luma(w, h, full_range):
    """pdqf's fused YUV -> luma -> blur hash gives the bits of hashing decode's luma plane (padded rows,
    odd width, the 64x64 no-blur rule, the < 5 pixel guard, a tall frame); repeated planes hashed once."""
    from vidprint.pdqf import hash_luma_batch, hash_yuv420p_batch

    rng = np.random.default_rng(w * 1000 + h)
    frames, lumas = [], []
    for _ in range(3):
        pad = 16
        y = rng.integers(0, 256, (h, w + pad), dtype=np.uint8)
        y = np.cumsum(y, axis=1, dtype=np.uint16).astype(np.uint8)  # some structure, some noise
        u = rng.integers(0, 256, ((h + 1) // 2, (w + 1) // 2 + pad), dtype=np.uint8)
        v = rng.integers(0, 256, ((h + 1) // 2, (w + 1) // 2 + pad), dtype=np.uint8)
        luma = np.empty((h, w), np.float32)
        yr.yuv420p_to_luma(y, u, v, w, h, yr.yuv_tables(full_range), luma)
        frames.append((y, u, v, full_range))
        lumas.append(luma)
    frames.insert(1, frames[0])  # a repeated frame object (TMK-style)
    lumas.insert(1, lumas[0])
    words, quality = hash_yuv420p_batch(frames, w, h)
    ref_words, ref_quality = hash_luma_batch(np.stack(lumas))
    np.testing.assert_array_equal(words, ref_words)
    np.testing.assert_array_equal(quality, ref_quality)
