"""vPDQ text format, metadata sidecar, pruning and python-threatexchange signal strings."""
from __future__ import annotations

import dataclasses
import io
import json

import numpy as np
import pytest

import vidprint.vpdq as vpdq
from vidprint.errors import HashFileError

from conftest import VPDQ_DIR  # $VIDPRINT_SHARED or ../shared
if not VPDQ_DIR.is_dir():
    pytest.skip(f"reference data not found at {VPDQ_DIR}", allow_module_level=True)

REF_FILES = sorted(VPDQ_DIR.glob("*.txt"))
CHAIR19 = VPDQ_DIR / "chair-19-sd-bar.txt"
GOOD = "0,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.000\n"
HEX0 = "e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c"


def test_reference_files_present():
    assert len(REF_FILES) == 15


@pytest.mark.parametrize("path", REF_FILES, ids=lambda p: p.name)
def test_round_trip_byte_exact(path, tmp_path):
    raw = path.read_bytes()
    vh = vpdq.read(path)
    lines = raw.decode().splitlines()
    assert len(vh) == len(lines)
    assert vh.to_text().encode() == raw
    out = tmp_path / path.name
    vh.write(out)
    assert out.read_bytes() == raw
    assert not vpdq.sidecar_path(out).exists()  # no metadata -> no sidecar


def test_columns_match_text():
    vh = vpdq.read(CHAIR19)
    lines = CHAIR19.read_text().splitlines()
    assert len(vh) == 564
    # first line given in the spec (§3.6)
    assert vh.hexes()[0] == HEX0
    assert vh.words.shape == (564, 4) and vh.words.dtype == np.uint64
    assert vh.words[0, 0] == np.uint64(0xE271017837246AAC)  # word 0 = most significant hex digits
    assert vh.words[0, 3] == np.uint64(int(HEX0[48:], 16))
    for k in (0, 1, 2, 300, 563):
        fn, q, h, ts = lines[k].split(",")
        assert vh.frame_numbers[k] == int(fn)
        assert vh.quality[k] == int(q)
        assert vh.hexes()[k] == h
        assert vh.timestamps[k] == float(ts)
    assert vh.timestamps[-1] == pytest.approx(18.767)
    feats = list(vh.features())
    assert feats[1].hex == lines[1].split(",")[2] and feats[1].frame_number == 1
    assert feats[2].timestamp == pytest.approx(0.067)


def test_read_text_and_bytes(tmp_path):
    text = CHAIR19.read_text()
    a = vpdq.parse_text(text)
    b = vpdq.read(text.encode())
    c = vpdq.read(CHAIR19)
    d = vpdq.read(io.BytesIO(text.encode()))
    assert a.equals(c) and b.equals(c) and d.equals(c)
    crlf = text.replace("\n", "\r\n")
    assert vpdq.parse_text(crlf).equals(c, metadata=False)
    # a str is always a path, never guessed to be hash text: a missing file named like text is missing
    with pytest.raises(HashFileError, match="no such file") as ei:
        vpdq.read(str(tmp_path / "a,b.txt"))
    assert ei.value.source == str(tmp_path / "a,b.txt")


@pytest.mark.parametrize(
    "text, line, needle",
    [
        ("", None, "empty"),
        (GOOD + "garbage\n", 2, "field"),
        (GOOD + GOOD + "\n" + GOOD, 3, "empty line"),
        (GOOD + "1,100," + HEX0 + "\n", 2, "field"),  # 3 fields
        ("0,100," + HEX0 + ",0.000,extra\n", 1, "field"),  # 5 fields
        (GOOD + "1,100," + HEX0[:-1] + ",0.033\n", 2, "64 hex"),
        (GOOD + "1,100," + HEX0[:-1] + "g,0.033\n", 2, "64 hex"),
        (GOOD + "1,101," + HEX0 + ",0.033\n", 2, "0..100"),
        (GOOD + "1,-1," + HEX0 + ",0.033\n", 2, "0..100"),
        (GOOD + "1,abc," + HEX0 + ",0.033\n", 2, "integer"),
        (GOOD + GOOD + "-1,100," + HEX0 + ",0.033\n", 3, "negative frame"),
        (GOOD + "x1,100," + HEX0 + ",0.033\n", 2, "integer"),
        (GOOD + "1,100," + HEX0 + ",-0.5\n", 2, ">= 0"),
        (GOOD + "1,100," + HEX0 + ",nan\n", 2, ">= 0"),
        (GOOD + "1,100," + HEX0 + ",0.0x3\n", 2, "not a number"),
    ],
)
def test_malformed_text_errors(text, line, needle):
    with pytest.raises(HashFileError) as ei:
        vpdq.parse_text(text, "bad.txt")
    err = ei.value
    assert err.source == "bad.txt"
    assert err.line == line
    assert needle in err.reason
    assert "bad.txt" in str(err)


def test_malformed_file_names_path(tmp_path):
    lines = CHAIR19.read_text().splitlines(keepends=True)
    lines[41] = lines[41].replace(",100,", ",250,")
    p = tmp_path / "broken.txt"
    p.write_text("".join(lines))
    with pytest.raises(HashFileError) as ei:
        vpdq.read(p)
    assert ei.value.line == 42 and ei.value.source == str(p)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(HashFileError, match="empty"):
        vpdq.read(empty)
    with pytest.raises(HashFileError, match="no such file"):
        vpdq.read(tmp_path / "missing.txt")


def test_metadata_sidecar_round_trip(tmp_path):
    vh = vpdq.read(CHAIR19)
    pr = vpdq.prune(vh, distance=20, min_quality=50)
    pr = pr.select(slice(None), fps=30.0, every_seconds=0.0, size=(480, 720), source="chair-19-sd-bar.mp4")
    out = tmp_path / "pruned.txt"
    pr.write(out)
    side = vpdq.sidecar_path(out)
    assert side.name == "pruned.txt.json"
    meta = json.loads(side.read_text())
    assert meta["pruned"]["distance"] == 20 and meta["frames"] == len(pr)
    # the .txt is plain reference format: exactly 4 fields per line, lines a subset of the original
    orig_lines = set(CHAIR19.read_text().splitlines())
    txt_lines = out.read_text().splitlines()
    assert all(len(ln.split(",")) == 4 and ln in orig_lines for ln in txt_lines)
    back = vpdq.read(out)
    assert back == pr and back.equals(pr.select(slice(None), source=None))
    assert back.pruned == {"distance": 20, "min_quality": 50, "input_frames": 564, "kept_frames": len(pr)}
    assert back.size == (480, 720) and back.fps == 30.0
    assert back.source is None and "source" not in meta  # the sidecar never records where the video was
    # a sidecar describing other text is ignored with a warning
    out.write_text(CHAIR19.read_text())
    with pytest.warns(UserWarning, match="different text"):
        stale = vpdq.read(out)
    assert stale.pruned is None and len(stale) == 564
    # writing without metadata removes the sidecar of the old content
    stale.write(out)
    assert not side.exists()
    side.write_text("{not json")
    with pytest.raises(HashFileError) as ei:
        vpdq.read(out)
    assert ei.value.source == str(side)


def test_prune_semantics():
    vh = vpdq.read(VPDQ_DIR / "test-padded-dimensions.txt")  # near-static footage, 150 frames
    hexes = vh.hexes()
    # distance 0 drops only exact repeats of the last kept frame
    p0 = vpdq.prune(vh, distance=0)
    expect0 = [0] + [i for i in range(1, 150) if hexes[i] != hexes[i - 1]]
    assert list(p0.frame_numbers) == expect0
    # distance D: independent re-implementation over hex strings
    D = 16
    kept = [0]
    for i in range(1, 150):
        if bin(int(hexes[i], 16) ^ int(hexes[kept[-1]], 16)).count("1") > D:
            kept.append(i)
    p = vpdq.prune(vh, distance=D)
    assert list(p.frame_numbers) == kept
    assert len(kept) < 150
    assert np.array_equal(p.timestamps, vh.timestamps[kept])
    # quality filter happens first; record chains
    lowq = dataclasses.replace(vh, quality=np.where(np.arange(150) % 3 == 0, 10, 90))
    pq = vpdq.prune(lowq, min_quality=50)
    assert len(pq) == 100 and (pq.quality >= 50).all()
    assert pq.pruned == {"distance": None, "min_quality": 50, "input_frames": 150, "kept_frames": 100}
    pp = vpdq.prune(pq, distance=D)
    assert pp.pruned["previous"] == pq.pruned and pp.pruned["input_frames"] == 100


def test_signal_string_round_trip():
    vh = vpdq.read(CHAIR19)
    s = vh.to_signal_str()
    items = json.loads(s)
    assert len(items) == 564
    assert items[0] == HEX0 + ",100,0.0"
    last_hex = CHAIR19.read_text().splitlines()[-1].split(",")[2]
    assert items[-1] == last_hex + ",100,18.8"  # 18.767 with 3 significant digits
    assert items[1].endswith(",100,0.033")
    back = vpdq.from_signal_str(s, fps=30.0)
    assert back.hexes() == vh.hexes()
    assert np.array_equal(back.quality, vh.quality)
    assert np.allclose(back.timestamps, vh.timestamps, rtol=5e-3, atol=1e-9)
    assert back.frame_numbers[:100].tolist() == list(range(100))
    assert len(vpdq.from_signal_str("")) == 0
    with pytest.raises(HashFileError) as ei:
        vpdq.from_signal_str(json.dumps([HEX0 + ",100,0.0", HEX0 + ",100"]))
    assert ei.value.line == 2
    with pytest.raises(HashFileError):
        vpdq.from_signal_str(json.dumps([HEX0 + ",101,0.0"]))
    with pytest.raises(HashFileError):
        vpdq.from_signal_str("{")


def test_vpdqhash_is_frozen_and_validated():
    vh = vpdq.read(CHAIR19)
    with pytest.raises(ValueError):
        vh.words[0, 0] = 1
    with pytest.raises(ValueError):
        vpdq.VPDQHash(vh.words, vh.quality[:-1], vh.frame_numbers, vh.timestamps)
    with pytest.raises(ValueError):
        vpdq.write(vh.select(slice(0, 0)), "/nonexistent/x.txt")
