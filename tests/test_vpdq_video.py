"""vPDQ on real encoded video: clips cut from longer videos, transformed, then located by ``align``.

Two long generated videos are the "known" material; five clips of 6-18 s are cut from them, each
transformed as a re-upload would be (re-encoded at a lower bitrate, half size, 30 -> 25 fps, 1.1x
speed, mirrored) and encoded again. ``align`` must find each clip's place (start and end within 1 s),
its speed (within 5%), and nothing in 20 unrelated videos.
"""
from __future__ import annotations

import io

import numpy as np
import pytest

import vidprint.vpdq as vpdq
from vidprint.pipeline import hash_vpdq, hash_vpdq_dihedral
from vidprint.synth import scene_frames, write_video

W, H, FPS = 320, 240, 30
LONG_S = 40


def _encode(frames, fps, **kw) -> bytes:
    buf = io.BytesIO()
    write_video(buf, frames, fps, **kw)
    return buf.getvalue()


def _render(seed, start_s, seconds, fps, speed=1.0, size=(W, H)):
    """Frames of scene ``seed`` from ``start_s`` for ``seconds`` of output at ``fps``, played at ``speed``."""
    n = int(round(seconds * fps))
    # frame k of scene_frames(..., fps=f) shows scene time k / f: f = fps / speed plays ``speed`` x faster
    skip = int(round(start_s * fps / speed))
    frames = list(scene_frames(seed, skip + n, *size, fps=fps / speed))
    return frames[skip:]


@pytest.fixture(scope="module")
def material():
    longs = {seed: hash_vpdq(_encode(list(scene_frames(seed, LONG_S * FPS, W, H, FPS)), FPS))
             for seed in (101, 102)}
    clips = {
        "reencode": (101, 5.0, 10.0, 1.0, _encode(_render(101, 5.0, 10.0, FPS), FPS, crf=36)),
        "half-size": (101, 20.0, 12.0, 1.0,
                      _encode([f[::2, ::2] for f in _render(101, 20.0, 12.0, FPS)], FPS)),
        "25fps": (102, 3.0, 7.0, 1.0, _encode(_render(102, 3.0, 7.0, 25), 25)),
        "speed1.1": (102, 15.0, 16.0, 1.1, _encode(_render(102, 15.0, 16.0, FPS, speed=1.1), FPS)),
        "mirrored": (101, 27.0, 6.0, 1.0, _encode([f[:, ::-1] for f in _render(101, 27.0, 6.0, FPS)], FPS)),
    }
    unrelated = [hash_vpdq(_encode(list(scene_frames(500 + i, 60, 160, 120, FPS)), FPS))
                 for i in range(20)]
    return longs, clips, unrelated


@pytest.mark.parametrize("kind", ["reencode", "half-size", "25fps", "speed1.1", "mirrored"])
def test_align_locates_transformed_clip(material, kind):
    longs, clips, _ = material
    seed, start, seconds, speed, data = clips[kind]
    if kind == "mirrored":
        clip, variants = hash_vpdq_dihedral(data)
        assert vpdq.align(clip, longs[seed]) == []  # a mirror image is not found without its variants
        segments = vpdq.align(clip, longs[seed], dihedral=variants)
    else:
        clip = hash_vpdq(data)
        segments = vpdq.align(clip, longs[seed])
    assert len(segments) == 1, segments
    seg = segments[0]
    end = start + seconds * speed  # the clip shows this stretch of the long video
    assert abs(seg.compared_start_s - start) <= 1.0
    assert abs(seg.compared_end_s - end) <= 1.0
    assert seg.query_start_s <= 1.0 and seg.query_end_s >= clip.timestamps[-1] - 1.0
    assert abs(seg.speed - speed) <= 0.05 * speed
    if kind == "mirrored":
        assert seg.transform == "flipy"
    other = longs[203 - seed]  # the other long video: unrelated content
    assert vpdq.align(clip, other) == []


def test_clips_find_nothing_in_unrelated_videos(material):
    longs, clips, unrelated = material
    for kind, (_, _, _, _, data) in clips.items():
        clip = hash_vpdq(data)
        for other in unrelated:
            assert vpdq.align(clip, other) == [], kind
            assert vpdq.match(clip, other).query_pct < 5.0


def test_dihedral_plain_hashes_equal_ordinary_hashes():
    data = _encode(list(scene_frames(7, 20, 96, 80, FPS)), FPS)
    plain = hash_vpdq(data)
    again, variants = hash_vpdq_dihedral(data)
    np.testing.assert_array_equal(plain.words, again.words)
    np.testing.assert_array_equal(variants["orig"], plain.words)
    assert set(variants) == {"orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1"}
