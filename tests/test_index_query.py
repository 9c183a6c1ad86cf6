"""Index queries: the reference hash lists with the reference's own scores, synthetic videos for
whole / clip / mirrored / sparsely hashed matches, agreement with vidprint.compare, and the CLI."""
from __future__ import annotations

import json
import re

import pytest

import vidprint.tmk as tmk
import vidprint.vpdq as vpdq
from vidprint.cli import main
from vidprint.index import Entry, Index
from vidprint.matching import Thresholds, clip_evidence, compare
from vidprint.pipeline import fingerprint
from vidprint.synth import scene_frames, write_video

from conftest import REF, need_shared

REAL_WORLD = REF.parent / "real-world"


def reference_pairs() -> dict[frozenset, tuple[float, float]]:
    """Pair scores as the reference README prints them (level 1, level 2)."""
    text = (REF.parent / "README.md").read_text()
    out = {}
    for m in re.finditer(r"^\s+([0-9.]+) ([0-9.]+) (chair\S+) (chair\S+)$", text, re.M):
        out[frozenset((m.group(3), m.group(4)))] = (float(m.group(1)), float(m.group(2)))
    assert len(out) == 14
    return out


@pytest.fixture(scope="module")
def ref_index(tmp_path_factory):
    need_shared()
    path = tmp_path_factory.mktemp("ix") / "reference"
    with Index.create(path) as ix:
        for folder in (REF / "tmk", REF / "vpdq", REAL_WORLD):
            ix.import_tmk(folder)
            ix.import_vpdq(folder)
    return path


def test_import_every_reference_file(ref_index):
    tmks = sorted(p.stem for d in (REF / "tmk", REAL_WORLD) for p in d.glob("*.tmk"))
    txts = sorted(p.stem for d in (REF / "vpdq", REAL_WORLD) for p in d.glob("*.txt"))
    with Index.open(ref_index) as ix:
        assert sorted(ix.ids()) == sorted(set(tmks) | set(txts))
        for name in tmks:  # .tmk and .txt of one video are one entry
            e = ix.get(name)
            assert e.reference.to_bytes() == tmk.read(next((REF / "tmk").glob(f"{name}.tmk"), None)
                                                      or REAL_WORLD / f"{name}.tmk").to_bytes()
            assert (e.vpdq is not None) == (name in txts)
        assert ix.get("chair-19-sd-bar").metadata["label"] == "tmk"


def test_reference_queries_give_the_reference_scores(ref_index):
    pairs = reference_pairs()
    with Index.open(ref_index) as ix:
        for qpath in sorted((REF / "tmk").glob("*.tmk")):
            q = Entry(qpath.stem, {}, None, tmk.read(qpath), None)
            got = {m.id: m for m in ix.query(q, clip=False)}
            assert qpath.stem in got and got[qpath.stem].whole.level2 == pytest.approx(1.0, abs=1e-5)
            for other, m in got.items():
                assert m.kind == "whole" and m.whole.profile == "reference"
                if frozenset((qpath.stem, other)) in pairs:  # the README prints 14 of the 21 pairs
                    l1, l2 = pairs[frozenset((qpath.stem, other))]
                    assert m.whole.level1 == pytest.approx(l1, abs=2e-6)
                    assert m.whole.level2 == pytest.approx(l2, abs=2e-6)
            want = {b for pair, (l1, l2) in pairs.items() if qpath.stem in pair and l1 >= 0.7 and l2 >= 0.7
                    for b in pair if b != qpath.stem}
            assert want <= set(got)
            if qpath.stem == "chair-22-with-large-logo-bar":  # the one variant the reference leaves alone
                assert set(got) == {qpath.stem}
            else:
                assert "chair-22-with-large-logo-bar" not in got


def test_query_with_a_reference_video_fingerprinted_here(ref_index):
    """The video itself, fingerprinted by vidprint: the index answers with the reference's entries
    and scores (its .tmk equals the reference's within roundoff)."""
    pairs = reference_pairs()
    fp = fingerprint(REF / "videos" / "chair-19-sd-bar.mp4")
    with Index.open(ref_index) as ix:
        ms = {m.id: m for m in ix.query(fp)}
    assert ms["chair-19-sd-bar"].kind == "both"
    assert ms["chair-19-sd-bar"].whole.level1 == pytest.approx(1.0, abs=1e-4)
    for other in ("chair-20-sd-bar", "chair-orig-22-sd-bar", "chair-22-sd-grey-bar"):
        l1, l2 = pairs[frozenset(("chair-19-sd-bar", other))]
        assert ms[other].whole.profile == "reference"
        assert ms[other].whole.level1 == pytest.approx(l1, abs=1e-4)
        assert ms[other].whole.level2 == pytest.approx(l2, abs=1e-4)
    assert "chair-22-with-large-logo-bar" not in ms or ms["chair-22-with-large-logo-bar"].kind == "clip"
    g = ms["chair-19-sd-bar"].clip.segments[0]
    assert g.compared_start_s == pytest.approx(g.query_start_s, abs=0.05) and g.speed == pytest.approx(1.0, abs=0.01)


def test_vpdq_queries_find_themselves_and_their_variants(ref_index):
    with Index.open(ref_index) as ix:
        q = vpdq.read(REF / "vpdq" / "chair-22-sd-grey-bar.txt")
        ms = {m.id: m for m in ix.query(Entry("q", {}, None, None, q))}
        assert {"chair-22-sd-grey-bar", "chair-22-sd-grey-bar-128x128", "chair-orig-22-sd-bar"} <= set(ms)
        m = ms["chair-22-sd-grey-bar"]
        assert m.kind == "clip" and m.clip.segments[0].compared_start_s == pytest.approx(0.0, abs=0.05)
        # the same verdict as vidprint.compare on the pair
        for rid, m in ms.items():
            c = compare(q, ix.get(rid).vpdq)
            assert c.clip.matched and [s.compared_start_s for s in c.clip.segments] == \
                [s.compared_start_s for s in m.clip.segments]
        q = vpdq.read(REAL_WORLD / "debian__lightsoff__lightsoff.txt")
        assert [m.id for m in ix.query(Entry("q", {}, None, None, q))] == ["debian__lightsoff__lightsoff"]
        json.dumps([m.to_dict() for m in ms.values()])


# ------------------------------------------------------------------------------------------------
# synthetic videos: fingerprints computed here

W, H, FPS, SECONDS = 160, 120, 30, 8


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("videos")
    out = {}
    scenes = {s: list(scene_frames(s, SECONDS * FPS, W, H, FPS)) for s in (1, 2, 3)}
    for s, frames in scenes.items():
        write_video(d / f"scene{s}.mp4", frames, FPS)
        out[f"scene{s}"] = d / f"scene{s}.mp4"
    write_video(d / "scene1-small.mp4", [f[::2, ::2] for f in scenes[1]], FPS, crf=30)
    out["scene1-small"] = d / "scene1-small.mp4"
    clip = list(scene_frames(2, SECONDS * 25, W, H, 25))[60:160]  # 2.4-6.4 s of scene 2 at 25 fps
    write_video(d / "scene2-clip.mp4", clip, 25)
    out["scene2-clip"] = d / "scene2-clip.mp4"
    # mirrored: 1.6-7.6 s, longer than the short-evidence limit (5 s), which mirrored segments obey too
    long_clip = list(scene_frames(2, SECONDS * 25, W, H, 25))[40:190]
    write_video(d / "scene2-clip-mirrored.mp4", [f[:, ::-1] for f in long_clip], 25)
    out["scene2-clip-mirrored"] = d / "scene2-clip-mirrored.mp4"
    write_video(d / "scene2-clip-mirrored-4s.mp4", [f[:, ::-1] for f in clip], 25)
    out["scene2-clip-mirrored-4s"] = d / "scene2-clip-mirrored-4s.mp4"
    return out


@pytest.fixture(scope="module")
def synth_index(videos, tmp_path_factory):
    path = tmp_path_factory.mktemp("ix") / "synth"
    with Index.create(path) as ix:
        fps = [fingerprint(videos[k]) for k in ("scene1", "scene2")]
        ids = ix.add_many([(fps[0], None, {"label": "scene1"}), (fps[1], None, {"label": "scene2"})])
        assert ids == [fp.content_id for fp in fps]
        # scene 2 once more, hashed sparsely as archives often are (1 vPDQ hash per second)
        ix.add(fingerprint(videos["scene2"], every_seconds=1.0), id="scene2-sparse")
    return path


def test_whole_and_clip_queries_on_real_fingerprints(synth_index, videos):
    with Index.open(synth_index) as ix:
        labels = {i: ix.get(i).metadata.get("label", i) for i in ix.ids()}
        assert ix.get(ix.ids()[0]).metadata["fps"] == pytest.approx(FPS)

        small = fingerprint(videos["scene1-small"])
        ms = ix.query(small)
        assert [labels[m.id] for m in ms] == ["scene1"]
        assert ms[0].whole.profile == "compact" and ms[0].whole.matched and ms[0].kind in ("whole", "both")
        # the same verdict and scores as vidprint.compare
        c = compare(small, fingerprint(videos["scene1"]))
        assert c.whole.level2 == pytest.approx(ms[0].whole.level2) and c.kind == ms[0].kind

        clip = fingerprint(videos["scene2-clip"])  # hashed densely: every frame
        ms = {labels[m.id]: m for m in ix.query(clip)}
        assert set(ms) == {"scene2", "scene2-sparse"}
        for m in ms.values():
            assert m.clip.matched and not (m.whole and m.whole.matched)
            g = max(m.clip.segments, key=lambda s: s.score)
            assert g.compared_start_s - g.query_start_s == pytest.approx(2.4, abs=0.2)
            assert m.transform == "orig"
            json.dumps(m.to_dict())

        scene3 = fingerprint(videos["scene3"])
        assert ix.query(scene3) == []
        # the batched prefilter gives the same answers
        batch = ix.query_many([small, clip, scene3])
        assert [[(m.id, m.kind) for m in ms] for ms in batch] == \
            [[(m.id, m.kind) for m in ix.query(f)] for f in (small, clip, scene3)]


def test_mirrored_clip_found_with_dihedral(synth_index, videos):
    with Index.open(synth_index) as ix:
        q = fingerprint(videos["scene2-clip-mirrored"], tmk=False, dihedral=True)
        assert ix.query(q) == []
        ms = {ix.get(m.id).metadata.get("label", m.id): m for m in ix.query(q, dihedral=True)}
        # found in the densely hashed entry, with the transform named; against the sparse entry the
        # mirrored variants' hashes (from the dihedral hashing path) align on too few frames
        assert "scene2" in ms and ms["scene2"].kind == "clip"
        assert ms["scene2"].transform not in (None, "orig")
        g = max(ms["scene2"].clip.segments, key=lambda s: s.score)
        assert g.compared_start_s - g.query_start_s == pytest.approx(1.6, abs=0.2)


def test_short_mirrored_clip_held_to_the_short_evidence_rule(synth_index, videos):
    """Under 5 s a mirrored segment counts only when near-identical, like a plain one: mirrored
    look-alikes align at 17-26 bits (docs/evaluation.md)."""
    q = fingerprint(videos["scene2-clip-mirrored-4s"], tmk=False, dihedral=True)
    with Index.open(synth_index) as ix:
        scene2 = ix.get(next(i for i in ix.ids() if ix.get(i).metadata.get("label") == "scene2"))
    loose = clip_evidence(q.vpdq, scene2.vpdq, Thresholds(short_evidence_s=0), dihedral=q.vpdq_dihedral)
    assert loose.matched and all(g.transform != "orig" for g in loose.segments)
    assert all(g.mean_distance > 16 for g in loose.segments)  # a mirrored copy: not near-identical
    strict = clip_evidence(q.vpdq, scene2.vpdq, Thresholds(), dihedral=q.vpdq_dihedral)
    assert not strict.matched and strict.short_refused == len(loose.segments)


# ------------------------------------------------------------------------------------------------
# CLI


def run(argv, capsys) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().out


def test_cli(tmp_path, capsys):
    need_shared()
    path = str(tmp_path / "ix")
    assert run(["index", "create", path], capsys)[0] == 0
    code, out = run(["index", "import", path, str(REF / "tmk"), "--json"], capsys)
    assert code == 0 and json.loads(out)["entries"] == 7
    code, out = run(["index", "add", path, str(REF / "vpdq" / "chair-19-sd-bar-128x128.txt"), "--json"], capsys)
    assert code == 0 and json.loads(out)["added"] == ["chair-19-sd-bar-128x128"]
    code, out = run(["index", "query", path, str(REF / "tmk" / "chair-19-sd-bar.tmk"), "--json"], capsys)
    assert code == 0
    ids = {m["id"] for m in json.loads(out)[0]["matches"]}
    assert "chair-19-sd-bar" in ids and "chair-22-with-large-logo-bar" not in ids
    code, out = run(["index", "remove", path, "chair-19-sd-bar", "chair-20-sd-bar"], capsys)
    assert code == 0 and "removed 2" in out
    assert run(["index", "compact", path], capsys)[0] == 0
    code, out = run(["index", "info", path, "--json", "--verify"], capsys)
    assert json.loads(out)["entries"] == 6 and json.loads(out)["tombstones"] == 0
    # no match: exit 1
    code, out = run(["index", "query", path, str(REAL_WORLD / "debian__lightsoff__lightsoff.txt")], capsys)
    assert code == 1 and "0 match(es)" in out
    # an error: exit 2
    assert main(["index", "query", str(tmp_path / "nope"), str(REF / "tmk" / "chair-19-sd-bar.tmk")]) == 2
