"""Letterbox / pillarbox bar detection (vidprint.tmk.bars) on hand-made frames."""
from __future__ import annotations

import numpy as np

from vidprint.pdqf import pdqf_luma
from vidprint.synth import scene_frames
from vidprint.tmk.bars import _area_matrix, content_luma, detect_bars


def _luma(rgb: np.ndarray) -> np.ndarray:
    return (rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.float32)


def _frame(w=128, h=96) -> np.ndarray:
    return _luma(next(scene_frames(4, 1, w, h)))


def test_letterbox_and_pillarbox_found():
    y = _frame()
    lb = np.pad(y, ((12, 12), (0, 0)))  # black bars
    assert detect_bars(lb) == (12, 12, 0, 0)
    pb = np.pad(y, ((0, 0), (10, 11)), constant_values=40.0)  # flat grey, one column uneven
    assert detect_bars(pb) == (0, 0, 10, 11)
    assert detect_bars(y) == (0, 0, 0, 0)


def test_not_cut():
    y = _frame()
    one_side = np.pad(y, ((12, 0), (0, 0)))  # a flat region at one edge only is not a letterbox
    assert detect_bars(one_side) == (0, 0, 0, 0)
    assert detect_bars(np.zeros((96, 128), np.float32)) == (0, 0, 0, 0)  # fade to black
    huge = np.pad(y[40:56], ((40, 40), (0, 0)))  # bars over 30% of the height
    assert detect_bars(huge) == (0, 0, 0, 0)


def test_area_matrix_rows_sum_to_one():
    for n in (64, 80, 128, 97):
        m = _area_matrix(n)
        assert m.shape == (64, n) and np.allclose(m.sum(axis=1), 1.0)
    assert np.allclose(_area_matrix(64), np.eye(64))


def test_content_features_of_letterboxed_frame_match_original():
    y = _frame(128, 128)
    lb = np.pad(_luma(np.ascontiguousarray(next(scene_frames(4, 1, 128, 100)))), ((14, 14), (0, 0)))
    a, bars_a = content_luma(y)
    b, bars_b = content_luma(lb)
    assert bars_a == (0, 0, 0, 0) and bars_b == (14, 14, 0, 0)
    # the content of the letterboxed frame is the 128x100 picture: compare with its own resampling
    orig = _luma(next(scene_frames(4, 1, 128, 100)))
    c, _ = content_luma(orig)
    pb, pc = pdqf_luma(np.ascontiguousarray(b)), pdqf_luma(np.ascontiguousarray(c))
    assert np.allclose(b, c, atol=1e-3)
    assert float(pb @ pc / np.linalg.norm(pb) / np.linalg.norm(pc)) > 0.999
    assert a.shape == (64, 64)


def test_batch_kernel_equals_dense_resampling():
    from vidprint.tmk.bars import content_features

    rng = np.random.default_rng(3)
    y = (rng.random((5, 120, 136)) * 255).astype(np.float32)
    y[:2, :9] = 16.0
    y[:2, -9:] = 16.0  # letterboxed frames in the batch, bars of 9 rows
    feats, bars = content_features(y)
    assert bars[:2].tolist() == [[9, 9, 0, 0]] * 2 and not bars[2:].any()
    want = np.stack([pdqf_luma(np.ascontiguousarray(content_luma(f)[0])) for f in y])
    assert np.allclose(feats, want, rtol=1e-4, atol=1e-2 * np.abs(want).max() * 1e-2)
