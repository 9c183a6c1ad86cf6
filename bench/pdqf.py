"""Benchmark: vidprint PDQ vs PyPI ``pdqhash`` on the same RGB arrays, single thread.

Run with the benchmark venv (which has ``pdqhash``)::

    python bench/pdqf.py [--repeats 7] [--seconds 0.5]

Prints frames per second per core (median over repeats, CPU time of this thread, so that other load on
the machine does not count) for 64x64, 128x128, 640x360 and 1920x1080 inputs, random and real (the
reference "bridge" photo resized by nearest neighbour), and the ratio vidprint / pdqhash. Numba compile
time is excluded (warm-up call first). Also checks that both give the same hashes on these inputs
(``luma="f64"`` is pdqhash's arithmetic; the default ``"f32"`` is the C++ reference's).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from vidprint import pdqf as P  # noqa: E402

try:
    import pdqhash
except ImportError:  # reported below
    pdqhash = None

SIZES = [(64, 64), (128, 128), (640, 360), (1920, 1080)]  # (width, height)
BRIDGE = ROOT.parent / "shared" / "reference-data" / "threatexchange" / "pdq-images" / "bridge-mods__aaa-orig.jpg"


def _real_image() -> np.ndarray | None:
    try:
        from PIL import Image
    except ImportError:
        return None
    if not BRIDGE.is_file():
        return None
    return np.asarray(Image.open(BRIDGE).convert("RGB"))


def _resize_nearest(img: np.ndarray, w: int, h: int) -> np.ndarray:
    rows = (np.arange(h) * img.shape[0]) // h
    cols = (np.arange(w) * img.shape[1]) // w
    return np.ascontiguousarray(img[rows][:, cols])


def _per_call_seconds(fn, arg, repeats: int, seconds: float) -> float:
    """Median over ``repeats`` of the mean thread CPU time per call, each repeat lasting ~``seconds``."""
    fn(arg)  # warm-up (Numba compile, caches)
    t0 = time.thread_time()
    fn(arg)
    once = max(time.thread_time() - t0, 1e-6)
    n = max(1, int(seconds / once))
    samples = []
    for _ in range(repeats):
        t0 = time.thread_time()
        for _ in range(n):
            fn(arg)
        samples.append((time.thread_time() - t0) / n)
    return statistics.median(samples)


def _pdqhash_hex(img: np.ndarray) -> str:
    bits, _ = pdqhash.compute(img)
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=0.5, help="duration of one repeat")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    real = _real_image()
    if pdqhash is None:
        print("pdqhash is not installed in this interpreter: timing vidprint only "
              "(install it with `pip install pdqhash` in a benchmark environment)")
    if real is None:
        print("Pillow or the reference image is missing: random inputs only")

    print(f"{'size':>10} {'input':>6} {'vidprint f/s':>13} {'luma-batch f/s':>15} {'pdqhash f/s':>12} {'ratio':>7} {'same hash':>9}")
    for w, h in SIZES:
        inputs = {"random": rng.integers(0, 256, (h, w, 3), dtype=np.uint8)}
        if real is not None:
            inputs["real"] = _resize_nearest(real, w, h)
        for kind, img in inputs.items():
            t_v = _per_call_seconds(P.hash_image, img, args.repeats, args.seconds)
            luma = P.luma_from_rgb(img)[None]
            t_b = _per_call_seconds(P.hash_luma_batch, luma, args.repeats, args.seconds)
            row = f"{w}x{h:<5} {kind:>6} {1 / t_v:13.0f} {1 / t_b:15.0f}"
            if pdqhash is not None:
                t_p = _per_call_seconds(pdqhash.compute, img, args.repeats, args.seconds)
                same = _pdqhash_hex(img) == P.hash_image(img, luma="f64").hex
                row += f" {1 / t_p:12.0f} {t_p / t_v:7.2f} {str(same):>9}"
            print(row, flush=True)
    print("f/s = frames per second per core (thread CPU time, median of repeats); ratio = vidprint / pdqhash;")
    print("vidprint = hash_image(RGB) incl. luma; luma-batch = hash_luma_batch on a precomputed float32 luma.")


if __name__ == "__main__":
    main()
