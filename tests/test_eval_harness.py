"""vidprint.eval harness, report and ``vidprint eval`` on a few small generated videos."""
from __future__ import annotations

import numpy as np
import pytest

from vidprint.cli import main
from vidprint.eval import harness as H
from vidprint.eval import transforms as T
from vidprint.synth import make_video

METHODS = ["tmk-compact", "tmk-compact+flip", "vpdq:vpdq-readme", "vpdq-align", "policy+flip+bars",
           "policy+flip+bars+short", "index"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("src")
    for seed in (1, 2, 3):
        (d / f"s{seed}.mp4").write_bytes(make_video(seed, seconds=3.0, fps=15.0, size=(128, 96)))
    # a second copy of s1's footage under another name: same group, never "unrelated"
    (d / "s1-copy.mp4").write_bytes(T.reencode(d / "s1.mp4", quality=30).data)
    man = d / "manifest.tsv"
    man.write_text("file\tgroup\ns1.mp4\tA\ns1-copy.mp4\tA\ns2.mp4\tB\ns3.mp4\tC\n")
    return d, man


@pytest.fixture(scope="module")
def run(corpus, tmp_path_factory):
    d, man = corpus
    out = tmp_path_factory.mktemp("report")
    s = H.evaluate([d], out, manifest=man, transforms=["hflip", "clip_5s"], methods=METHODS, progress=False)
    return s, out


def test_pairs_respect_groups(run):
    s, _ = run
    v = s.videos
    assert sum(1 for x in v if not x.transform) == 4 and len(v) == 12
    q, c, pos = H.pairs(v)
    for qi, ci, p in zip(q, c, pos):
        assert not v[ci].transform  # compared videos are originals
        assert p == (v[qi].group == v[ci].group)
    # the transformed s1 is not scored against s1-copy (same group, not its source)
    names = {(v[a].name, v[b].name) for a, b in zip(q, c)}
    assert ("s1.mp4__hflip", "s1-copy.mp4") not in names and ("s1.mp4__hflip", "s1.mp4") in names
    assert ("s1-copy.mp4", "s1.mp4") in names  # same-group originals: a positive pair
    assert set(s.labels()[s.positive]) == {"same-group", "hflip", "clip_5s"}


def test_scores_make_sense(run):
    s, _ = run
    lab = s.labels()

    def matched(method, label):
        sel = s.select(method) & s.positive & (lab == label)
        return s.matched[sel]

    assert matched("tmk-compact+flip", "hflip").all() and not matched("tmk-compact", "hflip").any()
    assert matched("vpdq-align", "clip_5s").all()
    assert not s.matched[~s.positive].any()  # unrelated generated scenes
    sel = s.select("vpdq-align") & s.positive & (lab == "clip_5s")
    starts = np.array([s.videos[i].source_start_s for i in s.query[sel]])
    assert np.abs(s.start_s[sel] - starts).max() < 1.0


def test_index_and_short_evidence_methods(run):
    """The index's combined query (a store of the originals, one query per video) and the
    short-evidence policy decide these pairs as the pairwise policy does: every hflip copy (mirrored
    TMK) and clip (alignment) found, no unrelated pair flagged; the index also says which orientation
    matched and where a clip sits."""
    s, _ = run
    lab = s.labels()
    base = s.matched[s.select("policy+flip+bars")]
    for m in ("index", "policy+flip+bars+short"):
        sel = s.select(m)
        assert np.array_equal(s.matched[sel], base), m
        assert set(np.unique(s.score[sel]).tolist()) <= {0.0, 1.0}  # decision only
    sel = s.select("index")
    flips = sel & s.positive & (lab == "hflip")
    assert s.matched[flips].all() and (s.orientation[flips] == 1).all()
    clips = sel & s.positive & (lab == "clip_5s") & s.matched
    starts = np.array([s.videos[i].source_start_s for i in s.query[clips]])
    assert clips.any() and np.all(np.isnan(s.start_s[clips]) | (np.abs(s.start_s[clips] - starts) < 1.0))
    assert not s.errors


def test_lookalike_sweep_matches_the_method(run):
    """vidprint.eval.lookalikes recomputes the evidence of the policy's matches from the cache; its
    vectorised rule gives the decisions of the policy+flip+bars+short method."""
    from vidprint.eval import lookalikes as L
    from vidprint.eval.methods import SHORT_EVIDENCE

    s, out = run
    ev = L.collect(s, out / "work" / "fingerprints")
    n = int(s.select("policy+flip+bars").sum())
    got = np.zeros(n, bool)
    got[ev.rows] = L.decide(ev, SHORT_EVIDENCE)
    assert np.array_equal(got, s.matched[s.select("policy+flip+bars+short")])
    r = L.evaluate_rule(s, ev, None, lookalike="none")
    assert r.fp == 0 and r.recall["hflip"] == 1.0 and r.n_lookalike == 0


def test_report_and_resume(run, corpus, tmp_path_factory):
    s, out = run
    text = (out / "report.md").read_text()
    for needle in ("Recall at the defaults", "precision >= 99.9%", "unrelated pairs", "hflip", "clip_5s",
                   "plots/det.png"):
        assert needle in text
    assert (out / "plots" / "det.png").stat().st_size > 1000
    loaded = H.Scores.load(out / "scores.npz")
    assert loaded.methods == s.methods and np.array_equal(loaded.score, s.score)
    # a second run re-uses the transformed files and the fingerprint cache
    vids = sorted((out / "work" / "videos").glob("*.mp4"))
    mtimes = [p.stat().st_mtime_ns for p in vids]
    d, man = corpus
    again = H.evaluate([d], out, manifest=man, transforms=["hflip", "clip_5s"], methods=METHODS[:1],
                       progress=False, report=False)
    assert [p.stat().st_mtime_ns for p in vids] == mtimes
    assert len(again.videos) == len(s.videos)
    # adding a run's methods to another: same pairs, the second run's version of a shared method
    merged = again.merge(s)
    assert merged.methods == s.methods
    for m in s.methods:
        assert np.array_equal(merged.matched[merged.select(m)], s.matched[s.select(m)])
        assert np.array_equal(merged.query[merged.select(m)], s.query[s.select(m)])


def test_cli(corpus, tmp_path, capsys):
    d, man = corpus
    assert main(["eval", "--list"]) == 0
    assert "clip_60s" in capsys.readouterr().out
    out = tmp_path / "r"
    rc = main(["eval", str(d / "s2.mp4"), str(d / "s3.mp4"), "--out", str(out), "--transforms", "grey",
               "--methods", "tmk-compact", "--quiet"])
    assert rc == 0 and (out / "report.md").exists()
    assert main(["eval", str(d), "--out", str(out), "--transforms", "nope", "--quiet"]) == 2
    assert main(["eval", "--out", str(out)]) == 2


def test_bad_manifest(tmp_path):
    p = tmp_path / "m.tsv"
    p.write_text("name\tkind\nx\ty\n")
    with pytest.raises(ValueError, match="'file' and 'group'"):
        H.read_manifest(p)
