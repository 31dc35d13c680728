// Strided index spaces passed as FrlInts, packed by frl.backend.cuda.IndexSpace.pack:
//   v[0]       rank r (0..8; 0 = a single element)
//   v[1..8]    the r dims, outermost first
//   v[9..16]   stride list 0: element strides of one operand over those dims (0 where it broadcasts)
//   v[17..24]  stride list 1: a second operand's strides (or another per-axis list, e.g. pad's sizes)
// Index spaces hold fewer than 2^31 elements (checked in Java), so positions decompose in 32-bit math.
#pragma once
#include "frl_cuda.cuh"

#define FRL_MAX_RANK 8
#define FRL_DIM(s, k) ((s).v[1 + (k)])
#define FRL_STRIDE(s, list, k) ((s).v[9 + 8 * (list) + (k)])

// Offset in operand LIST of position i of the space (row-major over the dims).
template <int LIST>
__device__ inline long long frl_offset(const FrlInts& s, unsigned int i) {
    int r = s.v[0];
    long long off = 0;
#pragma unroll
    for (int k = FRL_MAX_RANK - 1; k >= 0; k--) {
        if (k < r) {
            unsigned int d = (unsigned int)FRL_DIM(s, k), q = i / d;
            off += (long long)(i - q * d) * FRL_STRIDE(s, LIST, k);
            i = q;
        }
    }
    return off;
}

// Offsets in operands 0 and 1 of position i, one decomposition for both.
__device__ inline void frl_offsets2(const FrlInts& s, unsigned int i, long long& a, long long& b) {
    int r = s.v[0];
    a = 0;
    b = 0;
#pragma unroll
    for (int k = FRL_MAX_RANK - 1; k >= 0; k--) {
        if (k < r) {
            unsigned int d = (unsigned int)FRL_DIM(s, k), q = i / d, idx = i - q * d;
            a += (long long)idx * FRL_STRIDE(s, 0, k);
            b += (long long)idx * FRL_STRIDE(s, 1, k);
            i = q;
        }
    }
}
