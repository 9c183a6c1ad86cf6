"""The 256-bit PDQ hash: storage, hex/bytes round trip and Hamming distance.

Storage convention used everywhere in vidprint: a hash is four ``uint64`` words, word 0 holding the
most significant 64 bits of the reference hex string (hex digits 0-15), word 3 the least significant
(digits 48-63). Arrays of hashes are C-contiguous ``uint64[N, 4]``. With this layout the hex string,
``bytes.fromhex(hex)`` (python-threatexchange / faiss order) and the words all read the same bits in
the same order, and bit ``k = 16*u + v`` of the DCT (docs/algorithms.md §1.8) is bit ``k % 64`` of word
``3 - k // 64``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, types
from numba.core.extending import intrinsic

from vidprint.errors import InvalidArgumentError

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def hex_to_words(hex_str: str) -> np.ndarray:
    """Parse a 64-digit hex PDQ hash into ``uint64[4]``. Raises ``ValueError`` on bad input."""
    if len(hex_str) != 64 or not _HEX_DIGITS.issuperset(hex_str):
        raise InvalidArgumentError("hash", f"a PDQ hash is 64 hex digits, got {hex_str!r:.80}")
    return np.array([int(hex_str[i : i + 16], 16) for i in range(0, 64, 16)], dtype=np.uint64)


def words_to_hex(words: np.ndarray) -> str:
    """``uint64[4]`` -> 64 lowercase hex digits."""
    return "".join(f"{int(w):016x}" for w in words)


def hexes_to_words(hexes) -> np.ndarray:
    """Parse many 64-digit hex hashes into ``uint64[N, 4]`` (one ``bytes.fromhex`` for all of them).

    Raises ``ValueError`` naming the first entry that is not 64 hex digits.
    """
    hexes = list(hexes)
    n = len(hexes)
    if n == 0:
        return np.empty((0, 4), dtype=np.uint64)
    try:
        raw = bytes.fromhex("".join(hexes)) if all(len(h) == 64 for h in hexes) else b""
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 32 * n:  # a wrong length, a non-hex digit, or whitespace (fromhex skips it)
        for h in hexes:
            hex_to_words(h)  # raises, naming the bad one
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(n, 4)


def words_to_hexes(words: np.ndarray) -> list[str]:
    """``uint64[N, 4]`` -> N strings of 64 lowercase hex digits."""
    h = np.ascontiguousarray(words, dtype=np.uint64).astype(">u8").tobytes().hex()
    return [h[i : i + 64] for i in range(0, len(h), 64)]


@intrinsic
def _ctpop(typingctx, x):
    """LLVM ``ctpop`` on a uint64: one POPCNT instruction where the CPU has it, a portable expansion
    otherwise (much faster than a SWAR popcount)."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


@njit(cache=True, nogil=True, inline="always")
def popcount64(x):
    """Number of set bits of a ``uint64`` (int64). Callable from other Numba kernels."""
    return np.int64(_ctpop(x))


@njit(cache=True, nogil=True, inline="always")
def hamming_rows(a, i, b, j):
    """Hamming distance of hash ``a[i]`` and hash ``b[j]`` (``uint64[N, 4]`` arrays), for kernels."""
    return (popcount64(a[i, 0] ^ b[j, 0]) + popcount64(a[i, 1] ^ b[j, 1])
            + popcount64(a[i, 2] ^ b[j, 2]) + popcount64(a[i, 3] ^ b[j, 3]))


@njit(cache=True, nogil=True)
def _hamming_pairs(a, b, out):
    for i in range(a.shape[0]):
        out[i] = hamming_rows(a, i, b, i)


@njit(cache=True, nogil=True)
def _hamming_matrix(a, b, out):
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            out[i, j] = hamming_rows(a, i, b, j)


def _as_words(x) -> np.ndarray:
    if isinstance(x, PDQHash):
        return x.words.reshape(1, 4)
    arr = np.ascontiguousarray(x, dtype=np.uint64)
    if arr.ndim == 1:
        arr = arr.reshape(1, 4)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise InvalidArgumentError("hashes", f"hash arrays are uint64[N, 4], got shape {arr.shape}")
    return arr


def hamming(a, b) -> np.ndarray:
    """Element-wise Hamming distance of two hash arrays ``uint64[N, 4]`` (or one hash against N).

    Returns ``int32[N]``, each in 0..256.
    """
    a, b = _as_words(a), _as_words(b)
    if a.shape[0] == 1 and b.shape[0] > 1:
        a = np.ascontiguousarray(np.broadcast_to(a, b.shape))
    elif b.shape[0] == 1 and a.shape[0] > 1:
        b = np.ascontiguousarray(np.broadcast_to(b, a.shape))
    if a.shape != b.shape:
        raise InvalidArgumentError("hashes", f"cannot pair {a.shape[0]} hashes with {b.shape[0]}")
    out = np.empty(a.shape[0], dtype=np.int32)
    _hamming_pairs(a, b, out)
    return out


def hamming_matrix(a, b) -> np.ndarray:
    """All-pairs Hamming distances: ``uint64[N, 4]`` x ``uint64[M, 4]`` -> ``int32[N, M]``."""
    a, b = _as_words(a), _as_words(b)
    out = np.empty((a.shape[0], b.shape[0]), dtype=np.int32)
    _hamming_matrix(a, b, out)
    return out


@dataclass(frozen=True, eq=False)
class PDQHash:
    """One PDQ hash with its quality (0..100). ``a - b`` is the Hamming distance (0..256).

    >>> h = PDQHash.from_hex("f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", 100)
    >>> h - h
    0
    """

    words: np.ndarray  # uint64[4], word 0 = most significant; a private read-only copy
    quality: int = 0

    def __post_init__(self) -> None:
        words = np.array(self.words, dtype=np.uint64, copy=True).reshape(-1)
        if words.shape != (4,):
            raise InvalidArgumentError("hash", f"a PDQ hash is 4 uint64 words, got shape {np.shape(self.words)}")
        words.flags.writeable = False  # truly immutable: hash() and == cannot change behind a dict's back
        object.__setattr__(self, "words", words)
        object.__setattr__(self, "quality", int(self.quality))

    @classmethod
    def from_hex(cls, hex_str: str, quality: int = 0) -> "PDQHash":
        return cls(hex_to_words(hex_str), int(quality))

    @classmethod
    def from_bytes(cls, data: bytes, quality: int = 0) -> "PDQHash":
        """32 bytes in ``bytes.fromhex(hex)`` order (python-threatexchange, faiss)."""
        if len(data) != 32:
            raise InvalidArgumentError("hash", f"a PDQ hash is 32 bytes, got {len(data)}")
        return cls(np.frombuffer(data, dtype=">u8").astype(np.uint64), int(quality))

    @property
    def hex(self) -> str:
        return words_to_hex(self.words)

    def __bytes__(self) -> bytes:
        return self.words.astype(">u8").tobytes()

    def bits(self) -> np.ndarray:
        """``uint8[256]`` with element ``k`` = bit ``k`` (= DCT coefficient ``16*u + v`` above the median)."""
        be = np.unpackbits(np.frombuffer(bytes(self), dtype=np.uint8))  # MSB first: bit 255 .. bit 0
        return be[::-1].copy()

    def __sub__(self, other: "PDQHash") -> int:
        if not isinstance(other, PDQHash):
            return NotImplemented
        return int(hamming(self.words, other.words)[0])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PDQHash) and bool(np.array_equal(self.words, other.words))

    def __hash__(self) -> int:
        return hash(bytes(self))

    def __str__(self) -> str:
        return self.hex

    def __repr__(self) -> str:
        return f"PDQHash('{self.hex}', quality={self.quality})"
