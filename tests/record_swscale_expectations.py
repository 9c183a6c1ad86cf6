#!/usr/bin/env python
"""Record the expected pixels of ``test_swscale.py`` from the real libswscale, through PyAV.

    python tests/record_swscale_expectations.py             # both tables, in test_swscale.py's literal format
    python tests/record_swscale_expectations.py --cpu c --json   # one CPU mode, as JSON (used by the test)

It rebuilds the two tables of ``tests/test_swscale.py``:

- ``LIBSWSCALE_CONSTANTS``: the RGB triple of a constant 480x720 ``yuv420p`` / ``yuvj420p`` frame scaled to
  64x64 with ``SWS_BICUBIC`` into ``rgb24``;
- ``LIBSWSCALE_RANDOM``: the sha256 of the ``rgb24`` output for the noise frames of
  ``swscale_inputs.random_planes``; the last key element says which filter layout vidprint must use
  (``True``: x86 SIMD build, filters padded to 4 horizontal / 2 vertical taps; ``False``: plain C).

The inputs are ``swscale_inputs.constant_planes`` / ``random_planes``, the same functions the test feeds
vidprint. Each CPU mode runs in its own subprocess because ``av_force_cpu_flags`` (called through ctypes on
the libavutil that PyAV loaded, as ``test_simd_independence.py`` does) is process-wide. A ``True`` entry
comes from the run with the CPU's SIMD flags as detected, a ``False`` entry from the run with all flags
forced off, printed only where it differs from the SIMD run (as in the test's table). On a CPU without
x86 SIMD the "simd" run is whatever the build does by default: the script says so.

The script ends by comparing what it recorded with the tables written in test_swscale.py (read with
``ast``, not imported), one line per entry. Runs so far (x86-64 with AVX-512), all 24 entries agreeing:

- libswscale 7.5.100 (FFmpeg 6.1, PyAV 12.0.0): the recording the tables came from, reproduced;
- libswscale 9.5.102 (FFmpeg 8.0, PyAV 18.1.0), which PyAV drives through ``sws_scale_frame``.

``test_swscale.py::test_installed_libswscale_c_path_matches`` runs ``--cpu c --json`` and compares the
live values with vidprint for the libswscale major versions listed there (those above).
"""
from __future__ import annotations

import argparse
import ast
import ctypes
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from swscale_inputs import constant_planes, random_planes  # noqa: E402

TEST_FILE = Path(__file__).resolve().parent / "test_swscale.py"

# The inputs of LIBSWSCALE_CONSTANTS: (format, Y, U, V), all 480x720 -> 64x64 bicubic.
CONSTANT_SIZE = (480, 720, 64, "bicubic")
CONSTANT_INPUTS = [
    (fmt, *yuv)
    for fmt in ("yuv420p", "yuvj420p")
    for yuv in ((16, 128, 128), (235, 128, 128), (128, 128, 128), (81, 90, 240), (145, 54, 34),
                (41, 240, 110), (0, 0, 0), (255, 255, 255), (100, 200, 50))
    if not (fmt == "yuvj420p" and yuv == (128, 128, 128))  # not in the recorded table
]
# The inputs of LIBSWSCALE_RANDOM: (src width, src height, square output size, method).
RANDOM_INPUTS = [(w, h, size, method) for (w, h) in ((480, 720), (1080, 1080))
                 for size, method in ((64, "bicubic"), (128, "area"), (128, "lanczos"))]


# ------------------------------------------------------------------------------------------------
# One CPU mode (runs in a child process)


def _force_c_path() -> str | None:
    """Force FFmpeg's plain C code paths in this process; return why not, or None on success."""
    try:
        with open("/proc/self/maps") as fh:
            paths = sorted({line.split()[-1] for line in fh if "libavutil" in line and "/" in line})
        lib = ctypes.CDLL(paths[0])
        force, get = lib.av_force_cpu_flags, lib.av_get_cpu_flags
    except (OSError, IndexError, AttributeError) as exc:
        return repr(exc)
    force.argtypes = [ctypes.c_int]
    force(0)
    return None if get() == 0 else f"av_get_cpu_flags() = {get()} after forcing 0"


def _cpu_flags() -> int:
    with open("/proc/self/maps") as fh:
        paths = sorted({line.split()[-1] for line in fh if "libavutil" in line and "/" in line})
    return int(ctypes.CDLL(paths[0]).av_get_cpu_flags())


def _frame(av, fmt: str, y: np.ndarray, u: np.ndarray, v: np.ndarray):
    """An ``av.VideoFrame`` holding the planes (copied row by row: PyAV pads the line sizes)."""
    h, w = y.shape
    frame = av.VideoFrame(w, h, fmt)
    for plane, data in zip(frame.planes, (y, u, v)):
        rows = np.zeros((plane.height, plane.line_size), np.uint8)
        rows[:, : data.shape[1]] = data
        plane.update(rows.tobytes())
    return frame


def _scale(av, fmt: str, planes, size: int, method: str) -> np.ndarray:
    """libswscale's rgb24 output (size, size, 3) for the planes, scaled with ``method``.

    The colour range comes from the pixel format: libswscale reads ``yuvj420p`` as full range and an
    untagged ``yuv420p`` as limited. ``src_color_range`` is deliberately not passed: PyAV 12 hands the
    ``AVColorRange`` value to ``sws_setColorspaceDetails``, where 1 means full range, so "MPEG" (= 1)
    turned limited-range input into full range there (seen with 12.0.0); PyAV 18 gives the same pixels
    with or without it. One thread: slices must not matter, and PyAV 12's ``sws_scale`` used one.
    """
    frame = _frame(av, fmt, *planes)
    try:
        out = frame.reformat(size, size, format="rgb24", interpolation=method.upper(), threads=1)
    except TypeError:  # PyAV < 13 has no ``threads``: its sws_scale is single-threaded anyway
        out = frame.reformat(size, size, format="rgb24", interpolation=method.upper())
    return out.to_ndarray()


def run_mode(cpu: str) -> dict:
    """Both tables for one CPU mode ("simd": as detected, "c": all flags forced off), JSON-ready."""
    import av  # loads libavutil; no scaler exists yet, and libswscale reads the flags when one is set up
    import av.video  # noqa: F401

    if cpu == "c":
        why = _force_c_path()
        if why is not None:
            return {"cannot_force_c_path": why}

    w, h, size, method = CONSTANT_SIZE
    constants = []
    for fmt, yv, uv, vv in CONSTANT_INPUTS:
        rgb = _scale(av, fmt, constant_planes(w, h, yv, uv, vv), size, method)
        uniform = bool((rgb == rgb[0, 0]).all())
        constants.append([[fmt, yv, uv, vv], [int(c) for c in rgb[0, 0]], uniform])
    randoms = []
    for w, h, size, method in RANDOM_INPUTS:
        rgb = _scale(av, "yuv420p", random_planes(w, h), size, method)
        randoms.append([[w, h, size, method], hashlib.sha256(rgb.tobytes()).hexdigest()])
    return {
        "libswscale": ".".join(map(str, av.library_versions["libswscale"])),
        "libavutil": ".".join(map(str, av.library_versions["libavutil"])),
        "pyav": av.__version__,
        "cpu_flags": _cpu_flags(),
        "constants": constants,
        "random": randoms,
    }


# ------------------------------------------------------------------------------------------------
# Both modes, printed as the test's literals and compared with the recorded table


def _child(cpu: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--cpu", cpu, "--json"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"the {cpu} run exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def recorded_tables() -> tuple[dict, dict]:
    """LIBSWSCALE_CONSTANTS and LIBSWSCALE_RANDOM as written in test_swscale.py (read, not imported)."""
    tables = {}
    for node in ast.parse(TEST_FILE.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("LIBSWSCALE_CONSTANTS", "LIBSWSCALE_RANDOM"):
                tables[node.targets[0].id] = ast.literal_eval(node.value)
    return tables["LIBSWSCALE_CONSTANTS"], tables["LIBSWSCALE_RANDOM"]


def build_tables(simd: dict, c: dict) -> tuple[dict, dict]:
    """The two tables in the test's key format from the SIMD run and the C run."""
    constants = {}
    for (key, rgb, uniform), (_, rgb_c, uniform_c) in zip(simd["constants"], c["constants"]):
        # a constant frame must give one colour, the same with or without SIMD; say so if not
        constants[tuple(key)] = tuple(rgb) if (uniform and uniform_c and rgb == rgb_c) else None
    random = {}
    for (key, digest), (_, digest_c) in zip(simd["random"], c["random"]):
        random[(*key, True)] = digest
        if digest_c != digest:
            random[(*key, False)] = digest_c
    return constants, random


def _literal(constants: dict, random: dict, simd: dict) -> str:
    lines = [f"# (format, Y, U, V) -> RGB of a constant 480x720 frame, from libswscale {simd['libswscale']} "
             f"(PyAV {simd['pyav']}), bicubic 64x64",
             "LIBSWSCALE_CONSTANTS = {"]
    lines += [f"    {key!r}: {rgb!r}," for key, rgb in constants.items()]
    lines += ["}", "",
              f"# sha256 of the rgb24 output for _random_planes(w, h), from libswscale {simd['libswscale']} "
              f"(PyAV {simd['pyav']}); SIMD build (cpu flags {simd['cpu_flags']:#x}) and plain C "
              "(av_force_cpu_flags(0)); a False entry is printed where C differs from SIMD.",
              "LIBSWSCALE_RANDOM = {"]
    lines += [f"    {key!r}: {digest!r}," for key, digest in random.items()]
    lines.append("}")
    return "\n".join(lines)


def compare(constants: dict, random: dict) -> list[str]:
    """One line per entry of the recorded table: agrees / differs (with the new value) / not recomputed."""
    rec_constants, rec_random = recorded_tables()
    report = []
    for key, want in rec_constants.items():
        got = constants.get(key, "not recomputed")
        report.append(f"{'agree ' if got == want else 'DIFFER'}  {key!r}: recorded {want!r}, now {got!r}")
    for key, want in rec_random.items():
        got = random.get(key) or random.get((*key[:4], True), "not recomputed")  # C == SIMD: no False entry
        report.append(f"{'agree ' if got == want else 'DIFFER'}  {key!r}: recorded {want[:16]}..., "
                      f"now {str(got)[:16]}...")
    for key in sorted(set(random) - set(rec_random), key=str):
        report.append(f"NEW     {key!r}: {random[key][:16]}... (C and SIMD differ here; not in the recorded table)")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu", choices=("simd", "c"), help="run one CPU mode in this process")
    parser.add_argument("--json", action="store_true", help="print that mode's results as one JSON line")
    args = parser.parse_args(argv)
    if args.cpu:
        result = run_mode(args.cpu)
        print(json.dumps(result) if args.json else result)
        return 0
    simd, c = _child("simd"), _child("c")
    if "cannot_force_c_path" in c:
        raise SystemExit(f"cannot force FFmpeg's C path here: {c['cannot_force_c_path']}")
    if not simd["cpu_flags"]:
        print("# note: this CPU/build has no SIMD flags; both runs used the C path")
    constants, random = build_tables(simd, c)
    print(f"# recorded by tests/record_swscale_expectations.py against libswscale {simd['libswscale']}, "
          f"libavutil {simd['libavutil']}, PyAV {simd['pyav']}")
    print(_literal(constants, random, simd))
    print()
    report = compare(constants, random)
    print("# compared with the table in tests/test_swscale.py:")
    print("\n".join(f"#   {line}" for line in report))
    n_bad = sum(line.startswith("DIFFER") for line in report)
    print(f"# {len(report) - n_bad} of {len(report)} recorded entries agree with libswscale {simd['libswscale']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
