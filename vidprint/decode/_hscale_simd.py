"""The horizontal pass of the scaled conversion (libswscale's ``hScale8To15``) as a hand-written LLVM
vector kernel (Numba intrinsic), exact bit for bit.

Pixels and 14-bit taps are int16, products are summed exactly in int32 (the pmaddwd / vpdpwssd pattern
that LLVM selects on x86), 8, 16 or 32 taps per vector load, 16 outputs per block; the 16 partial-sum
vectors of a block are reduced together by a shuffle tree. Integer sums are exact in any order.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core.extending import intrinsic

#: Outputs per horizontal block.
BLOCK_OUT = 16
#: int16 taps per vector load; a filter uses the smallest that is >= its length.
CHUNKS = (8, 16, 32)


def _shuffle(builder, a, b, idx):
    return builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(ir.IntType(32), len(idx)), idx))


def _make_hscale_block(chunk: int):
    """Numba intrinsic computing one block of 16 horizontal outputs with ``chunk``-tap vector loads."""
    width = chunk // 2  # int32 partial sums per output after the pairwise multiply-add

    @intrinsic
    def hscale_block(typingctx, row, pos, coef, x0, n_chunks, out):
        """``out[x0+k] = min((sum_t row[pos[x0+k] + t] * coef[x0+k, t]) >> 7, 32767)``, k < 16.

        ``row`` int16[:], ``pos`` int32[:], ``coef`` int16[:, chunk * n_chunks] (C order),
        ``out`` int32[:]. Reads ``row[pos[x] : pos[x] + chunk * n_chunks]``.
        """
        sig = types.void(row, pos, coef, x0, n_chunks, out)

        def codegen(context, builder, signature, args):
            row_t, pos_t, coef_t, _, _, out_t = signature.args
            row_v, pos_v, coef_v, x0_v, chunks_v, out_v = args
            row_a = context.make_array(row_t)(context, builder, row_v)
            pos_a = context.make_array(pos_t)(context, builder, pos_v)
            coef_a = context.make_array(coef_t)(context, builder, coef_v)
            out_a = context.make_array(out_t)(context, builder, out_v)
            i64, i32, i16 = ir.IntType(64), ir.IntType(32), ir.IntType(16)
            taps_t = ir.VectorType(i16, chunk)
            wide_t = ir.VectorType(i32, chunk)
            part_t = ir.VectorType(i32, width)
            res_t = ir.VectorType(i32, BLOCK_OUT)
            if x0_v.type.width < 64:
                x0_v = builder.sext(x0_v, i64)
            if chunks_v.type.width < 64:
                chunks_v = builder.sext(chunks_v, i64)
            coef_stride = cgutils.unpack_tuple(builder, coef_a.strides, 2)[0]
            coef_bytes = builder.bitcast(coef_a.data, ir.IntType(8).as_pointer())
            src_ptrs, tap_ptrs = [], []
            for k in range(BLOCK_OUT):
                x = builder.add(x0_v, ir.Constant(i64, k))
                p = builder.sext(builder.load(builder.gep(pos_a.data, [x])), i64)
                src_ptrs.append(builder.gep(row_a.data, [p]))
                tap_ptrs.append(builder.bitcast(builder.gep(coef_bytes, [builder.mul(x, coef_stride)]),
                                                i16.as_pointer()))
            accs = [cgutils.alloca_once_value(builder, ir.Constant(part_t, [0] * width))
                    for _ in range(BLOCK_OUT)]
            even = list(range(0, chunk, 2))
            odd = list(range(1, chunk, 2))
            with cgutils.for_range(builder, chunks_v) as loop:
                off = builder.mul(loop.index, ir.Constant(i64, chunk))
                for k in range(BLOCK_OUT):
                    a = builder.load(builder.bitcast(builder.gep(src_ptrs[k], [off]), taps_t.as_pointer()),
                                     align=2)
                    c = builder.load(builder.bitcast(builder.gep(tap_ptrs[k], [off]), taps_t.as_pointer()),
                                     align=2)
                    m = builder.mul(builder.sext(a, wide_t), builder.sext(c, wide_t))
                    pairs = builder.add(_shuffle(builder, m, m, even), _shuffle(builder, m, m, odd))
                    builder.store(builder.add(builder.load(accs[k]), pairs), accs[k])
            vecs = [builder.load(a) for a in accs]
            # Concatenate partial-sum vectors up to 16 lanes, then transpose-reduce: each level pairs
            # vectors, halving the partial sums per output; the last leaves the 16 totals in order.
            n_lanes = width
            while n_lanes < BLOCK_OUT:
                idx = list(range(2 * n_lanes))
                vecs = [_shuffle(builder, vecs[2 * i], vecs[2 * i + 1], idx) for i in range(len(vecs) // 2)]
                n_lanes *= 2
            group = width
            while group > 1:
                half = group // 2
                lo, hi = [], []
                for g in range(BLOCK_OUT // group):
                    lo += [g * group + i for i in range(half)]
                    hi += [g * group + half + i for i in range(half)]
                lo += [BLOCK_OUT + i for i in lo]
                hi += [BLOCK_OUT + i for i in hi]
                vecs = [builder.add(_shuffle(builder, vecs[2 * i], vecs[2 * i + 1], lo),
                                    _shuffle(builder, vecs[2 * i], vecs[2 * i + 1], hi))
                        for i in range(len(vecs) // 2)]
                group = half
            res = builder.ashr(vecs[0], ir.Constant(res_t, [7] * BLOCK_OUT))
            limit = ir.Constant(res_t, [32767] * BLOCK_OUT)
            res = builder.select(builder.icmp_signed(">", res, limit), limit, res)
            builder.store(res, builder.bitcast(builder.gep(out_a.data, [x0_v]), res_t.as_pointer()), align=4)
            return context.get_dummy_value()

        return sig, codegen

    return hscale_block


_hscale_block8 = _make_hscale_block(8)
_hscale_block16 = _make_hscale_block(16)
_hscale_block32 = _make_hscale_block(32)


@njit(cache=True, nogil=True)
def hscale_plane(plane, n_cols, rows_read, pos, coef, chunk, out):
    """``hScale8To15`` of every flagged row of ``plane[:, :n_cols]`` into ``out`` (int32[rows, >= n_out]).

    ``pos`` / ``coef`` are padded to a multiple of 16 outputs and of ``chunk`` taps (:func:`vidprint.decode._swscale_filters._padded_taps`).
    """
    n_chunks = coef.shape[1] // chunk
    row = np.zeros(n_cols + coef.shape[1], dtype=np.int16)
    for r in range(rows_read.shape[0]):
        if rows_read[r] == 0:
            continue
        src = plane[r]
        for i in range(n_cols):
            row[i] = src[i]
        dst = out[r]
        for x0 in range(0, pos.shape[0], BLOCK_OUT):
            if chunk == 8:
                _hscale_block8(row, pos, coef, x0, n_chunks, dst)
            elif chunk == 16:
                _hscale_block16(row, pos, coef, x0, n_chunks, dst)
            else:
                _hscale_block32(row, pos, coef, x0, n_chunks, dst)

