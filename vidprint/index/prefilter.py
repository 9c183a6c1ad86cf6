"""Level-1 prefilter scan of the compact profile's dense ``int8[N, 128]`` matrix (Numba kernels).

Cosines are ``dot(q, c) / sqrt(|q|^2 |c|^2)`` with exact int32 dot products and the rows' squared
norms precomputed once per segment, the same value as :func:`vidprint.tmk.compact_level1` up to
float32 rounding (the caller keeps a small slack below the threshold, so no pair that confirmation
would accept is dropped). The scan is memory-bound (128 bytes per row); rows are split across
threads (the kernels release the GIL), and a batch of queries is scanned block by block so each row
is read from memory once for the whole batch (that scan is compute-bound: int32 dot products that
LLVM turns into 16-bit multiply-adds).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import int32, njit

DIM = 128
_BLOCK = 256  # rows per block in the batched scan (32 KB of codes: stays in L1/L2 across the batch)
_pool: ThreadPoolExecutor | None = None


def _threads() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=_threads(), thread_name_prefix="vidprint-scan")
    return _pool


def _forget_pool() -> None:  # a forked child (batch workers, Dask) must not reuse the parent's threads
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_pool)


@njit(cache=True, nogil=True, fastmath=True)
def _norms_sq(codes, out):
    # float32 sums of integer squares are exact (< 2^24), whatever order fastmath picks
    for r in range(codes.shape[0]):
        s = np.float32(0.0)
        for i in range(DIM):
            x = np.float32(codes[r, i])
            s += x * x
        out[r] = np.int32(s)


@njit(cache=True, nogil=True)
def _scores(codes, norms_sq, q, qq, lo, hi, out):
    for r in range(lo, hi):
        dot = np.int32(0)
        for i in range(DIM):
            dot += np.int32(codes[r, i]) * np.int32(q[i])
        den = np.float64(norms_sq[r]) * qq
        out[r] = np.float32(dot / np.sqrt(den)) if den > 0 else np.float32(0.0)


@njit(cache=True, nogil=True, fastmath=True)
def _scan_many(codes, norms_sq, qs, qn, threshold, lo, hi, oq, orow, osc):
    """(query, row, cosine) for every cosine >= threshold, rows lo..hi, block by block, written to
    ``oq``, ``orow``, ``osc``; returns how many there are (if more than fit, only the count goes on:
    the caller retries with room for all).

    ``qs``: int8[B, 128] queries, ``qn``: their norms (float64). Dot products in int32 (exact; the
    ``int32`` casts let LLVM use 16-bit multiply-add instructions), a block of rows reused from
    cache by every query of the batch. A dot product is compared with ``threshold * |row| * |query|``
    (no division per pair), with a 1e-6 relative margin so the rounding of that bound never drops a
    pair; the caller applies the exact test to the cosines of the few that pass. (The outputs are
    preallocated: growing arrays inside the loop made it several times slower.)
    """
    nq = qs.shape[0]
    cap = oq.shape[0]
    bound = np.empty(_BLOCK, np.float64)
    dots = np.empty(_BLOCK, np.int32)
    t = threshold - 1e-6 * abs(threshold)
    n = 0
    for b0 in range(lo, hi, _BLOCK):
        b1 = min(b0 + _BLOCK, hi)
        for j in range(nq):
            for r in range(b0, b1):
                acc = int32(0)
                for i in range(DIM):
                    acc += int32(codes[r, i]) * int32(qs[j, i])
                dots[r - b0] = acc
            tj = t * qn[j]
            for r in range(b0, b1):
                bound[r - b0] = tj * np.sqrt(np.float64(norms_sq[r]))
            for r in range(b1 - b0):
                if dots[r] >= bound[r] and bound[r] != 0.0:
                    if n < cap:
                        oq[n] = j
                        orow[n] = b0 + r
                        osc[n] = dots[r] / (qn[j] * np.sqrt(np.float64(norms_sq[b0 + r])))
                    n += 1
    return n


def _codes(codes: np.ndarray) -> np.ndarray:
    c = np.ascontiguousarray(codes)
    if c.dtype == np.uint8:
        c = c.view(np.int8)
    if c.dtype != np.int8 or c.ndim != 2 or c.shape[1] != DIM:
        raise ValueError(f"codes must be int8[N, {DIM}], got {c.dtype}{list(c.shape)}")
    return c


def norms_sq(codes: np.ndarray) -> np.ndarray:
    """Squared norms of the rows: int32[N] (at most 128 * 127^2, no overflow)."""
    c = _codes(codes)
    out = np.empty(c.shape[0], np.int32)
    _norms_sq(c, out)
    return out


def _chunks(n: int, parts: int) -> list[tuple[int, int]]:
    step = -(-n // parts) if n else 1
    return [(lo, min(lo + step, n)) for lo in range(0, n, step)] or [(0, 0)]


def scores(codes: np.ndarray, nsq: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Cosine of ``query`` (int8[128]) with every row: float32[N]."""
    c = _codes(codes)
    q = _codes(np.asarray(query).reshape(1, DIM))[0]
    qq = float(np.dot(q.astype(np.int64), q.astype(np.int64)))
    out = np.empty(c.shape[0], np.float32)
    parts = _chunks(c.shape[0], _threads() if c.shape[0] >= 65536 else 1)
    if len(parts) == 1:
        _scores(c, nsq, q, qq, parts[0][0], parts[0][1], out)
    else:
        list(_executor().map(lambda p: _scores(c, nsq, q, qq, p[0], p[1], out), parts))
    return out


def scan_many(codes: np.ndarray, nsq: np.ndarray, queries: np.ndarray, threshold: float
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (query index, row, cosine) with cosine >= ``threshold``, for int8[B, 128] ``queries``:
    ``(int32[P], int64[P], float32[P])``, in no particular order."""
    c = _codes(codes)
    qs = _codes(np.asarray(queries).reshape(-1, DIM))
    b = qs.shape[0]
    qn = np.sqrt(np.einsum("ij,ij->i", qs.astype(np.float64), qs.astype(np.float64)))
    parts = _chunks(c.shape[0], _threads() if c.shape[0] * b >= 65536 else 1)

    def part(p: tuple[int, int]):
        cap = 4096
        while True:
            out = (np.empty(cap, np.int32), np.empty(cap, np.int64), np.empty(cap, np.float64))
            n = _scan_many(c, nsq, qs, qn, float(threshold), p[0], p[1], *out)
            if n <= cap:
                return tuple(x[:n] for x in out)
            cap = n

    res = list(_executor().map(part, parts))
    qi, rows, sc = (np.concatenate(x) for x in zip(*res))
    keep = sc >= threshold  # the kernel's margin may let a hair below through: the exact test here
    return qi[keep], rows[keep], sc[keep].astype(np.float32)
