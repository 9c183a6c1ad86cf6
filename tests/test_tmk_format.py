"""The .tmk binary format: byte-exact round trip of the reference files, strict rejection of
malformed input without crashes or large allocations (spec §2.3, §5.1)."""
from __future__ import annotations

import io
import struct
import tracemalloc
from dataclasses import replace

from pathlib import Path

import numpy as np
import pytest

from conftest import REF

from vidprint.errors import HashFileError
from vidprint.tmk import (
    TMKDescriptor,
    pair_score_normalizer,
    poullot_coefficients,
    poullot_periods,
    read,
)

TMK_DIR = REF / "tmk"
if not TMK_DIR.is_dir():
    pytest.skip(f"reference data folder {TMK_DIR} is absent", allow_module_level=True)

FILES = sorted(TMK_DIR.glob("*.tmk"))
SIZE = 263_344
# Frame counts of the sample videos given by the spec (§2.2): CFR output frame counts.
FRAME_COUNTS = {"chair-19-sd-bar": 284, "chair-20-sd-bar": 309}
# The f32 coefficients as the spec prints them (shortest round-tripping decimals, §2.3).
SPEC_COEFFICIENTS = [
    0.070804186, 0.13937789, 0.13289726, 0.122765735, 0.10987868, 0.09529606, 0.080098666,
    0.06525906, 0.051547825, 0.039485153, 0.029337425, 0.021149263, 0.014797308, 0.010051282,
    0.006630641, 0.0042494712, 0.0026467615, 0.0016027096, 0.0009438826, 0.00054084166,
    0.00030163318, 0.00016380016, 8.664547e-05, 4.466263e-05, 2.2442944e-05, 1.0998214e-05,
    5.258235e-06, 2.4535823e-06, 1.1178148e-06, 4.9740646e-07, 2.1626549e-07, 9.19087e-08,
]


@pytest.fixture(scope="module")
def raw() -> bytes:
    return (TMK_DIR / "chair-19-sd-bar.tmk").read_bytes()


def test_seven_reference_files_present():
    assert len(FILES) == 7
    assert all(f.stat().st_size == SIZE for f in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_read_write_byte_for_byte(path: Path, tmp_path: Path):
    data = path.read_bytes()
    d = read(path)
    assert d.to_bytes() == data
    out = tmp_path / "copy.tmk"
    d.write(out)
    assert out.read_bytes() == data
    # Same result from bytes, from a file object and from a str path.
    assert read(data).to_bytes() == data
    assert read(io.BytesIO(data)).to_bytes() == data
    assert read(str(path)).to_bytes() == data


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_header_fields_and_structure(path: Path):
    d = read(path)
    assert d.profile == "reference"
    assert d.fps == 15
    assert d.shape == (4, 32, 256)
    np.testing.assert_array_equal(d.periods, [2731, 4391, 9767, 14653])
    np.testing.assert_array_equal(d.coefficients, np.array(SPEC_COEFFICIENTS, dtype=np.float32))
    if path.stem in FRAME_COUNTS:
        assert d.frame_count == FRAME_COUNTS[path.stem]
    else:
        assert d.frame_count == 338  # the chair-22 variants (spec §2.2: 673 -> 338)
    # Finalization invariants (spec §2.5): sine j=0 is zero, |C_pj|^2 = a_j, |S_pj|^2 = a_j.
    assert not d.sin[:, 0, :].any()
    a = d.coefficients.astype(np.float64)
    cn = np.einsum("pjd,pjd->pj", d.cos.astype(np.float64), d.cos.astype(np.float64))
    sn = np.einsum("pjd,pjd->pj", d.sin.astype(np.float64), d.sin.astype(np.float64))
    np.testing.assert_allclose(cn, np.broadcast_to(a, cn.shape), rtol=2e-6)
    np.testing.assert_allclose(sn[:, 1:], np.broadcast_to(a[1:], sn[:, 1:].shape), rtol=2e-6)
    # Arrays are immutable.
    with pytest.raises(ValueError):
        d.cos[0, 0, 0] = 1.0


def test_params_equal_stored_values():
    stored = read(FILES[0])
    assert poullot_coefficients().tobytes() == stored.coefficients.tobytes()
    assert poullot_periods().tobytes() == stored.periods.tobytes()
    # Spec: about 1.9291957 (an f32 running sum, so a few ulps from the f64 sum 1.92919564).
    assert abs(float(pair_score_normalizer(stored.coefficients)) - 1.9291957) < 5e-7
    assert stored.pair_score_normalizer == pair_score_normalizer(stored.coefficients)


def _expect_error(data: bytes, fragment: str | None = None) -> HashFileError:
    with pytest.raises(HashFileError) as info:
        read(data)
    assert info.value.source == f"<{len(data)} bytes in memory>"
    if fragment is not None:
        assert fragment in info.value.reason, info.value.reason
    return info.value


def _patch(data: bytes, offset: int, fmt: str, *values) -> bytes:
    buf = bytearray(data)
    struct.pack_into(fmt, buf, offset, *values)
    return bytes(buf)


@pytest.mark.parametrize(
    "offset,value,fragment",
    [
        (0, b"TMK2", "project magic"),
        (4, b"FEAT", "file-type magic"),
        (8, b"PDQX", "algorithm"),
        (8, b"\0\0\0\0", "algorithm"),
    ],
)
def test_bad_magics(raw: bytes, offset: int, value: bytes, fragment: str):
    _expect_error(raw[:offset] + value + raw[offset + 4 :], fragment)


@pytest.mark.parametrize(
    "field,value,fragment",
    [
        (12, 0, "frames per second"),
        (12, -15, "frames per second"),
        (16, -1, "negative number of periods"),
        (20, -32, "negative number of coefficients"),
        (24, -256, "negative dimension"),
        (28, -1, "negative frame count"),
        (16, 5, "truncated"),
        (20, 31, "trailing"),
        (24, 2**31 - 1, "truncated"),
        (16, 2**31 - 1, "truncated"),
        (20, 2**31 - 1, "truncated"),
        (32, 0, "period[0]"),
        (36, -4391, "period[1]"),
        (44, 2**31 - 1, "period[3]"),
    ],
)
def test_bad_header_values(raw: bytes, field: int, value: int, fragment: str):
    _expect_error(_patch(raw, field, "<i", value), fragment)


def test_huge_dimensions_do_not_allocate(raw: bytes, tmp_path: Path):
    header = _patch(raw[:32], 16, "<3i", 2**31 - 1, 2**31 - 1, 2**31 - 1)
    big = tmp_path / "huge.tmk"
    big.write_bytes(header + raw[32:])
    tracemalloc.start()
    try:
        for src in (header + raw[32:], io.BytesIO(header + raw[32:]), big):
            with pytest.raises(HashFileError) as info:
                read(src)
            assert "truncated" in info.value.reason
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20  # bounded by the input and a 1 MiB read chunk, not the claimed size
    assert str(big) in str(info.value)


def test_truncation_at_many_offsets(raw: bytes, tmp_path: Path):
    rng = np.random.default_rng(1)
    cuts = {0, 1, 4, 31, 32, 33, 47, 48, 175, 176, 1199, 1200, 132271, 132272, SIZE - 1}
    cuts |= set(rng.integers(0, SIZE, 60).tolist())
    for cut in sorted(cuts):
        err = _expect_error(raw[:cut])
        assert "truncated" in err.reason
    path = tmp_path / "cut.tmk"
    for cut in (10, 40, 100_000):
        path.write_bytes(raw[:cut])
        with pytest.raises(HashFileError) as info:
            read(path)
        assert info.value.source == str(path) and "truncated" in info.value.reason
        with path.open("rb") as f:
            with pytest.raises(HashFileError, match="truncated"):
                read(f)


def test_trailing_bytes_rejected(raw: bytes, tmp_path: Path):
    for extra in (b"\0", b"TMK1", raw):
        _expect_error(raw + extra, "trailing")
        with pytest.raises(HashFileError, match="trailing"):
            read(io.BytesIO(raw + extra))
    path = tmp_path / "long.tmk"
    path.write_bytes(raw + b"\0\0")
    with pytest.raises(HashFileError, match="2 trailing bytes"):
        read(path)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("offset", [48, 176, 1200 + 4 * 777, 132272, SIZE - 4])
def test_non_finite_values_rejected(raw: bytes, value: float, offset: int):
    err = _expect_error(_patch(raw, offset, "<f", value), "non-finite")
    assert str(offset) in err.reason


def test_random_header_corruption_never_crashes(raw: bytes):
    """Random bytes in the 48-byte header+periods region: either a clean parse or HashFileError."""
    rng = np.random.default_rng(7)
    parsed = 0
    tracemalloc.start()
    try:
        for _ in range(400):
            buf = bytearray(raw)
            for pos in rng.integers(0, 48, rng.integers(1, 4)):
                buf[pos] = int(rng.integers(0, 256))
            try:
                d = read(bytes(buf))
            except HashFileError:
                continue
            parsed += 1
            assert d.to_bytes() == bytes(buf)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert parsed > 0  # e.g. frame-count bytes are free to change
    assert peak < 8 * SIZE


def test_minimal_dimensions_round_trip():
    """P = m = 0 and d = 0 are legal in the format (the reference allows them)."""
    d = TMKDescriptor(
        fps=15, periods=np.zeros(0, np.int32), coefficients=np.zeros(0, np.float32),
        frame_count=0, average=np.zeros(0, np.float32),
        cos=np.zeros((0, 0, 0), np.float32), sin=np.zeros((0, 0, 0), np.float32),
    )
    data = d.to_bytes()
    assert len(data) == 32
    assert read(data).to_bytes() == data


def test_descriptor_rejects_inconsistent_shapes():
    with pytest.raises(ValueError):
        TMKDescriptor(
            fps=15, periods=poullot_periods(), coefficients=poullot_coefficients(),
            frame_count=1, average=np.zeros(256, np.float32),
            cos=np.zeros((4, 32, 255), np.float32), sin=np.zeros((4, 32, 256), np.float32),
        )


def test_descriptor_rejects_bad_scalars():
    base = read(FILES[0])
    for kwargs in ({"fps": 0}, {"frame_count": -1}, {"periods": [2731, 0, 9767, 14653]}):
        with pytest.raises(ValueError):
            replace(base, **kwargs)


def test_write_to_file_object(raw: bytes):
    buf = io.BytesIO()
    read(raw).write(buf)
    assert buf.getvalue() == raw
