"""Every transform of vidprint.eval.transforms: the output decodes, with the intended duration, size,
frame rate and content (checked on a small generated video against numpy transcriptions)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from vidprint.eval import transforms as T
from vidprint.synth import make_video, scene_frames

W, H, FPS, SECONDS = 96, 64, 30.0, 3.0


@pytest.fixture(scope="module")
def src() -> bytes:
    return make_video(7, seconds=SECONDS, fps=FPS, size=(W, H))


@pytest.fixture(scope="module")
def outputs(src) -> dict[str, T.Transformed]:
    return T.apply_all(src)


def _even(x: float) -> int:
    return max(2, int(x) // 2 * 2)


# name -> (width, height, fps, duration_s)
EXPECTED = {
    "reencode_crf35": (W, H, FPS, SECONDS),
    "reencode_mpeg4_q12": (W, H, FPS, SECONDS),
    "resize_0.5": (48, 32, FPS, SECONDS),
    "crop_5": (_even(W * 0.95), _even(H * 0.95), FPS, SECONDS),
    "crop_10": (_even(W * 0.9), _even(H * 0.9), FPS, SECONDS),
    "crop_20": (_even(W * 0.8), _even(H * 0.8), FPS, SECONDS),
    "letterbox_12": (W, H + 2 * 8, FPS, SECONDS),
    "pillarbox_12": (W + 2 * 12, H, FPS, SECONDS),
    "logo_10": (W, H, FPS, SECONDS),
    "logo_20": (W, H, FPS, SECONDS),
    "pip_50": (W, H, FPS, SECONDS),
    "grey": (W, H, FPS, SECONDS),
    "sepia": (W, H, FPS, SECONDS),
    "brightness_contrast": (W, H, FPS, SECONDS),
    "hflip": (W, H, FPS, SECONDS),
    "fps_25": (W, H, 25.0, SECONDS),
    "speed_0.8": (W, H, FPS * 0.8, SECONDS / 0.8),
    "speed_1.25": (W, H, FPS * 1.25, SECONDS / 1.25),
    "trim_5_5": (W, H, FPS, SECONDS * 0.9),
    "black_1_1": (W, H, FPS, SECONDS + 2.0),
    "slideshow_2s": (W, H, 0.5, 4.0),  # frames at 0 and 2 s, each held 2 s
    "gif_10fps": (W, H, 10.0, SECONDS),
    "clip_5s": (W, H, FPS, SECONDS / 2),  # min(5 s, half the duration)
    "clip_60s": (W, H, FPS, SECONDS / 2),
}

ISSUE_TRANSFORMS = ["reencode", "resize", "crop", "letterbox", "pillarbox", "logo", "pip", "grey", "sepia",
                    "brightness_contrast", "hflip", "frame_rate", "speed", "trim", "clip", "black_frames",
                    "slideshow", "gif"]


def test_registry_covers_the_issue_list():
    assert set(EXPECTED) == set(T.TRANSFORMS)
    assert {t.fn.__name__ for t in T.TRANSFORMS.values()} >= set(ISSUE_TRANSFORMS)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_output_decodes_with_intended_geometry_and_timing(outputs, name):
    out = outputs[name]
    w, h, fps, dur = EXPECTED[name]
    frames = list(T.decode_rgb(out.data))
    assert frames, name
    assert frames[0][0].shape == (h, w, 3)
    duration, rate = T.probe(out.data)
    assert rate == pytest.approx(fps, rel=0.01)
    assert duration == pytest.approx(dur, abs=0.5 / min(fps, FPS) + 1e-6)
    assert len(frames) == pytest.approx(round(dur * fps), abs=1)
    assert out.suffix == (".gif" if name == "gif_10fps" else ".mp4")


def _src_frames() -> list[np.ndarray]:
    return list(scene_frames(7, int(SECONDS * FPS), W, H, FPS))


def _close(a: np.ndarray, b: np.ndarray, tol: float = 6.0) -> bool:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean()) < tol


def test_content_of_per_frame_transforms(outputs):
    ref = _src_frames()[10]
    f = {n: list(T.decode_rgb(outputs[n].data))[10][0] for n in
         ("hflip", "grey", "letterbox_12", "pillarbox_12", "crop_10", "logo_20", "brightness_contrast")}
    assert _close(f["hflip"], ref[:, ::-1]) and not _close(f["hflip"], ref)
    g = f["grey"].astype(int)
    assert np.abs(g[..., 0] - g[..., 1]).max() <= 6 and np.abs(g[..., 1] - g[..., 2]).max() <= 6
    assert f["letterbox_12"][:6].max() < 24 and f["letterbox_12"][-6:].max() < 24
    assert _close(f["letterbox_12"][8:-8], ref)
    assert f["pillarbox_12"][:, :10].max() < 24 and _close(f["pillarbox_12"][:, 12:-12], ref)
    y0, x0 = (H - f["crop_10"].shape[0]) // 2, (W - f["crop_10"].shape[1]) // 2
    assert _close(f["crop_10"], ref[y0 : y0 + f["crop_10"].shape[0], x0 : x0 + f["crop_10"].shape[1]])
    bh, bw = int(H * 0.2), int(W * 0.2)
    assert not _close(f["logo_20"][1 : 1 + bh, W - 2 - bw : W - 2], ref[1 : 1 + bh, W - 2 - bw : W - 2], 20)
    assert _close(f["logo_20"][H // 2 :, : W // 2], ref[H // 2 :, : W // 2])
    want = np.clip((ref.astype(np.float32) - 128) * 1.2 + 158, 0, 255)
    assert _close(f["brightness_contrast"], want, 8)


def test_clip_offsets_and_content(outputs):
    out = outputs["clip_5s"]
    assert out.source_start_s == pytest.approx(0.75, abs=1 / FPS)
    assert out.source_end_s == pytest.approx(2.25, abs=1e-9)
    first = next(T.decode_rgb(out.data))[0]
    k = int(round(out.source_start_s * FPS))
    assert _close(first, _src_frames()[k])
    tr = outputs["trim_5_5"]
    assert tr.source_start_s == pytest.approx(0.15, abs=1 / FPS) and tr.source_end_s == pytest.approx(2.85)
    assert outputs["hflip"].source_start_s is None


def test_black_frames_and_slideshow(outputs):
    frames = list(T.decode_rgb(outputs["black_1_1"].data))
    assert frames[0][0].max() < 20 and frames[-1][0].max() < 20
    assert frames[int(FPS) + 5][0].mean() > 40
    ss = list(T.decode_rgb(outputs["slideshow_2s"].data))
    assert [t for _, t in ss] == pytest.approx([0.0, 2.0], abs=1e-3)
    assert _close(ss[1][0], _src_frames()[int(2 * FPS)])


def test_speed_keeps_every_frame(outputs, src):
    n = len(list(T.decode_rgb(src)))
    assert len(list(T.decode_rgb(outputs["speed_1.25"].data))) == n
    times = [t for _, t in T.decode_rgb(outputs["speed_0.8"].data)]
    assert times[1] == pytest.approx(1 / (FPS * 0.8), abs=1e-3)


def test_deterministic(src):
    for name in ("reencode_mpeg4_q12", "gif_10fps"):
        assert T.apply(name, src).data == T.apply(name, src).data


@pytest.mark.xfail(strict=False, reason="known issue: libx264 through PyAV 18 gave different bytes for the same "
                                        "input frames in about 1 run in 10, even single-threaded (the decoded "
                                        "and YUV-converted inputs were checked identical); cause not found yet")
def test_x264_output_is_byte_deterministic(src):
    for _ in range(3):
        assert T.apply("reencode_crf35", src).data == T.apply("reencode_crf35", src).data


def test_mpeg4_quality_changes_size(src):
    assert len(T.reencode(src, "mpeg4", 2).data) > 2 * len(T.reencode(src, "mpeg4", 31).data)


def test_errors(src):
    with pytest.raises(ValueError, match="unknown transform"):
        T.apply("nope", src)
    with pytest.raises(ValueError):
        T.crop(src, 1.0)
    with pytest.raises(ValueError):
        T.speed(src, 0.0)
    with pytest.raises(ValueError):
        T.reencode(src, codec="vp9")
    assert math.isfinite(T.probe(src)[0])


def test_damaged_real_file_still_transforms():
    from conftest import SHARED

    p = SHARED / "corpus" / "videos" / "debian__lightsoff__lightsoff.ogv"
    if not p.exists():
        pytest.skip(f"corpus video not found at {p}")
    # the decoder rejects some of its packets (avcodec_send_packet: EINVAL); they are skipped
    out = T.apply("crop_10", p)
    assert len(list(T.decode_rgb(out.data))) == len(list(T.decode_rgb(p))) > 100
