"""Content-area vPDQ hashes (letterbox / pillarbox bars cut per frame): fingerprint, .vpfp, compare, index."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

import vidprint
from vidprint.errors import HashFileError, InvalidArgumentError
from vidprint.eval import transforms as T
from vidprint.index import Index
from vidprint.matching import CONTENT_VARIANT, Thresholds, clip_evidence, compare
from vidprint.record import Fingerprint
from vidprint.synth import make_video
from vidprint.tmk.bars import detect_bars_plane

FRACTION = 0.35  # bars of 0.35 / 1.7 = 21% of the padded side


@pytest.fixture(scope="module")
def videos():
    src = make_video(3, seconds=3.0, fps=15, size=(128, 96))
    return {"src": src,
            "orig": vidprint.fingerprint(src, tmk=False),
            "letterbox": vidprint.fingerprint(T.letterbox(src, fraction=FRACTION).data, tmk=False),
            "pillarbox": vidprint.fingerprint(T.pillarbox(src, fraction=FRACTION).data, tmk=False),
            "other": vidprint.fingerprint(make_video(11, seconds=3.0, fps=15, size=(128, 96)), tmk=False)}


def _bits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distance of every row of ``a`` (uint64[n, 4]) to the same row of ``b``."""
    return np.unpackbits(np.bitwise_xor(a, b).view(np.uint8), axis=1).sum(axis=1)


def test_detect_bars_plane_on_8_bit_and_float_planes():
    y = np.full((40, 60), 120, np.uint8)
    y[6:34] = np.random.default_rng(0).integers(0, 255, (28, 60), dtype=np.uint8)
    y[:6] = y[34:] = 16  # limited-range black bars, 6 rows each
    padded = np.zeros((40, 64), np.uint8)
    padded[:, :60] = y
    assert detect_bars_plane(padded[:, :60]) == (6, 6, 0, 0)  # a strided view: no copy needed
    assert detect_bars_plane(y.astype(np.float32)) == (6, 6, 0, 0)
    assert detect_bars_plane(y.T) == (0, 0, 6, 6)
    with pytest.raises(InvalidArgumentError):
        detect_bars_plane(np.zeros((2, 3, 4), np.uint8))


def test_bar_free_video_has_no_content_hashes(videos):
    assert videos["orig"].vpdq_content is None
    assert videos["other"].vpdq_content is None


@pytest.mark.parametrize("name", ["letterbox", "pillarbox"])
def test_content_hashes_are_the_original_pictures(videos, name):
    fp, orig = videos[name], videos["orig"]
    content = fp.vpdq_content
    assert content is not None and len(content) == len(fp.vpdq) == len(orig.vpdq)
    assert np.array_equal(content.timestamps, fp.vpdq.timestamps)
    # frame for frame (same timing), the content area hashes like the original picture; the padded
    # frame does not
    near = _bits(content.words, orig.vpdq.words)
    assert np.median(near) <= 8, near
    assert np.median(_bits(fp.vpdq.words, orig.vpdq.words)) > 31
    assert "vpdq-content-area" in repr(fp)


def test_vpfp_round_trip_and_validation(videos):
    fp = videos["letterbox"]
    back = Fingerprint.from_bytes(fp.to_bytes())
    assert back == fp and back.vpdq_content == fp.vpdq_content
    assert Fingerprint.from_bytes(videos["orig"].to_bytes()).vpdq_content is None
    # content-area hashes without the plain ones, or of another length, are refused
    zin = zipfile.ZipFile(io.BytesIO(fp.to_bytes()))

    def rewrite(drop=(), replace=None):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zout:
            for member in zin.namelist():
                if member in drop:
                    continue
                raw = zin.read(member)
                if replace and member in replace:
                    buf = io.BytesIO()
                    np.lib.format.write_array(buf, replace[member])
                    raw = buf.getvalue()
                zout.writestr(member, raw)
        return out.getvalue()

    with pytest.raises(HashFileError, match="without vPDQ"):
        Fingerprint.from_bytes(rewrite(drop=("vpdq_words.npy", "vpdq_quality.npy", "vpdq_frames.npy",
                                             "vpdq_timestamps.npy")))
    with pytest.raises(HashFileError, match="content-area"):
        Fingerprint.from_bytes(rewrite(replace={"vpdq_content_words.npy": fp.vpdq_content.words[:-1]}))
    with pytest.raises(HashFileError, match="content-area"):
        Fingerprint.from_bytes(rewrite(replace={"vpdq_content_quality.npy":
                                                np.full(len(fp.vpdq), 300, np.int32)}))


@pytest.mark.parametrize("name", ["letterbox", "pillarbox"])
def test_compare_aligns_the_query_content_area(videos, name):
    q, c = videos[name], videos["orig"]
    clip = compare(q, c).clip
    assert clip.matched
    best = max(clip.segments, key=lambda s: s.matched_frames)
    assert best.transform == CONTENT_VARIANT
    assert abs(best.compared_start_s - best.query_start_s) < 0.5
    assert "transform content" in compare(q, c).decided_by
    # off: only the plain frames, which do not match
    assert not compare(q, c, Thresholds(bars=False)).clip.matched
    # the content-area segments are held to the short-evidence rule like plain ones (3 s, every frame)
    strict = clip_evidence(q.vpdq, c.vpdq, Thresholds(short_align_mean_distance=-1.0), content=q.vpdq_content)
    assert not strict.matched and strict.short_refused >= 1
    # unrelated content stays unrelated
    assert not compare(q, videos["other"]).clip.matched


def test_clip_evidence_validates_content(videos):
    q, c = videos["letterbox"], videos["orig"]
    short = vidprint.vpdq.VPDQHash(q.vpdq_content.words[:3], q.vpdq_content.quality[:3],
                                   q.vpdq_content.frame_numbers[:3], q.vpdq_content.timestamps[:3])
    with pytest.raises(InvalidArgumentError):
        clip_evidence(q.vpdq, c.vpdq, content=short)


def test_index_searches_the_query_content_area(tmp_path, videos):
    with Index.create(tmp_path / "ix") as ix:
        ix.add(videos["orig"], id="orig")
        ix.add(videos["other"], id="other")
        for name in ("letterbox", "pillarbox"):
            got = {m.id: m for m in ix.query(videos[name], whole=False)}
            assert set(got) == {"orig"}
            assert got["orig"].clip == compare(videos[name], videos["orig"]).clip
            assert not ix.query(videos[name], whole=False, thresholds=Thresholds(bars=False))


# -- the compared side's content areas: a stored video that had bars ------------------------------

@pytest.mark.parametrize("query", ["orig", "pillarbox"])
def test_compare_aligns_the_compared_content_area(videos, query):
    """A video stored *with* bars is found by a copy without them (bars cut off) and by a copy with
    other bars: the query's content areas (its frames where it has none) against the stored ones."""
    q, c = videos[query], videos["letterbox"]
    assert c.vpdq_content is not None
    # the stored hashes as they are do not match
    plain = clip_evidence(q.vpdq, c.vpdq, content=q.vpdq_content)
    assert not plain.matched
    clip = compare(q, c).clip
    assert clip.matched
    best = max(clip.segments, key=lambda s: s.matched_frames)
    assert best.transform == CONTENT_VARIANT and abs(best.compared_start_s - best.query_start_s) < 0.5
    assert clip == clip_evidence(q.vpdq, c.vpdq, content=q.vpdq_content, compared_content=c.vpdq_content)
    assert not compare(q, c, Thresholds(bars=False)).clip.matched
    assert not compare(videos["other"], c).clip.matched


def test_a_stretch_found_twice_is_reported_once(videos):
    # the letterboxed copy against itself: the plain frames and the content areas both align the
    # whole clip; one segment is reported (the plain one: the same frames, found first)
    fp = videos["letterbox"]
    clip = compare(fp, fp).clip
    assert clip.matched and len(clip.segments) == 1 and clip.segments[0].transform == "orig"


def test_clip_evidence_validates_compared_content(videos):
    q, c = videos["orig"], videos["letterbox"]
    cut = vidprint.vpdq.VPDQHash(c.vpdq_content.words[:3], c.vpdq_content.quality[:3],
                                 c.vpdq_content.frame_numbers[:3], c.vpdq_content.timestamps[:3])
    with pytest.raises(InvalidArgumentError, match="compared_content"):
        clip_evidence(q.vpdq, c.vpdq, compared_content=cut)


def test_index_stores_and_searches_content_areas(tmp_path, videos):
    with Index.create(tmp_path / "ix") as ix:
        ix.add(videos["letterbox"], id="boxed")
        ix.add(videos["other"], id="other")
        e = ix.get("boxed")
        assert e.vpdq_content is not None and e.vpdq_content.words.tolist() == videos["letterbox"].vpdq_content.words.tolist()
        assert np.array_equal(e.vpdq_content.timestamps, e.vpdq.timestamps)
        assert ix.get("other").vpdq_content is None
        for name in ("orig", "pillarbox"):
            got = {m.id: m for m in ix.query(videos[name], whole=False)}
            assert set(got) == {"boxed"}
            assert got["boxed"].clip == compare(videos[name], videos["letterbox"]).clip
            assert not ix.query(videos[name], whole=False, thresholds=Thresholds(bars=False))
        ix.compact()  # rewritten into one new segment: kept
        assert ix.get("boxed").vpdq_content == e.vpdq_content
        assert {m.id for m in ix.query(videos["orig"], whole=False)} == {"boxed"}


def test_index_segment_without_content_hashes_reads(tmp_path, videos, monkeypatch):
    """A segment written before the /vpdq_content group existed reads as holding none; a damaged
    group is refused, naming the segment and the reason."""
    from vidprint.errors import IndexStoreError
    from vidprint.index import segment

    real = segment._vpdq_content_arrays
    monkeypatch.setattr(segment, "_vpdq_content_arrays", lambda records: {})
    with Index.create(tmp_path / "old") as ix:
        ix.add(videos["letterbox"], id="boxed")
    with Index.open(tmp_path / "old") as ix:
        assert ix.get("boxed").vpdq_content is None and ix.get("boxed").vpdq is not None
        assert not ix.query(videos["orig"], whole=False)  # nothing to align the content areas with

    def one_frame_short(records):
        a = dict(real(records))
        a["vpdq_content/offsets"] = a["vpdq_content/offsets"] - np.r_[0, np.ones(len(a["vpdq_content/offsets"]) - 1, np.int64)]
        a["vpdq_content/words"], a["vpdq_content/quality"] = a["vpdq_content/words"][:-1], a["vpdq_content/quality"][:-1]
        return a

    monkeypatch.setattr(segment, "_vpdq_content_arrays", one_frame_short)
    with pytest.raises(IndexStoreError, match="vpdq_content") as info:
        with Index.create(tmp_path / "bad") as ix:
            ix.add(videos["letterbox"], id="boxed")
    assert "seg-" in str(info.value)
