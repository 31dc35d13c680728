// Reductions and broadcasts (CPU twin: frl.backend.cpu.CpuReduce). Sums accumulate in double, as the CPU's
// do; every reduction runs in a fixed order (per-thread loops, then a fixed block tree, then partials added
// in index order), so results do not depend on scheduling. No atomics.
#include "frl_cuda.cuh"
#include "frl_index.cuh"
#include <math.h>

// Java's Math.max: NaN when either is NaN (fmaxf would drop a NaN).
__device__ inline float max_nan(float a, float b) { return isnan(a) || isnan(b) ? NAN : fmaxf(a, b); }

// Max over the block with NaN propagation; every thread gets it.
__device__ inline float block_max_nan(float v) {
    __shared__ float part[32];
    for (int o = 16; o > 0; o >>= 1) v = max_nan(v, __shfl_xor_sync(0xffffffffu, v, o));
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) part[warp] = v;
    __syncthreads();
    int warps = blockDim.x >> 5;
    float t = lane < warps ? part[lane] : -INFINITY;
    for (int o = 16; o > 0; o >>= 1) t = max_nan(t, __shfl_xor_sync(0xffffffffu, t, o));
    return t;
}

// ---- sumTo ------------------------------------------------------------------------------------------
// x seen through two index spaces: `kept` over the output's positions (row-major, as the output is laid out)
// and `summed` over the R positions that add into each; an element's offset is the sum of both offsets.

// Block u = s * outN + o adds summed positions [s * chunk, min(R, (s + 1) * chunk)) of output o into
// partial[u], its threads striding over them (grid-stride over u). Used when the innermost axis of x is
// summed, so consecutive threads read consecutive floats; S > 1 splits long sums over more blocks. With RELU, x is
// a ReLU's output y and the values added are dz = dy where y > 0, else 0, written to dz on the way (biasReluBackward:
// ReLU's backward, then these sums, in one pass: the same dz and the same partials as the two ops).
template <bool RELU>
__device__ void sum_blocks(const float* x, const float* dy, float* dz, double* partial, int outN, int R, int chunk, int S,
                           const FrlInts& kept, const FrlInts& summed) {
    for (long long u = blockIdx.x; u < (long long)outN * S; u += gridDim.x) {
        int o = (int)(u % outN), s = (int)(u / outN);
        long long base = frl_offset<0>(kept, (unsigned int)o);
        int from = s * chunk, to = (int)min((long long)R, (long long)from + chunk);
        double acc = 0.0;
        for (int r = from + threadIdx.x; r < to; r += blockDim.x) {
            long long at = base + frl_offset<0>(summed, (unsigned int)r);
            if constexpr (RELU) {
                float g = x[at] > 0.f ? dy[at] : 0.f;
                dz[at] = g;
                acc += g;
            } else {
                acc += x[at];
            }
        }
        acc = frl_block_sum<double>(acc);
        if (threadIdx.x == 0) partial[u] = acc;
    }
}

extern "C" __global__ void sum_to_blocks(const float* x, double* partial, int outN, int R, int chunk, int S,
                                         FrlInts kept, FrlInts summed) {
    sum_blocks<false>(x, nullptr, nullptr, partial, outN, R, chunk, S, kept, summed);
}

extern "C" __global__ void relu_backward_sum_to_blocks(const float* y, const float* dy, float* dz, double* partial, int outN, int R,
                                                       int chunk, int S, FrlInts kept, FrlInts summed) {
    sum_blocks<true>(y, dy, dz, partial, outN, R, chunk, S, kept, summed);
}

// Thread t = s * outN + o adds summed positions [s * chunk, min(R, (s + 1) * chunk)) of output o into
// partial[t], in order. Used when the innermost axis of x is kept: consecutive threads read consecutive floats.
extern "C" __global__ void sum_to_partials(const float* x, double* partial, int outN, int R, int chunk, int S,
                                           FrlInts kept, FrlInts summed) {
    FRL_FOR(t, (long long)outN * S) {
        int o = (int)(t % outN), s = (int)(t / outN);
        long long base = frl_offset<0>(kept, (unsigned int)o);
        int from = s * chunk, to = (int)min((long long)R, (long long)from + chunk);
        double acc = 0.0;
        for (int r = from; r < to; r++) acc += x[base + frl_offset<0>(summed, (unsigned int)r)];
        partial[t] = acc;
    }
}

// out[o] = the S partials of o added in order s = 0, 1, ...
extern "C" __global__ void sum_partials(const double* partial, float* out, int outN, int S) {
    FRL_FOR(o, outN) {
        double acc = 0.0;
        for (int s = 0; s < S; s++) acc += partial[(long long)s * outN + o];
        out[o] = (float)acc;
    }
}

// ---- broadcastTo ------------------------------------------------------------------------------------
// out[i] = x[offset of i in `space`, stride list 0]. n < 2^31.
extern "C" __global__ void broadcast_to(const float* x, float* out, long long n, FrlInts space) {
    FRL_FOR(i, n) out[i] = x[frl_offset<0>(space, (unsigned int)i)];
}

// ---- logSumExp over one axis ----------------------------------------------------------------------
// x seen as [outer, K, inner]; position p = o * inner + j reads x[o*K*inner + c*inner + j] for c < K and
// writes out[p]. As CpuReduce: shift = the max where finite, else 0; the result is max + log Σ exp(x − shift)
// when the max is finite, else the max itself (−∞ for all −∞, +∞ if any +∞, NaN if any NaN).

__device__ inline float lse_finish(float m, double sum) {
    return isfinite(m) ? (float)((double)m + log(sum)) : m;
}

// One block per position (grid-stride over positions): long class axes, or few positions.
extern "C" __global__ void lse_blocks(const float* x, float* out, int positions, int K, int inner) {
    for (int p = blockIdx.x; p < positions; p += gridDim.x) {
        const float* row = x + (long long)(p / inner) * K * inner + p % inner;
        float m = -INFINITY;
        for (int c = threadIdx.x; c < K; c += blockDim.x) m = max_nan(m, row[(long long)c * inner]);
        m = block_max_nan(m);
        float shift = isfinite(m) ? m : 0.f;
        double sum = 0.0;
        for (int c = threadIdx.x; c < K; c += blockDim.x) sum += (double)expf(row[(long long)c * inner] - shift);
        sum = frl_block_sum<double>(sum);
        if (threadIdx.x == 0) out[p] = lse_finish(m, sum);
    }
}

// One thread per position: many positions with inner > 1 (consecutive threads read consecutive floats).
extern "C" __global__ void lse_threads(const float* x, float* out, int positions, int K, int inner) {
    FRL_FOR(p, positions) {
        const float* row = x + (p / inner) * (long long)K * inner + p % inner;
        float m = -INFINITY;
        for (int c = 0; c < K; c++) m = max_nan(m, row[(long long)c * inner]);
        float shift = isfinite(m) ? m : 0.f;
        double sum = 0.0;
        for (int c = 0; c < K; c++) sum += (double)expf(row[(long long)c * inner] - shift);
        out[p] = lse_finish(m, sum);
    }
}
