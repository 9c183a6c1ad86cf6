"""``vidprint index``: build, maintain and query a fingerprint index (a folder; see vidprint.index).

    vidprint index create INDEX
    vidprint index add INDEX INPUT... [--id ID] [--label LABEL] [--every-seconds S]
    vidprint index import INDEX FOLDER...         (every .tmk and vPDQ .txt; ids from file names)
    vidprint index remove INDEX ID...
    vidprint index info INDEX [--verify]
    vidprint index query INDEX INPUT... [--no-whole] [--no-clip] [--dihedral]
    vidprint index compact INDEX

INPUT is a video (fingerprinted; id = sha256 of the file's bytes) or a hash file (.vpfp, .tmk,
.vptc, vPDQ .txt; id = file name without extension). ``--json`` prints machine-readable output.
Exit status of ``query``, as grep: 0 = at least one match, 1 = none, 2 = an error; the other
commands: 0 = done, 2 = an error.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from vidprint.errors import InvalidArgumentError


def _load(path: str, every_seconds: float = 0.0, dihedral: bool = False) -> tuple[Any, str | None]:
    """(fingerprint-like object, default id) for a video or a hash file."""
    from vidprint.index import Entry
    from vidprint.matching import HASH_SUFFIXES, load
    from vidprint.tmk import CompactDescriptor, TMKDescriptor
    from vidprint.vpdq import VPDQHash

    p = Path(path)
    if p.suffix.lower() not in HASH_SUFFIXES:
        from vidprint.pipeline import fingerprint

        fp = fingerprint(path, every_seconds=every_seconds, dihedral=dihedral)
        return fp, fp.content_id
    x = load(path)
    if isinstance(x, TMKDescriptor):
        return Entry(p.stem, {}, None, x, None), p.stem
    if isinstance(x, CompactDescriptor):
        return Entry(p.stem, {}, x, None, None), p.stem
    if isinstance(x, VPDQHash):
        return Entry(p.stem, {}, None, None, x), p.stem
    return x, getattr(x, "content_id", None) or p.stem


def _print(obj: Any) -> None:
    print(json.dumps(obj, indent=1, sort_keys=False))


def cmd_create(args: argparse.Namespace) -> int:
    from vidprint.index import Index

    Index.create(args.index).close()
    if args.json:
        _print({"created": args.index})
    else:
        print(f"created empty index {args.index}")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    from vidprint.index import Index

    if args.id and len(args.inputs) != 1:
        raise InvalidArgumentError("--id", "--id needs exactly one input")
    items = []
    for path in args.inputs:
        fp, default_id = _load(path, args.every_seconds)
        meta = {"label": args.label} if args.label else {}
        items.append((fp, args.id or default_id, meta))
    with Index.open(args.index, "a") as ix:
        before = set(ix.ids())
        ids = ix.add_many(items)
        new = [i for i in ids if i not in before]
        n = len(ix)
    if args.json:
        _print({"ids": ids, "added": new, "entries": n})
    else:
        for path, i in zip(args.inputs, ids):
            print(f"{path}: {i}{'' if i in new else ' (already indexed)'}")
        print(f"{len(set(new))} added, {n} entries")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from vidprint.index import Index

    out = {}
    with Index.open(args.index, "a") as ix:
        for folder in args.folders:
            meta = {"label": args.label} if args.label else None
            out[folder] = {"tmk": len(ix.import_tmk(folder, meta)), "vpdq": len(ix.import_vpdq(folder, meta))}
        n = len(ix)
    if args.json:
        _print({"imported": out, "entries": n})
    else:
        for folder, c in out.items():
            print(f"{folder}: {c['tmk']} .tmk, {c['vpdq']} vPDQ .txt")
        print(f"{n} entries")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from vidprint.index import Index

    with Index.open(args.index, "a") as ix:
        n = ix.remove(args.ids)
    if args.json:
        _print({"removed": n})
    else:
        print(f"removed {n} of {len(args.ids)}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from vidprint.index import Index

    with Index.open(args.index, verify="full" if args.verify else "auto") as ix:
        info = ix.info()
    if args.json:
        _print(info)
    else:
        for k, v in info.items():
            print(f"{k:15s} {v}")
    return 0


def cmd_compact(args: argparse.Namespace) -> int:
    from vidprint.index import Index

    with Index.open(args.index, "a") as ix:
        ix.compact()
        info = ix.info()
    if args.json:
        _print(info)
    else:
        print(f"compacted: {info['entries']} entries in {info['segments']} segment, {info['bytes']} bytes")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    """Exit status as grep: 0 = a match for some input, 1 = none, 2 = an error."""
    from vidprint.index import Index

    results = []
    any_match = False
    with Index.open(args.index) as ix:
        for path in args.inputs:
            fp, _ = _load(path, dihedral=args.dihedral)
            matches = ix.query(fp, whole=not args.no_whole, clip=not args.no_clip, dihedral=args.dihedral)
            any_match |= bool(matches)
            results.append((path, matches))
    if args.json:
        _print([{"query": p, "matches": [m.to_dict() for m in ms]} for p, ms in results])
        return 0 if any_match else 1
    for path, matches in results:
        print(f"{path}: {len(matches)} match(es)")
        for m in matches:
            print(f"  {m.id}  [{m.kind}]  {m.decided_by}")
            if m.clip is not None and m.clip.matched:
                for g in m.clip.segments:
                    print(f"      query {g.query_start_s:7.2f}-{g.query_end_s:7.2f} s  ~  indexed "
                          f"{g.compared_start_s:7.2f}-{g.compared_end_s:7.2f} s  speed {g.speed:.3f}  "
                          f"frames {g.matched_frames}  score {g.score:.3f}  transform {g.transform}")
    return 0 if any_match else 1


def register(sub) -> None:
    """Add ``vidprint index <command>`` to an argparse sub-parser collection."""
    p = sub.add_parser("index", help="build and query a fingerprint index (query exit: 0 = match, 1 = none, 2 = error)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    isub = p.add_subparsers(dest="index_command", required=True)

    def cmd(name: str, func, help: str) -> argparse.ArgumentParser:
        q = isub.add_parser(name, help=help)
        q.add_argument("index", help="the index folder")
        q.add_argument("--json", action="store_true", help="machine-readable output")
        q.set_defaults(func=func)
        return q

    cmd("create", cmd_create, "create an empty index")
    q = cmd("add", cmd_add, "add videos or hash files (one commit)")
    q.add_argument("inputs", nargs="+")
    q.add_argument("--id", help="id of the (single) input (default: sha256 of a video, stem of a hash file)")
    q.add_argument("--label", help="store metadata label=LABEL")
    q.add_argument("--every-seconds", type=float, default=0.0, help="vPDQ sampling of videos (0: every frame)")
    q = cmd("import", cmd_import, "import every .tmk and vPDQ .txt of folders (ids from file names)")
    q.add_argument("folders", nargs="+")
    q.add_argument("--label", help="store metadata label=LABEL (default: the folder's name)")
    q = cmd("remove", cmd_remove, "remove entries by id")
    q.add_argument("ids", nargs="+")
    q = cmd("info", cmd_info, "counts and sizes")
    q.add_argument("--verify", action="store_true", help="check every segment file's sha256")
    q = cmd("query", cmd_query, "which indexed videos match (exit 0 = match, 1 = none, 2 = error)")
    q.add_argument("inputs", nargs="+")
    q.add_argument("--no-whole", action="store_true", help="skip whole-video (TMK) matching")
    q.add_argument("--no-clip", action="store_true", help="skip clip (vPDQ) matching")
    q.add_argument("--dihedral", action="store_true", help="also look for rotated / mirrored copies (videos only)")
    cmd("compact", cmd_compact, "merge segments, drop removed entries")
