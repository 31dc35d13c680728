// Fused softmax cross-entropy with class targets (CPU twin: frl.backend.cpu.CpuLoss). Logits are viewed as
// [outer, C, inner]; a "position" p in [0, outer·inner) is (o, j) = (p / inner, p % inner) and its class c
// lives at x[o·C·inner + c·inner + j]. Probabilities are never stored.
//
// Semantics shared with the CPU (including non-finite logits):
//   max   = max over classes, NaN if any logit is NaN
//   shift = max if finite, else 0
//   sum   = Σ exp(x − shift)
//   loss  = (max finite ? max + log(sum) : max) − x[target]
//   dx    = exp(x − shift) · (dloss / sum), minus dloss at the target
// Targets are floats holding class indices; a target that is not an integer in [0, C) gets a NaN loss (and no
// one-hot term in dx, never an out-of-bounds read) and its position is recorded with atomicMin in *bad
// (initialised to all ones by the host), so the host can raise the CPU's error for the first bad position.
//
// Two layouts:
//   tile kernels (inner > 1): blocks of 32 × 8 threads; the 32 lanes of a warp take 32 consecutive positions
//     (consecutive addresses for a fixed class: coalesced), the 8 warps split the classes c ≡ threadIdx.y
//     (mod 8). With `cached` the block keeps its C × 32 logits in dynamic shared memory, so the logits are
//     read from global memory exactly once per kernel.
//   row kernels (inner == 1): one block of 256 threads per row of C contiguous classes.
#include "frl_cuda.cuh"
#include <math.h>

#define CE_LANES 32
#define CE_ROWS 8

// Java's Math.max for floats: NaN wins.
__device__ __forceinline__ float ce_max(float m, float v) { return (v > m || v != v) ? v : m; }

// Class index of a target, or -1 when it is not an integer in [0, classes) (NaN included): the check of
// frl.backend.Shapes.classIndex.
__device__ __forceinline__ int ce_class(float t, int classes) {
    if (t >= 0.f && t < (float)classes && t == truncf(t)) return (int)t;
    return -1;
}

__device__ __forceinline__ void ce_flag(unsigned long long* bad, long long p) {
    atomicMin(bad, (unsigned long long)p);
}

// The 8 rows' partial max (NaN winning) or Σ of each lane's position, combined in a fixed order: every thread gets
// its lane's total. Ends synchronised for the arrays' next use only after the caller's next barrier.
__device__ __forceinline__ float ce_rows_max(float m, float (*redM)[CE_LANES]) {
    redM[threadIdx.y][threadIdx.x] = m;
    __syncthreads();
    m = redM[0][threadIdx.x];
    for (int k = 1; k < CE_ROWS; k++) m = ce_max(m, redM[k][threadIdx.x]);
    return m;
}

__device__ __forceinline__ float ce_rows_sum(float s, float (*redS)[CE_LANES]) {
    redS[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    s = redS[0][threadIdx.x];
    for (int k = 1; k < CE_ROWS; k++) s += redS[k][threadIdx.x];
    return s;
}

// One tile of 32 positions: max and Σ exp over the classes, combined over the 8 warps in a fixed order.
// Leaves every thread with max, shift and sum of its lane's position; the block is synchronised on return.
// With `storeExp`, the cached tile holds exp(x − shift) instead of x afterwards.
__device__ __forceinline__ void ce_tile_stats(const float* __restrict__ base, bool live, int C, long long inner,
                                              bool cached, bool storeExp, float* tile,
                                              float (*redM)[CE_LANES], float (*redS)[CE_LANES],
                                              float& max, float& shift, float& sum) {
    const int lx = threadIdx.x, ly = threadIdx.y;
    float m = -INFINITY;
    if (live) {
#pragma unroll 4
        for (int c = ly; c < C; c += CE_ROWS) {
            float v = base[(long long)c * inner];
            if (cached) tile[c * CE_LANES + lx] = v;
            m = ce_max(m, v);
        }
    }
    m = ce_rows_max(m, redM);
    float sh = isfinite(m) ? m : 0.f;
    float s = 0.f;
    if (live) {
#pragma unroll 4
        for (int c = ly; c < C; c += CE_ROWS) {
            float v = cached ? tile[c * CE_LANES + lx] : base[(long long)c * inner];
            float e = expf(v - sh);
            if (cached && storeExp) tile[c * CE_LANES + lx] = e;
            s += e;
        }
    }
    max = m;
    shift = sh;
    sum = ce_rows_sum(s, redS);
}

// ---- inner > 1, C <= CE_ROWS · CE_REGS: the tile's logits in registers ----------------------------------------
// The tile kernels keep a block's C × 32 logits in 32 KB of shared memory and read them back after each
// reduction: while a block reduces, its loads stop, and six blocks per SM kept the VAE's 268 MB of logits at
// 2.0 TB/s forward and 2.9 TB/s backward on an H200 (a copy: 4.1). The register kernels (ce_regs_*) hold each
// thread's C / 8 classes in registers, all its loads issued before the first use, and keep no tile. The values,
// the reductions and their order are the cached tile's, so the results are the same bits. -Dfrl.cuda.ce=registers
// until a GPU has run it.
#define CE_REGS 32

// The thread's classes c = ly + 8·i of one position (live) into v, -INFINITY past C: every load before the first use.
__device__ __forceinline__ void ce_reg_load(const float* __restrict__ base, bool live, int C, long long inner, float (&v)[CE_REGS]) {
    const int ly = threadIdx.y;
#pragma unroll
    for (int i = 0; i < CE_REGS; i++) v[i] = (live && ly + CE_ROWS * i < C) ? base[(long long)(ly + CE_ROWS * i) * inner] : -INFINITY;
}

// ce_tile_stats over v; with storeExp v then holds exp(x − shift).
__device__ __forceinline__ void ce_reg_stats(float (&v)[CE_REGS], int C, bool storeExp, float (*redM)[CE_LANES],
                                             float (*redS)[CE_LANES], float& max, float& shift, float& sum) {
    const int ly = threadIdx.y;
    float m = -INFINITY;
#pragma unroll
    for (int i = 0; i < CE_REGS; i++)
        if (ly + CE_ROWS * i < C) m = ce_max(m, v[i]);
    m = ce_rows_max(m, redM);
    float sh = isfinite(m) ? m : 0.f;
    float s = 0.f;
#pragma unroll
    for (int i = 0; i < CE_REGS; i++)
        if (ly + CE_ROWS * i < C) {
            float e = expf(v[i] - sh);
            if (storeExp) v[i] = e;
            s += e;
        }
    max = m;
    shift = sh;
    sum = ce_rows_sum(s, redS);
}

// loss[p] for every position; blockDim = (32, 8). REGS: the logits in registers (C <= 256); else dynamic shared
// memory of C·32 floats when cached.
template <bool REGS>
__device__ __forceinline__ void ce_forward_t(const float* __restrict__ x, const float* __restrict__ targets, float* __restrict__ loss,
                                             unsigned long long* bad, long long positions, int C, long long inner, bool cached) {
    extern __shared__ float tile[];
    __shared__ float redM[CE_ROWS][CE_LANES], redS[CE_ROWS][CE_LANES];
    const int lx = threadIdx.x, ly = threadIdx.y;
    for (long long t = blockIdx.x; t * CE_LANES < positions; t += gridDim.x) {
        long long p = t * CE_LANES + lx;
        bool live = p < positions;
        long long o = live ? p / inner : 0, j = live ? p - o * inner : 0;
        const float* base = x + o * (long long)C * inner + j;
        float max, shift, sum;
        if constexpr (REGS) {
            float v[CE_REGS];
            ce_reg_load(base, live, C, inner, v);
            ce_reg_stats(v, C, false, redM, redS, max, shift, sum);
        } else {
            ce_tile_stats(base, live, C, inner, cached, false, tile, redM, redS, max, shift, sum);
        }
        if (live && ly == 0) {
            int target = ce_class(targets[p], C);
            if (target < 0) {
                ce_flag(bad, p);
                loss[p] = NAN;
            } else {
                float picked = !REGS && cached ? tile[target * CE_LANES + lx] : base[(long long)target * inner];
                double lse = isfinite(max) ? (double)max + log((double)sum) : (double)max;
                loss[p] = (float)(lse - (double)picked);
            }
        }
        __syncthreads(); // the tile and the reduction arrays are reused by the next tile
    }
}

// One logit's gradient: as it is, or its TF32 parts (big at out, small one block on).
template <bool PARTS>
__device__ __forceinline__ void ce_store(float* out, long long block, float v) {
    if constexpr (PARTS) {
        const Tf32Parts x = tf32_split(v);
        out[0] = x.big;
        out[block] = x.small;
    } else {
        out[0] = v;
    }
}

// dx = (softmax − onehot) · dloss for every logit; same layout and launch as ce_forward_t.
// PARTS (the logits a transposed convolution's output in phases, [R, partsC, C, inner], read as R blocks of B =
// partsC·C·inner floats): instead of dx, its 3xTF32 parts as tf32_parts writes them, block r's big part at dx + 2r·B and
// its small part at dx + (2r + 1)·B, the layout that SubPixelPlans.gradsFromPhaseParts reads; dx itself never written.
template <bool REGS, bool PARTS>
__device__ __forceinline__ void ce_backward_t(const float* __restrict__ x, const float* __restrict__ targets, const float* __restrict__ dloss,
                                              float* __restrict__ dx, unsigned long long* bad, long long positions, int C, long long inner,
                                              bool cached, int partsC) {
    extern __shared__ float tile[];
    __shared__ float redM[CE_ROWS][CE_LANES], redS[CE_ROWS][CE_LANES];
    const int lx = threadIdx.x, ly = threadIdx.y;
    for (long long t = blockIdx.x; t * CE_LANES < positions; t += gridDim.x) {
        long long p = t * CE_LANES + lx;
        bool live = p < positions;
        long long o = live ? p / inner : 0, j = live ? p - o * inner : 0;
        long long offset = o * (long long)C * inner + j;
        const float* base = x + offset;
        float max, shift, sum, v[REGS ? CE_REGS : 1];
        if constexpr (REGS) {
            ce_reg_load(base, live, C, inner, v);
            ce_reg_stats(v, C, true, redM, redS, max, shift, sum);
        } else {
            ce_tile_stats(base, live, C, inner, cached, true, tile, redM, redS, max, shift, sum);
        }
        if (live) {
            int target = ce_class(targets[p], C);
            if (target < 0 && ly == 0) ce_flag(bad, p);
            float g = dloss[p];
            float scale = g / sum;
            float* out = dx + offset;
            long long block = 0;
            if constexpr (PARTS) {
                block = (long long)partsC * C * inner;
                out += (o / partsC) * block;  // block r's big part starts at 2r·B, where r·B started
            }
            if constexpr (REGS) {
#pragma unroll
                for (int i = 0; i < CE_REGS; i++) {
                    const int c = ly + CE_ROWS * i;
                    if (c < C) ce_store<PARTS>(out + (long long)c * inner, block, c == target ? __fsub_rn(__fmul_rn(v[i], scale), g) : __fmul_rn(v[i], scale));
                }
            } else {
#pragma unroll 4
                for (int c = ly; c < C; c += CE_ROWS) {
                    float e = cached ? tile[c * CE_LANES + lx] : expf(base[(long long)c * inner] - shift);
                    float val = __fmul_rn(e, scale);
                    if (c == target) val = __fsub_rn(val, g);
                    ce_store<PARTS>(out + (long long)c * inner, block, val);
                }
            }
        }
        __syncthreads();
    }
}

extern "C" __global__ void ce_tile_forward(const float* __restrict__ x, const float* __restrict__ targets,
                                           float* __restrict__ loss, unsigned long long* bad,
                                           long long positions, int C, long long inner, int cached) {
    ce_forward_t<false>(x, targets, loss, bad, positions, C, inner, cached != 0);
}

extern "C" __global__ void ce_tile_backward(const float* __restrict__ x, const float* __restrict__ targets,
                                            const float* __restrict__ dloss, float* __restrict__ dx,
                                            unsigned long long* bad, long long positions, int C, long long inner,
                                            int cached) {
    ce_backward_t<false, false>(x, targets, dloss, dx, bad, positions, C, inner, cached != 0, 0);
}

extern "C" __global__ void ce_tile_backward_parts(const float* __restrict__ x, const float* __restrict__ targets,
                                                  const float* __restrict__ dloss, float* __restrict__ parts,
                                                  unsigned long long* bad, long long positions, int C, long long inner,
                                                  int cached, int partsC) {
    ce_backward_t<false, true>(x, targets, dloss, parts, bad, positions, C, inner, cached != 0, partsC);
}

// The register kernels: no dynamic shared memory; at most 64 registers (4 blocks of 256 threads an SM, no spills).
extern "C" __global__ void __launch_bounds__(CE_LANES * CE_ROWS, 4) ce_regs_forward(const float* __restrict__ x, const float* __restrict__ targets,
                                           float* __restrict__ loss, unsigned long long* bad,
                                           long long positions, int C, long long inner) {
    ce_forward_t<true>(x, targets, loss, bad, positions, C, inner, false);
}

extern "C" __global__ void __launch_bounds__(CE_LANES * CE_ROWS, 4) ce_regs_backward(const float* __restrict__ x, const float* __restrict__ targets,
                                            const float* __restrict__ dloss, float* __restrict__ dx,
                                            unsigned long long* bad, long long positions, int C, long long inner) {
    ce_backward_t<true, false>(x, targets, dloss, dx, bad, positions, C, inner, false, 0);
}

extern "C" __global__ void __launch_bounds__(CE_LANES * CE_ROWS, 4) ce_regs_backward_parts(const float* __restrict__ x, const float* __restrict__ targets,
                                            const float* __restrict__ dloss, float* __restrict__ parts,
                                            unsigned long long* bad, long long positions, int C, long long inner, int partsC) {
    ce_backward_t<true, true>(x, targets, dloss, parts, bad, positions, C, inner, false, partsC);
}

// ---- inner == 1: one block per row of C contiguous classes ------------------------------------------------

#define CE_ROW_THREADS 256

// Max over the block with NaN winning; every thread gets it. Deterministic.
__device__ float ce_block_max(float v, float* sh) {
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int s = CE_ROW_THREADS / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) sh[threadIdx.x] = ce_max(sh[threadIdx.x], sh[threadIdx.x + s]);
        __syncthreads();
    }
    float r = sh[0];
    __syncthreads();
    return r;
}

// Sum over the block in a fixed tree order; every thread gets it.
__device__ double ce_block_sum(double v, double* sh) {
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int s = CE_ROW_THREADS / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
        __syncthreads();
    }
    double r = sh[0];
    __syncthreads();
    return r;
}

// Row statistics as the CPU's row kernels: float max, Σ exp(x − shift) in double.
__device__ __forceinline__ void ce_row_stats(const float* __restrict__ row, int C, float* shM, double* shS,
                                             float& max, float& shift, double& sum) {
    float m = -INFINITY;
    for (int c = threadIdx.x; c < C; c += CE_ROW_THREADS) m = ce_max(m, row[c]);
    m = ce_block_max(m, shM);
    float sh = isfinite(m) ? m : 0.f;
    double s = 0;
    for (int c = threadIdx.x; c < C; c += CE_ROW_THREADS) s += exp((double)row[c] - (double)sh);
    max = m;
    shift = sh;
    sum = ce_block_sum(s, shS);
}

// blockDim = 256; row r of `rows` is x[r·C, r·C + C).
extern "C" __global__ void ce_rows_forward(const float* __restrict__ x, const float* __restrict__ targets,
                                           float* __restrict__ loss, unsigned long long* bad, long long rows, int C) {
    __shared__ float shM[CE_ROW_THREADS];
    __shared__ double shS[CE_ROW_THREADS];
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* row = x + r * (long long)C;
        float max, shift;
        double sum;
        ce_row_stats(row, C, shM, shS, max, shift, sum);
        if (threadIdx.x == 0) {
            int target = ce_class(targets[r], C);
            if (target < 0) {
                ce_flag(bad, r);
                loss[r] = NAN;
            } else {
                double lse = isfinite(max) ? (double)max + log(sum) : (double)max;
                loss[r] = (float)(lse - (double)row[target]);
            }
        }
    }
}

extern "C" __global__ void ce_rows_backward(const float* __restrict__ x, const float* __restrict__ targets,
                                            const float* __restrict__ dloss, float* __restrict__ dx,
                                            unsigned long long* bad, long long rows, int C) {
    __shared__ float shM[CE_ROW_THREADS];
    __shared__ double shS[CE_ROW_THREADS];
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* row = x + r * (long long)C;
        float* out = dx + r * (long long)C;
        float max, shift;
        double sum;
        ce_row_stats(row, C, shM, shS, max, shift, sum);
        int target = ce_class(targets[r], C);
        if (target < 0 && threadIdx.x == 0) ce_flag(bad, r);
        float g = dloss[r];
        float scale = g / (float)sum;
        for (int c = threadIdx.x; c < C; c += CE_ROW_THREADS) {
            float v = (float)(exp((double)row[c] - (double)shift) * (double)scale);
            if (c == target) v = __fsub_rn(v, g);
            out[c] = v;
        }
    }
}
