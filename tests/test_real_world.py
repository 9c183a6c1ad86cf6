"""Real damaged-but-common files hash like the reference tools hash them (issue: real-world decoding).

``debian__lightsoff__lightsoff.ogv``: Theora with empty "repeat the previous frame" packets (libavcodec
refuses them; FFmpeg's tools skip them). ``debian__coccinella__FakeSample.mov``: QuickTime RPZA whose
index declares 51 frames and holds 50. Reference outputs in ``reference-data/real-world/``: ``.tmk``
from the reference TMK hasher (Debian's ffmpeg 5.1), vPDQ text from PyPI ``vpdq``.
"""
from __future__ import annotations

import inspect

import numpy as np
import pytest

from conftest import CORPUS, SHARED
import vidprint
import vidprint.tmk as tmk
import vidprint.vpdq as vpdq
from vidprint.decode import DecodeStats, TMKSource, VPDQSource, read_frames
from vidprint.errors import DecodeError

REAL = SHARED / "reference-data" / "real-world"
SAMPLES = {
    "debian__lightsoff__lightsoff": ("ogv", "empty packet"),
    "debian__coccinella__FakeSample": ("mov", "truncated: the container declares 51 video frames"),
}


def _paths(name: str):
    ext = SAMPLES[name][0]
    video, ref_tmk, ref_txt = CORPUS / f"{name}.{ext}", REAL / f"{name}.tmk", REAL / f"{name}.txt"
    for p in (video, ref_tmk, ref_txt):
        if not p.is_file():
            pytest.skip(f"real-world sample not found: {p} (../shared beside the checkout, or set VIDPRINT_SHARED)")
    return video, ref_tmk, ref_txt


@pytest.fixture(scope="module", params=sorted(SAMPLES))
def sample(request):
    name = request.param
    video, ref_tmk, ref_txt = _paths(name)
    return name, video, vidprint.fingerprint(video), tmk.read(ref_tmk), vpdq.read(ref_txt)


def _bits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x = np.bitwise_xor(a, b)
    return np.unpackbits(x.view(np.uint8), axis=1).sum(axis=1)


def test_frame_choice_equals_reference(sample):
    """TMK frame count, vPDQ frame numbers and timestamps: exactly the reference's."""
    name, _, fp, ref_tmk, ref_vpdq = sample
    assert fp.tmk.frame_count == ref_tmk.frame_count
    np.testing.assert_array_equal(fp.vpdq.frame_numbers, ref_vpdq.frame_numbers)
    assert [f"{t:.3f}" for t in fp.vpdq.timestamps] == [f"{t:.3f}" for t in ref_vpdq.timestamps]


def test_hashes_within_reference_tolerance(sample):
    """vPDQ: distance < 31 wherever both qualities >= 50; TMK: level 1 and level 2 >= 0.99."""
    name, _, fp, ref_tmk, ref_vpdq = sample
    both = (fp.vpdq.quality >= 50) & (ref_vpdq.quality >= 50)
    dist = _bits(np.ascontiguousarray(fp.vpdq.words), np.ascontiguousarray(ref_vpdq.words))
    assert both.any()
    assert dist[both].max() < 31, f"{name}: distances {np.sort(dist[both])[-5:]}"
    s = tmk.score(fp.tmk, ref_tmk)
    assert s.level1 >= 0.99 and s.level2 >= 0.99, s


def test_report_says_what_was_skipped(sample):
    name, video, fp, _, _ = sample
    stats = DecodeStats()
    for _ in read_frames(video, {"t": TMKSource(), "v": VPDQSource()}, stats=stats):
        pass
    report = stats.report()
    assert report.source == str(video) and not report.clean
    assert any(SAMPLES[name][1] in w for w in report.warnings), report.warnings
    if name.endswith("FakeSample"):
        assert (report.frames_declared, report.frames_decoded, report.ended_early) == (51, 50, True)
    else:
        assert (report.packets_empty, report.packets_rejected, report.frames_decoded) == (2, 0, 218)
    carried = getattr(fp, "decode_report", None)  # once the pipeline attaches it
    if carried is not None:
        assert carried.warnings == report.warnings


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_strict_mode_refuses_with_a_clear_error(name):
    video, _, _ = _paths(name)
    with pytest.raises(DecodeError) as err:
        for _ in read_frames(video, {"t": TMKSource(), "v": VPDQSource()}, strict=True):
            pass
    assert err.value.source == str(video)
    assert SAMPLES[name][1] in err.value.reason
    if "strict" in inspect.signature(vidprint.fingerprint).parameters:
        with pytest.raises(DecodeError, match=SAMPLES[name][1]):
            vidprint.fingerprint(video, strict=True)
