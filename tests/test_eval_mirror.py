"""Mirrored TMK descriptors (vidprint.tmk.mirror) against the PDQF of actually mirrored frames."""
from __future__ import annotations

import numpy as np
import pytest

import vidprint
from vidprint.eval import transforms as T
from vidprint.pdqf import pdqf
from vidprint.synth import make_video, scene_frames
from vidprint.tmk import compact_from_features, compact_score, score
from vidprint.tmk.mirror import (
    ORIENTATIONS,
    compact_score_oriented,
    mirror_compact,
    mirror_features,
    mirror_tmk,
)


@pytest.mark.parametrize("size", [(64, 64), (128, 96), (320, 240)])
@pytest.mark.parametrize("orientation", ["flipx", "flipy", "rot180"])
def test_sign_law_matches_pdqf_of_flipped_frames(size, orientation):
    img = next(scene_frames(5, 1, *size))
    flipped = {"flipx": img[:, ::-1], "flipy": img[::-1], "rot180": img[::-1, ::-1]}[orientation]
    want = pdqf(np.ascontiguousarray(flipped)).astype(np.float64)
    got = mirror_features(pdqf(img), orientation).astype(np.float64)
    if size == (64, 64):  # no decimation: exact up to float rounding
        assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
    # otherwise the decimation's sample positions need not be mirror symmetric (a one-pixel shift at
    # some sizes): measured relative L2 error up to ~0.11, cosine >= 0.994
    cos = got @ want / np.linalg.norm(got) / np.linalg.norm(want)
    assert cos > 0.99


def test_orientation_table():
    assert list(ORIENTATIONS)[0] == "orig" and (ORIENTATIONS["orig"] == 1).all()
    # frequency v + 1 odd (v even) flips: index 0 is B[0, 0], horizontal frequency 1
    assert ORIENTATIONS["flipx"][0] == -1 and ORIENTATIONS["flipx"][1] == 1 and ORIENTATIONS["flipx"][16] == -1
    with pytest.raises(ValueError):
        mirror_features(np.zeros(256, np.float32), "rot90")


def test_mirrored_descriptor_is_the_descriptor_of_mirrored_features():
    rng = np.random.default_rng(1)
    f = rng.normal(size=(200, 256)).astype(np.float32)
    t = np.arange(200) / 15.0
    a = mirror_compact(compact_from_features(f, t))
    b = compact_from_features(mirror_features(f), t)
    assert a.to_bytes() == b.to_bytes()  # exact, int8 codes and scales included
    assert mirror_compact(a).to_bytes() == compact_from_features(f, t).to_bytes()


@pytest.fixture(scope="module")
def pair():
    src = make_video(9, seconds=4.0, fps=15.0, size=(192, 128))
    return (vidprint.fingerprint(src, vpdq=False),
            vidprint.fingerprint(T.hflip(src).data, vpdq=False))


def test_flipped_video_matches_mirrored_descriptor(pair):
    a, b = pair
    plain = compact_score(a.compact, b.compact)
    mirrored = compact_score(mirror_compact(a.compact), b.compact)
    assert plain.level2 < 0.5 < 0.95 < mirrored.level1 and mirrored.level2 > 0.95
    assert score(mirror_tmk(a.tmk), b.tmk).level2 > 0.95 > 0.5 > score(a.tmk, b.tmk).level2
    sc, name = compact_score_oriented(a.compact, b.compact)
    assert name == "flipx" and sc.level2 == pytest.approx(mirrored.level2)
    sc, name = compact_score_oriented(a.compact, a.compact)
    assert name == "orig" and sc.level2 == pytest.approx(1.0, abs=1e-3)
