"""``vidprint demo``: generate a few videos, fingerprint them, and show what matches what.

Three unrelated synthetic scenes, plus three derived copies: a smaller re-encode, a grey copy, and a
clip cut from the middle of a scene at another frame rate. Whole-video matching (TMK, both profiles)
should pair each full-length copy with its original and nothing else; clip matching (vPDQ) should
find the clip and say where.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path


def _make_videos(folder: Path) -> dict[str, Path]:
    import numpy as np  # here, not at import: building the CLI's parser loads no NumPy (cli.batch)

    from vidprint.synth import scene_frames, write_video

    w, h, fps, seconds = 320, 240, 30, 8
    n = seconds * fps
    paths: dict[str, Path] = {}
    scenes = {seed: list(scene_frames(seed, n, w, h, fps)) for seed in (1, 2, 3)}
    for seed, frames in scenes.items():
        paths[f"scene{seed}"] = folder / f"scene{seed}.mp4"
        write_video(paths[f"scene{seed}"], frames, fps)
    # scene1, half size, lower quality
    small = [f[::2, ::2] for f in scenes[1]]
    paths["scene1-small"] = folder / "scene1-small.mp4"
    write_video(paths["scene1-small"], small, fps, crf=30)
    # scene2 in grey
    grey = [np.repeat(f.mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8) for f in scenes[2]]
    paths["scene2-grey"] = folder / "scene2-grey.mp4"
    write_video(paths["scene2-grey"], grey, fps)
    # seconds 3.0-6.0 of scene3, re-rendered at 25 fps
    clip = list(scene_frames(3, int(seconds * 25), w, h, 25))[75:150]
    paths["scene3-clip"] = folder / "scene3-clip-3s-to-6s.mp4"
    write_video(paths["scene3-clip"], clip, 25)
    return paths


def run_demo(directory: str | None = None) -> int:
    import vidprint.tmk as tmk
    import vidprint.vpdq as vpdq
    from vidprint.pipeline import fingerprint

    with tempfile.TemporaryDirectory(prefix="vidprint-demo-") as tmp:
        folder = Path(directory) if directory else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        paths = _make_videos(folder)
        print(f"generated {len(paths)} videos in {folder} ({time.perf_counter() - t0:.1f} s)")
        fps = {}
        for key, path in paths.items():
            t0 = time.perf_counter()
            fps[key] = fingerprint(path)
            fp = fps[key]
            print(f"  {key:13s} {fp.decoded_frames:4d} frames -> TMK ({fp.tmk.frame_count} frames at 15 fps) "
                  f"+ vPDQ ({len(fp.vpdq)} hashes) in {time.perf_counter() - t0:.2f} s")
            if directory:
                fp.tmk.write(folder / f"{key}.tmk")
                fp.vpdq.write(folder / f"{key}.txt")

        keys = list(paths)
        profiles = [
            ("TMK+PDQF reference profile (level-1 / level-2; * = match: both >= "
             f"{tmk.LEVEL1_THRESHOLD}/{tmk.LEVEL2_THRESHOLD})", "tmk", tmk.score, tmk.is_match),
            ("TMK compact profile (level-1 / level-2; * = match: "
             f">= {tmk.COMPACT_LEVEL1_THRESHOLD}/{tmk.COMPACT_LEVEL2_THRESHOLD})", "compact",
             tmk.compact_score, tmk.compact_is_match),
        ]
        for title, attr, score, is_match in profiles:
            print(f"\n{title}:")
            print(" " * 14 + "".join(f"{k:>16s}" for k in keys))
            for a in keys:
                row = []
                for b in keys:
                    s = score(getattr(fps[a], attr), getattr(fps[b], attr))
                    row.append(f"{s.level1:6.3f}/{s.level2:6.3f}{'*' if is_match(s) else ' '}")
                print(f"{a:>13s} " + "".join(f"{r:>16s}" for r in row))

        print("\nvPDQ clip localisation of scene3-clip (made from seconds 3.0-6.0 of scene3, at 25 fps):")
        clip = fps["scene3-clip"].vpdq
        for key in ("scene1", "scene2", "scene3"):
            m = vpdq.match(clip, fps[key].vpdq)
            segs = vpdq.align(clip, fps[key].vpdq)
            where = "; ".join(f"clip {s.query_start_s:.2f}-{s.query_end_s:.2f} s at {key} "
                              f"{s.compared_start_s:.2f}-{s.compared_end_s:.2f} s (speed {s.speed:.2f})"
                              for s in segs) or "not found"
            print(f"  vs {key}: {m.query_pct:5.1f}% of clip frames matched -> {where}")

        _index_demo(folder, fps)
    return 0


def _index_demo(folder: Path, fps: dict) -> None:
    """Index the three original scenes (scene 3 hashed at 1 vPDQ hash per second, as archives
    often are), then query with every derived copy: each match printed with its evidence."""
    from vidprint.index import Index
    from vidprint.pipeline import fingerprint

    t0 = time.perf_counter()
    path = folder / "demo-index"
    with Index.create(path, exist_ok=True) as ix:
        items = [(fps[k], k, {"label": k}) for k in ("scene1", "scene2")]
        items.append((fingerprint(folder / "scene3.mp4", every_seconds=1.0), "scene3", {"label": "scene3, 1 hash/s"}))
        ix.add_many(items)
        info = ix.info()
    print(f"\nindex {path.name}: {info['entries']} videos, {info['frame_hashes']} vPDQ frame hashes, "
          f"{info['bytes']} bytes on disk ({time.perf_counter() - t0:.2f} s)")
    with Index.open(path) as ix:
        for key in ("scene1-small", "scene2-grey", "scene3-clip"):
            t0 = time.perf_counter()
            matches = ix.query(fps[key])
            print(f"  query {key}: {len(matches)} match(es) in {1000 * (time.perf_counter() - t0):.0f} ms")
            for m in matches:
                print(f"    {m.id} [{m.kind}] {m.decided_by}")


def register(sub) -> None:
    p = sub.add_parser("demo", help="generate a few videos, fingerprint them and match them")
    p.add_argument("--dir", default=None, help="keep the generated files here (default: a temporary folder)")
    p.set_defaults(func=lambda args: run_demo(args.dir))
