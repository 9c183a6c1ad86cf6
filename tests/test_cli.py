"""The ``vidprint`` command: hash (a batch goes on past bad files), compare, demo."""
from __future__ import annotations

import json
import re

import pytest

import vidprint.tmk as tmk
import vidprint.vpdq as vpdq
from vidprint.cli import main
from vidprint.synth import scene_frames, write_video


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("videos")
    write_video(d / "a.mp4", list(scene_frames(21, 45, 160, 120)), 30)
    write_video(d / "b.mp4", list(scene_frames(22, 45, 160, 120)), 30)
    (d / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(500))
    return d


def test_hash_writes_every_good_file_and_reports_the_bad_one(videos, tmp_path, capsys):
    args = ["hash", str(videos / "a.mp4"), str(videos / "broken.mp4"), str(videos / "b.mp4"),
            "--tmk-dir", str(tmp_path / "tmk"), "--compact-dir", str(tmp_path / "c"),
            "--vpdq-dir", str(tmp_path / "v"), "-q"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "broken.mp4" in err and "1 of 3 videos failed" in err
    for name in ("a", "b"):
        d = tmk.read(tmp_path / "tmk" / f"{name}.tmk")
        assert d.frame_count == 24  # 45 frames at 30 fps -> 45/2 + 2 at 15 fps
        assert len(vpdq.read(tmp_path / "v" / f"{name}.txt")) == 45
        c = tmk.CompactDescriptor.from_bytes((tmp_path / "c" / f"{name}.vptc").read_bytes())
        assert len(c.to_bytes()) <= 16_384
    assert not (tmp_path / "tmk" / "broken.tmk").exists()


def test_hash_prunes_and_records_it(videos, tmp_path):
    assert main(["hash", str(videos / "a.mp4"), "--vpdq-dir", str(tmp_path), "--prune-distance", "31",
                 "--min-quality", "50", "-q"]) == 0
    vh = vpdq.read(tmp_path / "a.txt")
    assert vh.pruned["distance"] == 31 and vh.pruned["min_quality"] == 50
    assert vh.pruned["input_frames"] == 45 and vh.pruned["kept_frames"] == len(vh) < 45


def test_compare_finds_a_mirrored_copy(tmp_path, capsys):
    # 6 s: mirrored frames' dihedral hashes are ~20 bits from the original's at 160x120, which the
    # short-evidence rule (segments under 5 s need <= 16 bits on average) would refuse
    frames = list(scene_frames(21, 180, 160, 120))
    write_video(tmp_path / "a.mp4", frames, 30)
    write_video(tmp_path / "m.mp4", [f[:, ::-1] for f in frames], 30)
    assert main(["compare", str(tmp_path / "m.mp4"), str(tmp_path / "a.mp4"), "--dihedral"]) == 0
    out = capsys.readouterr().out
    assert "transform flipy" in out


def test_compare_files_and_videos(videos, tmp_path, capsys):
    assert main(["hash", str(videos / "a.mp4"), str(videos / "b.mp4"), "--tmk-dir", str(tmp_path), "-q"]) == 0
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "a.tmk"), str(tmp_path / "a.tmk")]) == 0
    out = capsys.readouterr().out
    assert "level-1 1.000000" in out and "MATCH" in out
    # two unrelated videos: every kind of evidence printed, a verdict, exit 1 (grep's "no match")
    assert main(["compare", str(videos / "a.mp4"), str(videos / "b.mp4")]) == 1
    out = capsys.readouterr().out
    assert "TMK compact" in out and "vPDQ" in out and "0 aligned segment(s)" in out
    assert "verdict: no match" in out and "MATCH" not in out
    # --json carries every score and the thresholds
    assert main(["compare", str(videos / "a.mp4"), str(videos / "a.mp4"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["matched"] and doc["kind"] == "both" and doc["whole"]["profile"] == "compact"
    assert doc["thresholds"]["compact_level2"] == 0.6 and doc["clip"]["segments"]
    # an error (a broken video) is exit 2, naming the file
    assert main(["compare", str(tmp_path / "a.tmk"), str(videos / "broken.mp4")]) == 2
    assert "broken.mp4" in capsys.readouterr().err


def test_demo_runs_and_finds_its_clip(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    found = re.search(r"vs scene3: +(\d+\.\d)% of clip frames matched -> "
                      r"clip 0\.\d\d-2\.\d\d s at scene3 (\d\.\d\d)-(\d\.\d\d) s", out)
    assert found, out
    assert float(found[1]) >= 90 and abs(float(found[2]) - 3.0) < 0.2 and abs(float(found[3]) - 6.0) < 0.2
    assert "vs scene1:   0.0% of clip frames matched -> not found" in out


def test_hash_refuses_inputs_that_would_overwrite_each_other(videos, tmp_path, capsys):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "a.mp4").write_bytes((videos / "b.mp4").read_bytes())
    args = ["hash", str(videos / "a.mp4"), str(tmp_path / "other" / "a.mp4"), "--vpdq-dir", str(tmp_path / "v")]
    assert main(args) == 2
    assert "would both be written as a.*" in capsys.readouterr().err
    assert not (tmp_path / "v" / "a.txt").exists()  # nothing hashed, nothing overwritten
