"""The content-area view (letterbox / pillarbox bars cut) in the product: fingerprint, .vpfp, compare, index."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import vidprint
from vidprint.eval import transforms as T
from vidprint.index import Index
from vidprint.index import segment as seg
from vidprint.matching import Thresholds, compare
from vidprint.pdqf import pdqf_luma_batch
from vidprint.record import Fingerprint
from vidprint.synth import make_video, scene_frames
from vidprint.tmk.bars import BarParams, content_features, detect_bars_batch
from conftest import assert_same_evidence

FRACTION = 0.35  # bars of 0.35 / 1.7 = 21% of the padded side: the whole-frame view no longer matches


@pytest.fixture(scope="module")
def videos():
    src = make_video(3, seconds=3.0, fps=15, size=(128, 96))
    fp = {"orig": vidprint.fingerprint(src, vpdq=False),
          "letterbox": vidprint.fingerprint(T.letterbox(src, fraction=FRACTION).data, vpdq=False),
          "pillarbox": vidprint.fingerprint(T.pillarbox(src, fraction=FRACTION).data, vpdq=False),
          "other": vidprint.fingerprint(make_video(11, seconds=3.0, fps=15, size=(128, 96)), vpdq=False)}
    # (H5) these tests isolate the content-area view: without the active-region view of
    # vidprint.tmk.views (it finds static bars too; tested in tests/test_views_product.py)
    fp = {k: Fingerprint(**{**{f: getattr(v, f) for f in v.__dataclass_fields__},
                            "compact_views": {n: d for n, d in v.compact_views.items() if n != "active"}})
          for k, v in fp.items()}
    return fp


def _luma(rgb: np.ndarray) -> np.ndarray:
    return (rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.float32)


# -- kernels --------------------------------------------------------------------------------------

def test_reused_features_equal_recomputed_ones():
    frames = np.stack([_luma(f) for f in scene_frames(5, 4, 64, 64)])
    frames[:2, :6] = 0.0
    frames[:2, -6:] = 0.0  # two letterboxed frames, two without bars
    plain = pdqf_luma_batch(frames)
    fast, bars = content_features(frames, features=plain)
    slow, bars2 = content_features(frames)
    assert bars.tolist() == bars2.tolist() == [[6, 6, 0, 0]] * 2 + [[0, 0, 0, 0]] * 2
    assert np.array_equal(fast[2:], plain[2:])  # no bars: the plain features, untouched
    assert np.allclose(fast, slow, rtol=1e-5, atol=1e-3)


def test_detect_bars_batch_validates():
    with pytest.raises(vidprint.errors.InvalidArgumentError):
        detect_bars_batch(np.zeros((64, 64), np.float32))  # one frame, not a batch
    with pytest.raises(vidprint.errors.InvalidArgumentError):
        detect_bars_batch(np.full((1, 8, 8), np.nan, np.float32))
    with pytest.raises(vidprint.errors.InvalidArgumentError):
        BarParams(max_fraction=0.9)
    with pytest.raises(vidprint.errors.InvalidArgumentError):
        content_features(np.zeros((2, 64, 64), np.float32), features=np.zeros((3, 256), np.float32))


# -- fingerprint and .vpfp ------------------------------------------------------------------------

def test_bar_free_video_content_is_its_compact(videos):
    fp = videos["orig"]
    assert fp.compact_content is fp.compact and fp.bars_fraction == 0.0
    back = Fingerprint.from_bytes(fp.to_bytes())
    assert back == fp and back.compact_content is back.compact
    assert "compact_content.npy" not in zipfile.ZipFile(io.BytesIO(fp.to_bytes())).namelist()


def test_letterboxed_video_has_its_own_content_descriptor(videos):
    fp = videos["letterbox"]
    assert fp.bars_fraction == 1.0 and fp.compact_content != fp.compact
    back = Fingerprint.from_bytes(fp.to_bytes())
    assert back == fp and back.compact_content == fp.compact_content and back.bars_fraction == 1.0
    # equality covers the content view
    other = Fingerprint(**{**{f: getattr(fp, f) for f in fp.__dataclass_fields__}, "compact_content": fp.compact})
    assert other != fp


def _strip_content(data: bytes) -> bytes:
    """A .vpfp as written before the content-area view existed."""
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            if info.filename == "compact_content.npy":
                continue
            raw = zin.read(info)
            if info.filename == "meta.npy":
                arr = np.lib.format.read_array(io.BytesIO(raw))
                meta = json.loads(arr.tobytes())
                del meta["content_area"]
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.frombuffer(json.dumps(meta).encode(), np.uint8))
                raw = buf.getvalue()
            zout.writestr(info, raw)
    return out.getvalue()


def test_old_vpfp_loads_without_content(videos):
    old = Fingerprint.from_bytes(_strip_content(videos["letterbox"].to_bytes()))
    assert old.compact_content is None and old.bars_fraction is None
    assert old.compact == videos["letterbox"].compact
    ev = compare(old, videos["orig"]).whole
    assert ev.view != "content-area" and not ev.matched and "content area not compared" in ev.view_note
    assert "content area not compared" in compare(old, videos["orig"]).decided_by


# -- compare --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["letterbox", "pillarbox"])
def test_compare_matches_through_the_content_area_only(videos, name):
    q, o = videos[name], videos["orig"]
    c = compare(q, o)
    assert c.matched and c.whole.view == "content-area" and c.whole.transform == "identity"
    assert "content area, bars cut" in c.decided_by and c.to_dict()["whole"]["view"] == "content-area"
    assert not compare(q, o, Thresholds(bars=False)).matched  # the whole frame alone: no match
    assert not compare(q, videos["other"]).matched


def test_compare_bar_free_pair_scores_once(videos):
    ev = compare(videos["orig"], videos["orig"]).whole
    assert ev.view == "frame" and ev.view_note is None and ev.matched


# -- index ----------------------------------------------------------------------------------------

def _ids(matches):
    return {m.id: m for m in matches}


def test_index_query_agrees_with_compare(tmp_path, videos):
    with Index.create(tmp_path / "ix") as ix:
        ix.add(videos["orig"], id="orig")
        ix.add(videos["other"], id="other")
        ix.add(videos["letterbox"], id="letterbox")
        assert ix.info()["with_bars"] == 1
        entry = ix.get("orig")
        assert entry.compact_content is entry.compact
        assert ix.get("letterbox").compact_content == videos["letterbox"].compact_content
    with Index.open(tmp_path / "ix") as ix:
        for name in ("letterbox", "pillarbox"):
            got = _ids(ix.query(videos[name], clip=False))
            assert "orig" in got and "other" not in got
            assert_same_evidence(got["orig"].whole, compare(videos[name], videos["orig"]).whole)
            assert "orig" not in _ids(ix.query(videos[name], clip=False, thresholds=Thresholds(bars=False)))
        # the bar-free original finds the letterboxed entry through the /content matrix
        got = _ids(ix.query(videos["orig"], clip=False))
        assert got["letterbox"].whole.view == "content-area"
        assert_same_evidence(got["letterbox"].whole, compare(videos["orig"], videos["letterbox"]).whole)
        batch = ix.query_many([videos["letterbox"], videos["pillarbox"]], clip=False)
        assert all("orig" in _ids(b) for b in batch)
    with Index.open(tmp_path / "ix", "a") as ix:
        ix.compact()  # keeps the content-area descriptors
        assert ix.info()["with_bars"] == 1
        assert "orig" in _ids(ix.query(videos["pillarbox"], clip=False))


def test_old_index_without_content_group(tmp_path, videos, monkeypatch):
    build = seg.build_arrays

    def old_build(records):  # a writer from before the content-area view
        return {k: v for k, v in build(records).items() if not k.startswith("content/")}

    monkeypatch.setattr(seg, "build_arrays", old_build)
    with Index.create(tmp_path / "old") as ix:
        ix.add(videos["orig"], id="orig")
    monkeypatch.setattr(seg, "build_arrays", build)
    with Index.open(tmp_path / "old", verify="full") as ix:
        assert ix.get("orig").compact_content is None and ix.info()["with_bars"] == 0
        assert "orig" in _ids(ix.query(videos["orig"], clip=False))  # plain still works
        got = _ids(ix.query(videos["letterbox"], clip=False))
        old_orig = Fingerprint(**{**{f: getattr(videos["orig"], f) for f in videos["orig"].__dataclass_fields__},
                                  "compact_content": None})
        want = compare(videos["letterbox"], old_orig).whole
        assert want.view != "content-area" and not want.matched and "orig" not in got
    with Index.open(tmp_path / "old", "a") as ix:  # a new writer adds a segment with the group
        ix.add(videos["letterbox"], id="letterbox")
    with Index.open(tmp_path / "old") as ix:
        assert ix.info()["with_bars"] == 1
        assert "letterbox" in _ids(ix.query(videos["pillarbox"], clip=False))


def test_bars_appearing_midway_equal_a_full_content_accumulator():
    """The pipeline starts the content accumulator at the first frame with bars (a copy of the
    compact one): the same descriptor as accumulating every frame's content area from the start."""
    from vidprint.decode import TMKSource, read_frames
    from vidprint.synth import write_video
    from vidprint.tmk import CompactAccumulator

    frames = list(scene_frames(4, 90, 128, 96, fps=15))
    for f in frames[45:]:
        f[:20], f[-20:] = 0, 0  # letterboxed from 3 s on
    buf = io.BytesIO()
    write_video(buf, frames, 15)
    data = buf.getvalue()
    fp = vidprint.fingerprint(data, vpdq=False)
    acc = CompactAccumulator()
    for batch in read_frames(data, {"tmk": TMKSource()}):
        acc.update(content_features(np.ascontiguousarray(batch.luma))[0], batch.time)
    assert 0.4 < fp.bars_fraction < 0.6
    assert fp.compact_content == acc.finalize() and fp.compact_content != fp.compact
