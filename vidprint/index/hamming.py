"""Exact Hamming range search of 256-bit PDQ hashes: multi-index hashing (Numba kernels).

A :class:`HashTable` over ``uint64[M, 4]`` hashes keeps, for each of the 16 16-bit substrings
("slots"), the rows sorted by slot value (CSR: ``offsets int32[16, 65537]``, ``rows int32[16, M]``),
each with a copy of 96 other bits of its hash (``chunks uint64[16, M]``, ``halves uint32[16, M]``: a
lower-bound filter read with the bucket, see :func:`_search`).
Pigeonhole: if two hashes are within ``d`` bits, at least one of the 16 slots differs by at most
``d // 16`` bits, so probing, in every slot, each value within ``r = d // 16`` bits of the query's
(1 probe for r = 0, 17 for r = 1, 137 for r = 2) finds every pair; each candidate is then checked
with the full 256-bit distance. The result is exactly brute force's (the tests check it against an
independent numpy popcount). Distances >= 48 (r > 2) fall back to the brute-force scan.

Memory: 256 bytes per indexed hash (16 x (4-byte row + 12 bytes of copied bits)) plus 4 MB of offsets, so
tables are only built for segments with at least :data:`MIN_TABLE_ROWS` hashes; smaller ones are
scanned.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from vidprint.pdqf.hash import hamming_rows, popcount64

N_SLOTS = 16
MIN_TABLE_ROWS = 20_000
_SLOT_MASK = np.uint64(0xFFFF)
_LOW32 = np.uint64(0xFFFFFFFF)
_MIN_ROWS_PER_THREAD = 16  # query rows; fewer are searched on the calling thread
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1)), thread_name_prefix="vidprint-mih")
    return _pool


def _forget_pool() -> None:  # a forked child (batch workers, Dask) must not reuse the parent's threads
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_pool)


@njit(cache=True, nogil=True, inline="always")
def _slot(words, i, s):
    return np.int64((words[i, s >> 2] >> np.uint64(16 * (s & 3))) & _SLOT_MASK)


@njit(cache=True, nogil=True)
def _grow(arr, n):
    out = np.empty(max(2 * arr.shape[0], 4096), dtype=arr.dtype)
    out[:n] = arr[:n]
    return out


@njit(cache=True, nogil=True)
def _build_slot(c, s, offsets, rows, chunks, halves):
    """CSR lists of slot ``s`` (one row of each output array)."""
    m = c.shape[0]
    for j in range(m):
        offsets[_slot(c, j, s) + 1] += 1
    for v in range(65536):
        offsets[v + 1] += offsets[v]
    fill = offsets[:65536].copy()
    w2 = ((s >> 2) + 1) & 3
    w3 = ((s >> 2) + 2) & 3
    for j in range(m):
        v = _slot(c, j, s)
        k = fill[v]
        rows[k] = j
        chunks[k] = c[j, w2]
        halves[k] = np.uint32(c[j, w3] & _LOW32)
        fill[v] = k + 1


def _build(c: np.ndarray):
    m = c.shape[0]
    offsets = np.zeros((N_SLOTS, 65537), dtype=np.int32)
    rows = np.empty((N_SLOTS, m), dtype=np.int32)
    chunks = np.empty((N_SLOTS, m), dtype=np.uint64)
    halves = np.empty((N_SLOTS, m), dtype=np.uint32)
    list(_executor().map(lambda s: _build_slot(c, s, offsets[s], rows[s], chunks[s], halves[s]), range(N_SLOTS)))
    return offsets, rows, chunks, halves


@njit(cache=True, nogil=True)
def _search(q, c, cq, min_quality, offsets, rows, chunks, halves, max_dist, radius):
    """(qi, cj, d) of every pair within max_dist with cq[j] >= min_quality; grouped by qi.

    Each bucket entry carries a copy of 96 other bits of its hash (one 64-bit word and half of
    another, neither holding the slot), so ``slot distance + popcount(copy xor query bits)`` is a
    lower bound on the distance, read sequentially with the bucket: unrelated hashes differ in about
    48 of those 96 bits, so nearly all are dropped without a random access to their full hash.
    A pair is reported from the first slot whose probe finds it (the earlier slots are re-checked
    on the full hash), so no "seen" array is needed.
    """
    qi = np.empty(4096, dtype=np.int32)
    cj = np.empty(4096, dtype=np.int32)
    dd = np.empty(4096, dtype=np.int16)
    n = 0
    probes = np.empty(137, dtype=np.int64)
    pdist = np.empty(137, dtype=np.int64)
    for i in range(q.shape[0]):
        for s in range(N_SLOTS):
            v = _slot(q, i, s)
            qw = q[i, ((s >> 2) + 1) & 3]
            qh = np.uint64(q[i, ((s >> 2) + 2) & 3] & _LOW32)
            npr = 1
            probes[0] = v
            pdist[0] = 0
            if radius >= 1:
                for a in range(16):
                    va = v ^ (1 << a)
                    probes[npr] = va
                    pdist[npr] = 1
                    npr += 1
                    if radius >= 2:
                        for b in range(a + 1, 16):
                            probes[npr] = va ^ (1 << b)
                            pdist[npr] = 2
                            npr += 1
            for p in range(npr):
                pv = probes[p]
                ds = pdist[p]
                for k in range(offsets[s, pv], offsets[s, pv + 1]):
                    if ds + np.int64(popcount64(qw ^ chunks[s, k])) + np.int64(popcount64(qh ^ np.uint64(halves[s, k]))) > max_dist:
                        continue
                    j = rows[s, k]
                    if cq[j] < min_quality:
                        continue
                    d = hamming_rows(q, i, c, j)
                    if d > max_dist:
                        continue
                    dup = False
                    for t in range(s):
                        if np.int64(popcount64(np.uint64(_slot(q, i, t) ^ _slot(c, j, t)))) <= radius:
                            dup = True
                            break
                    if dup:
                        continue
                    if n == qi.shape[0]:
                        qi = _grow(qi, n)
                        cj = _grow(cj, n)
                        dd = _grow(dd, n)
                    qi[n] = i
                    cj[n] = j
                    dd[n] = d
                    n += 1
    return qi[:n].copy(), cj[:n].copy(), dd[:n].copy()


@njit(cache=True, nogil=True)
def _scan(q, c, cq, min_quality, max_dist):
    """Brute force: same output as _search, in (i, j) order."""
    qi = np.empty(4096, dtype=np.int32)
    cj = np.empty(4096, dtype=np.int32)
    dd = np.empty(4096, dtype=np.int16)
    n = 0
    for i in range(q.shape[0]):
        for j in range(c.shape[0]):
            d = hamming_rows(q, i, c, j)
            if d <= max_dist and cq[j] >= min_quality:
                if n == qi.shape[0]:
                    qi = _grow(qi, n)
                    cj = _grow(cj, n)
                    dd = _grow(dd, n)
                qi[n] = i
                cj[n] = j
                dd[n] = d
                n += 1
    return qi[:n].copy(), cj[:n].copy(), dd[:n].copy()


def _words(x: np.ndarray, name: str) -> np.ndarray:
    w = np.ascontiguousarray(x, dtype=np.uint64)
    if w.size == 0:
        w = w.reshape(0, 4)
    if w.ndim != 2 or w.shape[1] != 4:
        raise ValueError(f"{name} must be uint64[N, 4], got shape {np.shape(x)}")
    return w


class HashTable:
    """Exact range search over fixed ``uint64[M, 4]`` hashes with per-row quality ``uint8[M]``.

    ``use_index``: None = build the multi-index when ``M >= MIN_TABLE_ROWS``; True / False forces it.
    """

    def __init__(self, words: np.ndarray, quality: np.ndarray | None = None, use_index: bool | None = None):
        self.words = _words(words, "words")
        m = self.words.shape[0]
        self.quality = (np.full(m, 100, np.uint8) if quality is None
                        else np.ascontiguousarray(quality, dtype=np.uint8).reshape(-1))
        if self.quality.shape[0] != m:
            raise ValueError(f"quality has {self.quality.shape[0]} rows for {m} hashes")
        if use_index is None:
            use_index = m >= MIN_TABLE_ROWS
        self.offsets = self.rows = self.chunks = self.halves = None
        if use_index and m:
            self.offsets, self.rows, self.chunks, self.halves = _build(self.words)

    def __len__(self) -> int:
        return int(self.words.shape[0])

    @property
    def nbytes(self) -> int:
        extra = 0 if self.offsets is None else self.offsets.nbytes + self.rows.nbytes + self.chunks.nbytes + self.halves.nbytes
        return self.words.nbytes + self.quality.nbytes + extra

    def search(self, q: np.ndarray, max_dist: int = 31, min_quality: int = 0
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (query row, table row, distance) with distance <= ``max_dist`` (inclusive) and table
        quality >= ``min_quality``: ``(int32[P], int32[P], int16[P])``, sorted by query row.

        Identical query rows are searched once (a dense query of a static shot has many), and the
        distinct rows are split across threads (the kernels release the GIL).
        """
        q = _words(q, "query")
        max_dist = int(max_dist)
        e32 = np.empty(0, dtype=np.int32)
        if max_dist < 0 or q.shape[0] == 0 or len(self) == 0:
            return e32, e32.copy(), np.empty(0, dtype=np.int16)
        uq, inv = np.unique(q, axis=0, return_inverse=True)
        uq = np.ascontiguousarray(uq)
        inv = inv.reshape(-1)
        radius = max_dist // 16
        if self.offsets is None or radius > 2:
            def run(lo: int, hi: int):
                return _scan(uq[lo:hi], self.words, self.quality, int(min_quality), max_dist)
        else:
            def run(lo: int, hi: int):
                return _search(uq[lo:hi], self.words, self.quality, int(min_quality), self.offsets, self.rows,
                               self.chunks, self.halves, max_dist, radius)
        n = uq.shape[0]
        parts = max(1, min(_executor()._max_workers, n // _MIN_ROWS_PER_THREAD))
        bounds = [(n * k // parts, n * (k + 1) // parts) for k in range(parts)]
        if parts == 1:
            results = [run(0, n)]
        else:
            results = list(_executor().map(lambda b: run(*b), bounds))
        ui = np.concatenate([r[0] + lo for r, (lo, _) in zip(results, bounds)])
        cj = np.concatenate([r[1] for r in results])
        dd = np.concatenate([r[2] for r in results])
        return _expand(ui, cj, dd, inv, n)


def _expand(ui: np.ndarray, cj: np.ndarray, dd: np.ndarray, inv: np.ndarray, n_unique: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of distinct query rows -> pairs of every original row (``inv``: original -> distinct)."""
    order = np.argsort(inv, kind="stable")  # original rows grouped by distinct row
    counts = np.bincount(inv, minlength=n_unique)
    start = np.zeros(n_unique, np.int64)
    start[1:] = np.cumsum(counts)[:-1]
    rep = counts[ui]
    total = int(rep.sum())
    first = np.repeat(np.cumsum(rep) - rep, rep)
    k = np.arange(total) - first
    qi = order[np.repeat(start[ui], rep) + k].astype(np.int32)
    cj = np.repeat(cj, rep)
    dd = np.repeat(dd, rep)
    o = np.argsort(qi, kind="stable")
    return qi[o], cj[o], dd[o]
