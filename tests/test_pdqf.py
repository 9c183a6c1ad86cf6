"""PDQ / PDQF per-image hash against the reference's own outputs (spec ALGORITHMS.md §1).

Expected values come from the reference data (``pdq-expected.tsv``: hashes, qualities and the 8 dihedral
variants from PyPI ``pdqhash``; ``pdqf-expected.npz``: ``pdqhash.compute_float``), from the hashes that
python-threatexchange publishes (spec §1.13), and from a slow NumPy transcription of the spec below.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import vidprint

from vidprint import pdqf as P
from vidprint.pdqf import PDQHash

from conftest import PDQ_IMAGES as IMAGES  # $VIDPRINT_SHARED or ../shared

# python-threatexchange PdqSignal.get_examples() (spec §1.13): pdqhash at native size, quality 100.
PUBLISHED = {
    "bridge-mods__aaa-orig.jpg": "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
    "bridge-mods__blur-a-little.jpg": "f8f8f0cee0f4a84f06370a2a038f63f0b36e26d596621e1d33e6b39c4e9c9b22",
    "bridge-mods__blur-a-lot.jpg": "f8f8f0cee0f4a84f0637022a038f67f0b36e26d596621e1d33e6b39c4e9c9b22",
    "bridge-mods__high-contrast.jpg": "f8f8f0cee0f4a84f06370a2a068f67f0b36e26d596621e1d33e6339c4e9c9b22",
    "bridge-mods__high-saturation.jpg": "f8f8f0cee0f4a84f06370a22038f67f0b36e2ed596221e1d33e6b39c4e9c9b22",
    "bridge-mods__sharpen-a-little.jpg": "f8f8f0cee0f4a84f0e370a22038f67f0b36e2ed596221e1d33e6b39c4a9c9b22",
    "bridge-mods__sharpen-a-lot.jpg": "d8f8f0cec0f4a84f8e370a22038f67f0b36a2ed597231e1d72e6b39c4a9c9b22",
    "bridge-mods__shrink-a-little.jpg": "f8f8f0cee0f4a84f06370a22038f67f0b36e2ed596621e1d33e6339c4e9c9b22",
    "bridge-mods__shrink-a-lot.jpg": "d0f8f1ccc0f4a84d0a370a3a228f67f0b36e2ed5b6623e1d33e6339c4e9c9b22",
    "bridge-mods__square-128x128.jpg": "d8f8f1eec0f4a84f0e37022a078f63f0b36e2ed596621e1d33e6239c4e9c9b22",
    "bridge-mods__square-256x256.jpg": "d8f8f0cec4f4a84f0637022a078f67f0b36e2ee5b6621e1d33e6239c4e9c9b22",
    "bridge-mods__square-512x512.jpg": "d8f8f0cec0f4a84f0637022a278f67f0b36e2ed596621e1d33e6339c4e9c9b22",
    "misc-images__c.png": "e64cc9d91c623882f8d1f1d9a398e78c9f199b3bd83924f2b7e11e0bf861b064",
    "misc-images__wee.jpg": "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d",
}


def _need_images() -> Path:
    if not (IMAGES / "pdq-expected.tsv").is_file():
        pytest.skip(f"reference images not found at {IMAGES} (../shared beside the checkout)")
    return IMAGES


def _expected() -> dict[str, tuple[str, int, list[str]]]:
    rows = {}
    lines = (_need_images() / "pdq-expected.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["file", "hex", "quality", "dihedral_hex_8_comma_separated"]
    for line in lines[1:]:
        name, hx, q, dih = line.split("\t")
        rows[name] = (hx, int(q), dih.split(","))
    return rows


@pytest.fixture(scope="module")
def expected():
    rows = _expected()
    assert len(rows) == 37
    return rows


@pytest.fixture(scope="module")
def images(expected):
    Image = pytest.importorskip("PIL.Image")
    return {name: np.asarray(Image.open(IMAGES / name).convert("RGB")) for name in expected}


# --------------------------------------------------------------------------------------------------
# Against the reference data


def test_pil_images_in_every_mode_and_paths_hash_as_the_reference(expected):
    """A PIL image in any mode (palette, RGBA, CMYK, I, F, ...) or a path is converted as the
    reference's tests convert it, so it gets the reference hash; never its palette indices."""
    Image = pytest.importorskip("PIL.Image")
    modes = set()
    for name, (hx, q, _) in expected.items():
        img = Image.open(IMAGES / name)
        modes.add(img.mode)
        for given in (img, IMAGES / name, str(IMAGES / name)):
            h = P.hash_image(given)
            assert (h.hex, h.quality) == (hx, q), (name, type(given).__name__)
    assert {"P", "RGBA", "LA", "CMYK", "1", "L"} <= modes
    with pytest.raises(vidprint.DecodeError, match="not a readable image"):
        P.hash_image(IMAGES / "pdq-expected.tsv")


def test_hashes_and_quality_match_reference(expected, images):
    bad = []
    for name, (hx, q, _) in expected.items():
        for luma in ("f32", "f64"):
            h = P.hash_image(images[name], luma=luma)
            if h.hex != hx or h.quality != q:
                bad.append((name, luma, h.hex, h.quality, hx, q))
    assert not bad


def test_dihedral_hashes_match_reference(expected, images):
    bad = []
    for name, (hx, q, dih) in expected.items():
        hs = P.hash_image_dihedral(images[name])
        assert len(hs) == len(P.DIHEDRAL_NAMES) == 8
        if [h.hex for h in hs] != dih or {h.quality for h in hs} != {q}:
            bad.append(name)
    assert not bad
    assert P.DIHEDRAL_NAMES == ("orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1")


def test_published_threatexchange_examples(images):
    for name, hx in PUBLISHED.items():
        h = P.hash_image(images[name])
        assert (h.hex, h.quality) == (hx, 100), name


def test_pdqf_matches_pdqhash_compute_float_bit_for_bit(expected, images):
    # pdqf-expected.npz is pdqhash.compute_float: float64-luma arithmetic, coefficients in reverse order
    ref = np.load(IMAGES / "pdqf-expected.npz")
    assert sorted(ref.files) == sorted(expected)
    for name in expected:
        got = P.pdqf(images[name], luma="f64")
        assert got.dtype == np.float32 and got.shape == (256,)
        np.testing.assert_array_equal(got[::-1], ref[name], err_msg=name)


def test_pdqf_float32_luma_close_to_reference(expected, images):
    ref = np.load(IMAGES / "pdqf-expected.npz")
    for name in expected:
        exp = ref[name][::-1]
        got = P.pdqf(images[name])
        scale = float(np.abs(exp).max())
        np.testing.assert_allclose(got, exp, rtol=0, atol=1e-5 * scale, err_msg=name)


def test_bits_are_coefficients_above_lower_median(images):
    img = images["bridge-mods__aaa-orig.jpg"]
    b = P.pdqf(img)
    median = np.sort(b)[127]
    h = P.hash_image(img)
    np.testing.assert_array_equal(h.bits(), (b > median).astype(np.uint8))
    assert int(h.bits().sum()) == 128


def test_grey_and_luma_entry_points_agree(images):
    rgb = images["misc-images__small.jpg"]
    grey = rgb[:, :, 1].copy()
    a = P.hash_image(grey)
    b = P.hash_luma(grey.astype(np.float32))
    assert (a.hex, a.quality) == (b.hex, b.quality)
    np.testing.assert_array_equal(P.pdqf(grey), P.pdqf_luma(grey.astype(np.float32)))
    luma = P.luma_from_rgb(rgb)
    h = P.hash_luma(luma)
    assert h == P.hash_image(rgb) and h.quality == P.hash_image(rgb).quality


# --------------------------------------------------------------------------------------------------
# Against a slow NumPy transcription of spec §1 (independent code, same float32 arithmetic)


def _box_ref(x: np.ndarray, w: int) -> np.ndarray:
    """Spec §1.3 running-sum box filter along axis 0, all columns at once."""
    n = x.shape[0]
    h, p = w // 2, w - w // 2
    out = np.empty_like(x)
    s = np.zeros(x.shape[1:], dtype=np.float32)
    count = 0
    for k in range(h):
        s = s + x[k]
        count += 1
    for i in range(p):
        s = s + x[i + h]
        count += 1
        out[i] = s / np.float32(count)
    for i in range(p, n - h):
        s = (s + x[i + h]) - x[i - p]
        out[i] = s / np.float32(count)
    for i in range(n - h, n):
        s = s - x[i - p]
        count -= 1
        out[i] = s / np.float32(count)
    return out


def _dct_ref(a: np.ndarray) -> np.ndarray:
    c = float(np.float32(math.sqrt(2.0 / 64.0)))
    d = np.array(
        [[c * math.cos((math.pi / 2.0 / 64.0) * (i + 1) * (2 * j + 1)) for j in range(64)] for i in range(16)]
    ).astype(np.float32)
    t = np.zeros((16, 64), dtype=np.float32)
    for y in range(64):
        t = t + d[:, y : y + 1] * a[y][None, :]
    b = np.zeros((16, 16), dtype=np.float32)
    for x in range(64):
        b = b + t[:, x : x + 1] * d[None, :, x]
    return b.reshape(256)


def _quality_ref(a: np.ndarray) -> int:
    c100, c255 = np.float32(100), np.float32(255)
    g = np.abs((((a[:-1] - a[1:]) * c100) / c255).astype(np.int32)).sum()
    g += np.abs((((a[:, :-1] - a[:, 1:]) * c100) / c255).astype(np.int32)).sum()
    return min(int(g) // 90, 100)


def _pipeline_ref(luma: np.ndarray, blur: bool) -> tuple[np.ndarray, int]:
    hgt, wid = luma.shape
    a = luma.astype(np.float32)
    if blur:
        wr, wc = (wid + 127) // 128, (hgt + 127) // 128
        for _ in range(2):
            a = _box_ref(a.T, wr).T
            a = _box_ref(a, wc)
        rows = [int(((i + 0.5) * hgt) / 64) for i in range(64)]
        cols = [int(((j + 0.5) * wid) / 64) for j in range(64)]
        a = a[np.ix_(rows, cols)]
    return _dct_ref(a), _quality_ref(a)


def _hex_ref(b: np.ndarray) -> str:
    m = np.sort(b)[127]
    return f"{sum(1 << k for k in range(256) if b[k] > m):064x}"


@pytest.mark.parametrize("shape", [(5, 5), (7, 300), (37, 53), (64, 100), (100, 64), (130, 257), (300, 129), (401, 17)])
def test_odd_sizes_match_spec_transcription(shape):
    rng = np.random.default_rng(sum(shape))
    # smooth-ish content plus noise, so that the hash is meaningful
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    base = 127 + 100 * np.sin(xx / (3 + shape[1] / 7)) * np.cos(yy / (2 + shape[0] / 5))
    rgb = np.clip(base[..., None] + rng.normal(0, 20, shape + (3,)), 0, 255).astype(np.uint8)
    luma = P.luma_from_rgb(rgb)
    b_ref, q_ref = _pipeline_ref(luma, blur=True)
    np.testing.assert_array_equal(P.pdqf(rgb), b_ref)
    h = P.hash_image(rgb)
    assert (h.hex, h.quality) == (_hex_ref(b_ref), q_ref)
    assert P.hash_image_dihedral(rgb)[0] == h


def test_64x64_shortcut_and_dihedral_entry_always_blurs(images):
    Image = pytest.importorskip("PIL.Image")
    rgb = np.asarray(Image.open(IMAGES / "bridge-mods__square-128x128.jpg").convert("RGB").resize((64, 64)))
    luma = P.luma_from_rgb(rgb)
    b_plain, q_plain = _pipeline_ref(luma, blur=False)
    b_blur, q_blur = _pipeline_ref(luma, blur=True)
    assert not np.array_equal(b_plain, b_blur)  # window 1 is not an exact identity (§1.3)
    np.testing.assert_array_equal(P.pdqf(rgb), b_plain)
    np.testing.assert_array_equal(P.pdqf_luma(luma), b_plain)
    np.testing.assert_array_equal(P.pdqf_luma_batch(luma[None])[0], b_plain)
    h = P.hash_image(rgb)
    assert (h.hex, h.quality) == (_hex_ref(b_plain), q_plain)
    d = P.hash_image_dihedral(rgb)
    assert (d[0].hex, d[0].quality) == (_hex_ref(b_blur), q_blur)


def test_luma_from_rgb_arithmetic():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (31, 47, 3), dtype=np.uint8)
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    exp32 = (np.float32(0.299) * r + np.float32(0.587) * g) + np.float32(0.114) * b
    np.testing.assert_array_equal(P.luma_from_rgb(rgb), exp32)
    exp64 = (rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114).astype(np.float32)
    np.testing.assert_array_equal(P.luma_from_rgb(rgb, luma="f64"), exp64)
    assert not np.array_equal(exp32, exp64)


# --------------------------------------------------------------------------------------------------
# Edge cases, batches, hash object


def test_size_guard():
    rng = np.random.default_rng(2)
    for shape in [(4, 100, 3), (100, 4, 3), (1, 1, 3), (4, 4)]:
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        h = P.hash_image(img)
        assert h.hex == "0" * 64 and h.quality == 0
        assert all(d.hex == "0" * 64 and d.quality == 0 for d in P.hash_image_dihedral(img))
        assert np.isfinite(P.pdqf(img)).all()  # the float entry point has no size guard
    h = P.hash_image(rng.integers(0, 256, (5, 5, 3), dtype=np.uint8))
    assert h.hex != "0" * 64


def test_batches_equal_single_frame_calls(images):
    rgb = images["bridge-mods__square-256x256.jpg"]
    frames = np.stack([P.luma_from_rgb(np.ascontiguousarray(np.rot90(rgb, k))) for k in range(4)])
    frames[3] = frames[3] * np.float32(0.5)
    words, quality = P.hash_luma_batch(frames)
    assert words.shape == (4, 4) and words.dtype == np.uint64 and quality.dtype == np.int32
    coeffs, q2 = P.pdqf_luma_batch(frames, return_quality=True)
    dwords, dq = P.hash_luma_dihedral_batch(frames)
    assert dwords.shape == (4, 8, 4)
    for i in range(4):
        h = P.hash_luma(frames[i])
        np.testing.assert_array_equal(words[i], h.words)
        assert quality[i] == h.quality == q2[i] == dq[i]
        np.testing.assert_array_equal(coeffs[i], P.pdqf_luma(frames[i]))
        np.testing.assert_array_equal(dwords[i, 0], h.words)
    empty_w, empty_q = P.hash_luma_batch(np.zeros((0, 70, 80), np.float32))
    assert empty_w.shape == (0, 4) and empty_q.shape == (0,)


def test_dihedral_variants_name_the_pixel_transforms(images):
    # Hashing transformed pixels lands near the DCT-derived variant of that name, not exactly (§1.9,
    # §1.13: 0-8 bits on this image), and far from the other variants.
    rgb = images["reg-test-input__dih__bridge-1-original.jpg"]
    variants = P.hash_image_dihedral(rgb)
    transforms = {
        "rot90": np.rot90(rgb, 1),
        "rot180": np.rot90(rgb, 2),
        "rot270": np.rot90(rgb, 3),
        "flipx": rgb[::-1],
        "flipy": rgb[:, ::-1],
        "flipplus1": rgb.transpose(1, 0, 2),
        "flipminus1": np.rot90(rgb, 2).transpose(1, 0, 2),
    }
    for name, pixels in transforms.items():
        h = P.hash_image(np.ascontiguousarray(pixels))
        dist = [h - v for v in variants]
        k = P.DIHEDRAL_NAMES.index(name)
        assert dist[k] <= 10 and min(dist[:k] + dist[k + 1 :]) > 64, (name, dist)


def test_scratch_reuse(images):
    rgb = images["misc-images__wee.jpg"]
    luma = P.luma_from_rgb(rgb)
    s = P.make_scratch(*luma.shape)
    words = np.empty(4, np.uint64)
    for _ in range(2):
        assert s.hash_luma_into(luma, words) == 100
        assert P.words_to_hex(words) == PUBLISHED["misc-images__wee.jpg"]
    out = np.empty(256, np.float32)
    s.pdqf_luma_into(luma, out)
    np.testing.assert_array_equal(out, P.pdqf(rgb))
    with pytest.raises(ValueError):  # a larger plane would overrun the workspace
        s.hash_luma_into(np.zeros((luma.shape[0] + 1, luma.shape[1]), np.float32), words)
    with pytest.raises(ValueError):
        s.hash_luma_into(luma.astype(np.float64), words)


def test_hash_object(expected, images):
    a = P.hash_image(images["bridge-mods__aaa-orig.jpg"])
    b = P.hash_image(images["bridge-mods__sharpen-a-lot.jpg"])
    assert PDQHash.from_hex(a.hex) == a
    assert bytes(a) == bytes.fromhex(a.hex) and len(bytes(a)) == 32
    assert PDQHash.from_bytes(bytes(a)) == a
    assert str(a) == a.hex and a.hex == a.hex.lower()
    assert a - b == bin(int(a.hex, 16) ^ int(b.hex, 16)).count("1") > 0
    assert a - a == 0
    assert int(P.hamming(a.words, b.words)[0]) == a - b


def test_bad_inputs():
    with pytest.raises(ValueError):  # InvalidArgumentError is a ValueError
        P.hash_image(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(ValueError):
        P.hash_image(np.zeros((10, 10, 4), np.uint8))
    with pytest.raises(ValueError):
        P.hash_image(np.zeros((10, 10, 3), np.uint8), luma="f16")
    with pytest.raises(ValueError):
        P.hash_luma_batch(np.zeros((10, 10), np.float32))
    with pytest.raises(ValueError):
        P.hash_image(np.zeros((0, 10, 3), np.uint8))
