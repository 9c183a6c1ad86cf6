"""vidprint.tmk.views against independent numpy computations on generated frames.

The independent resampling integrates the piecewise-constant signal exactly: the integral of pixel
values from 0 to x is the linear interpolation of their cumulative sum, so an output cell [a, b) is
(C(b) - C(a)) / (b - a). The PDQF is vidprint.pdqf.pdqf_luma_batch of the resampled 64x64 frame.
"""
from __future__ import annotations

import numpy as np
import pytest

from vidprint.errors import InvalidArgumentError
from vidprint.pdqf import pdqf_luma_batch
from vidprint.tmk import CompactAccumulator, compact_level2
from vidprint.tmk.views import (
    FULL,
    ActivityMap,
    Region,
    ViewAccumulator,
    active_region,
    area_matrix,
    region_luma,
    view_features,
    zoom_descriptors,
)


def _resample_1d(x: np.ndarray, a: float, b: float, n_out: int, axis: int) -> np.ndarray:
    """Exact box-filter resampling of ``x`` along ``axis`` over [a, b) into ``n_out`` cells."""
    x = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    c = np.concatenate([np.zeros(x.shape[:-1] + (1,)), np.cumsum(x, axis=-1)], axis=-1)
    edges = np.linspace(a, b, n_out + 1)
    knots = np.arange(x.shape[-1] + 1, dtype=np.float64)
    flat = c.reshape(-1, c.shape[-1])
    ce = np.stack([np.interp(edges, knots, row) for row in flat]).reshape(x.shape[:-1] + (n_out + 1,))
    out = np.diff(ce, axis=-1) / np.diff(edges)
    return np.moveaxis(out, -1, axis)


def _independent_view(luma: np.ndarray, region: Region) -> np.ndarray:
    n, h, w = luma.shape
    y = _resample_1d(luma, region.top * h, region.bottom * h, 64, axis=1)
    y = _resample_1d(y, region.left * w, region.right * w, 64, axis=2)
    return pdqf_luma_batch(y.astype(np.float32))


def _frames(n: int, h: int, w: int, seed: int = 0, noise: float = 15.0) -> np.ndarray:
    """Smooth structure plus noise, 0..255."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    out = np.empty((n, h, w), np.float32)
    for k in range(n):
        a, b, c = rng.uniform(1, 6, 3)
        base = 128 + 60 * np.sin(a * 2 * np.pi * xx + c) * np.cos(b * 2 * np.pi * yy)
        out[k] = np.clip(base + rng.normal(0, noise, (h, w)), 0, 255)
    return out


REGIONS = [FULL, Region.centre(0.9), Region.centre(0.8), Region.centre(0.5), Region(0.1, 0.55, 0.45, 0.95)]


@pytest.mark.parametrize("n_in,a,b", [(64, 0, 64), (64, 6.4, 57.6), (64, 16, 48), (128, 12.8, 115.2),
                                      (37, 0.3, 36.1), (200, 0, 200)])
def test_area_matrix_rows_match_exact_integration(n_in, a, b):
    m = area_matrix(n_in, a, b)
    assert m.shape == (64, n_in)
    np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-12)
    x = np.random.default_rng(1).uniform(0, 255, n_in)
    np.testing.assert_allclose(m @ x, _resample_1d(x, a, b, 64, axis=0), rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("shape", [(64, 64), (128, 128), (48, 80), (90, 36)])
def test_view_features_match_resample_then_pdqf(shape):
    y = _frames(3, *shape)
    got = view_features(y, REGIONS)
    assert got.shape == (len(REGIONS), 3, 256) and got.dtype == np.float32
    for k, r in enumerate(REGIONS):
        want = _independent_view(y, r)
        scale = np.abs(want).max()
        np.testing.assert_allclose(got[k], want, atol=2e-5 * scale, err_msg=str(r))
        want_luma = _resample_1d(_resample_1d(y, r.top * shape[0], r.bottom * shape[0], 64, axis=1),
                                 r.left * shape[1], r.right * shape[1], 64, axis=2)
        np.testing.assert_allclose(region_luma(y, r), want_luma, rtol=1e-5, atol=1e-3)


def test_full_view_of_a_64x64_frame_is_its_plain_pdqf():
    y = _frames(4, 64, 64, seed=3)
    got = view_features(y, [FULL])[0]
    want = pdqf_luma_batch(y)
    np.testing.assert_allclose(got, want, atol=2e-5 * np.abs(want).max())


def test_centre_view_equals_the_cropped_frame():
    # 80 x 80 frame: its centre 80% is exactly pixels [8, 72), already 64 x 64 (identity resampling)
    y = _frames(2, 80, 80, seed=4)
    got = view_features(y, [Region.centre(0.8)])[0]
    want = pdqf_luma_batch(np.ascontiguousarray(y[:, 8:72, 8:72]))
    np.testing.assert_allclose(got, want, atol=2e-5 * np.abs(want).max())


def test_region_centre_and_validation():
    r = Region.centre(0.8)
    np.testing.assert_allclose([r.top, r.left, r.bottom, r.right], [0.1, 0.1, 0.9, 0.9])
    assert r.area == pytest.approx(0.64)
    assert Region.centre(1.0) == FULL
    for bad in [(0.5, 0, 0.5, 1), (0, 0, 1.2, 1), (-0.1, 0, 1, 1), (0, 0, 1, float("nan"))]:
        with pytest.raises(InvalidArgumentError):
            Region(*bad)
    for keep in (0, -1, 1.5):
        with pytest.raises(InvalidArgumentError):
            Region.centre(keep)
    with pytest.raises(InvalidArgumentError):
        view_features(np.zeros((2, 3, 4, 5), np.float32), [FULL])
    with pytest.raises(InvalidArgumentError):
        view_features(np.zeros((2, 64, 64), np.float32), [])
    with pytest.raises(InvalidArgumentError):
        area_matrix(10, 5, 11)
    assert view_features(np.zeros((0, 64, 64), np.float32), [FULL]).shape == (1, 0, 256)


def test_activity_map_is_the_temporal_std_over_all_updates():
    y = _frames(10, 32, 48, seed=5)
    act = ActivityMap()
    act.update(y[:3])
    act.update(y[3:])
    np.testing.assert_allclose(act.std(), y.astype(np.float64).std(axis=0), rtol=1e-6, atol=1e-6)
    assert act.count == 10
    with pytest.raises(InvalidArgumentError):
        act.update(np.zeros((1, 8, 8), np.float32))
    with pytest.raises(InvalidArgumentError):
        ActivityMap().std()


def _pip(n: int, top: int, left: int, size: int) -> np.ndarray:
    """A static striped 64x64 background; in a ``size`` square at (top, left), a smooth gradient with
    a bright blob moving across it (plus a little sensor noise)."""
    yy, xx = np.mgrid[0:64, 0:64]
    bg = (100 + 60 * np.sin((xx + yy) * 2 * np.pi / 9.0)).astype(np.float32)
    iy, ix = np.mgrid[0:size, 0:size].astype(np.float64)
    rng = np.random.default_rng(6)
    out = np.repeat(bg[None], n, axis=0)
    for k in range(n):
        cx, cy = size * (0.2 + 0.6 * k / max(1, n - 1)), size * (0.5 + 0.2 * np.sin(k / 3))
        blob = 80 * np.exp(-((ix - cx) ** 2 + (iy - cy) ** 2) / (2 * (size / 6) ** 2))
        out[k, top : top + size, left : left + size] = 60 + 60 * iy / size + blob + rng.normal(0, 1, (size, size))
    return out


@pytest.mark.parametrize("top,left,size", [(16, 16, 32), (4, 30, 28), (10, 10, 44)])
def test_active_region_finds_a_picture_in_picture(top, left, size):
    reg = active_region(_std(_pip(30, top, left, size)))
    assert reg is not None
    got = np.array(reg.pixels(64, 64))
    np.testing.assert_allclose(got, [top, left, top + size, left + size], atol=1.0)


def _std(y: np.ndarray) -> np.ndarray:
    act = ActivityMap()
    act.update(y)
    return act.std()


def test_active_region_none_when_all_or_nothing_moves():
    assert active_region(_std(_frames(20, 64, 64, seed=7))) is None  # the whole frame moves
    still = np.repeat(_frames(1, 64, 64, seed=8), 20, axis=0)
    assert active_region(_std(still)) is None  # nothing moves (a test card)
    with pytest.raises(InvalidArgumentError):
        active_region(np.zeros((2, 2)))


def _compact(features: np.ndarray, times: np.ndarray):
    acc = CompactAccumulator()
    acc.update(features, times)
    return acc.finalize()


def test_view_accumulator_streams_the_same_descriptors_as_one_shot():
    y = _pip(60, 16, 16, 32)  # 4 s at 15 fps, a centred picture-in-picture
    t = np.arange(60) / 15.0
    acc = ViewAccumulator(zooms=(0.9, 0.8), active=True, active_seconds=3.0)
    for lo in range(0, 60, 7):  # batch boundaries that straddle the 3 s window
        acc.update(y[lo : lo + 7], t[lo : lo + 7])
    got = acc.finalize()
    assert set(got) == {"c90", "c80", "active"}
    first = ActivityMap()
    first.update(y[t < 3.0])
    want_region = active_region(first.std(), mean=first.mean())
    assert acc.region == want_region
    for name, region in (("c90", Region.centre(0.9)), ("c80", Region.centre(0.8)), ("active", want_region)):
        want = _compact(_independent_view(y, region), t)
        # the same features up to float rounding: int8 codes may differ by one step at most
        assert compact_level2(got[name], want) > 0.999, name
        assert np.abs(got[name].level1_int8.astype(int) - want.level1_int8.astype(int)).max() <= 1, name


def test_view_accumulator_takes_precomputed_zoom_features():
    # the pipeline computes the zoom features on a worker thread and feeds them in frame order
    y = _pip(40, 16, 16, 32)
    t = np.arange(40) / 15.0
    a, b = ViewAccumulator(active=True), ViewAccumulator(active=True)
    for lo in range(0, 40, 9):
        a.update(y[lo : lo + 9], t[lo : lo + 9])
        b.update(y[lo : lo + 9], t[lo : lo + 9], zoom_features=b.zoom_features(y[lo : lo + 9]))
    assert a.finalize() == b.finalize()
    with pytest.raises(InvalidArgumentError):
        b.update(y[:3], t[:3], zoom_features=b.zoom_features(y[:2]))
    assert ViewAccumulator(zooms=()).zoom_features(y) is None


def test_view_accumulator_without_active_region_or_frames():
    y = _frames(20, 64, 64, seed=9)  # the whole frame moves: no active region
    acc = ViewAccumulator(zooms=(0.8,), active=True)
    acc.update(y, np.arange(20) / 15.0)
    assert set(acc.finalize()) == {"c80"} and acc.region is None
    assert ViewAccumulator().finalize() == {}
    with pytest.raises(InvalidArgumentError):
        ViewAccumulator(zooms=(0.801, 0.8))
    with pytest.raises(InvalidArgumentError):
        ViewAccumulator().update(y, np.arange(3.0))


def test_active_region_snaps_to_the_inset_border():
    # content static near its own border: the activity box is smaller than the inset, the edge is not
    y = _pip(30, 16, 16, 32)
    y[:, 16:19, 16:48] = y[:1, 16:19, 16:48]  # the inset's top 3 rows do not change
    act = ActivityMap()
    act.update(y)
    raw = active_region(act.std())
    assert raw is not None and raw.top * 64 >= 18
    snapped = active_region(act.std(), mean=act.mean())
    np.testing.assert_allclose(snapped.pixels(64, 64), [16, 16, 48, 48], atol=0.5)
    with pytest.raises(InvalidArgumentError):
        active_region(act.std(), mean=np.zeros((3, 3)))


def test_zoom_descriptors_of_a_video_file():
    from vidprint import fingerprint
    from vidprint.synth import make_video
    from vidprint.tmk import compact_level1

    data = make_video(11, seconds=1.0, size=(96, 64))
    views = zoom_descriptors(data)
    plain = fingerprint(data, vpdq=False).compact
    assert set(views) == {"c95", "c90", "c80"}
    assert all(v.frame_count == plain.frame_count for v in views.values())
    # a zoom view is the same footage: closer to the plain descriptor than to an unrelated video's
    other = fingerprint(make_video(12, seconds=1.0, size=(96, 64)), vpdq=False).compact
    assert compact_level1(views["c90"], plain) > compact_level1(views["c90"], other)


def test_centred_views_follow_the_mirror_law():
    # a centred region is mirror-symmetric, so the view of the mirrored frame is the mirrored view
    # (vidprint.tmk.mirror): one stored zoom view serves both query orientations
    from vidprint.tmk.mirror import mirror_features

    y = _frames(3, 64, 64, seed=10)
    for r in (Region.centre(0.9), Region.centre(0.8)):
        got = view_features(np.ascontiguousarray(y[:, :, ::-1]), [r])[0]
        want = mirror_features(view_features(y, [r])[0], "flipx")
        np.testing.assert_allclose(got, want, atol=2e-5 * np.abs(want).max())
