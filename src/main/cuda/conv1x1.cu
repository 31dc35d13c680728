// Glow's invertible 1×1 convolution for small channel counts (≤ 64): a per-pixel matrix-vector product.
// CPU twin: frl.backend.cpu.CpuConv (a 1×1 stride-1 conv is a GEMM over the image itself).
//
//   forward         y[n,k,p]  = Σ_c w[k,c] · x[n,c,p]
//   backward input  dx[n,c,p] = Σ_k w[k,c] · dy[n,k,p]        (Wᵀ · dy)
//   backward weight dw[k,c]   = Σ_{n,p} dy[n,k,p] · x[n,c,p]   (deterministic: fixed chunks, summed in order)
// and the same with Glow's actnorm fused (x taken as (x + shift)·exp(logScale) per channel; conv1x1_actnorm_*).
#include "frl_cuda.cuh"

#define APPLY_THREADS 128   // pixels per block
#define APPLY_OUTS 16       // output channels per block (grid y)

// out[n,o,p] = Σ_{i<I} M(o,i) · in[n,i,p] for o in this block's group of APPLY_OUTS, with M(o,i) = w[o·I + i]
// (forward: in = x, I = C, O = K) or, with trans, w[i·O + o] (backward input: in = dy, I = K, O = C).
// The group's rows of M sit in shared memory, zero-padded to CMAX columns; a thread keeps its pixel's I inputs
// in registers (loads coalesced over pixels) and writes each output once (coalesced over pixels).
// AFFINE (Glow's actnorm fused, shift and logScale per channel of x): forward, each input (in + shift)·exp(logScale);
// with trans, each output times exp(logScale) of its channel (dx = s·Wᵀ·dy).
template <int CMAX, bool AFFINE = false>
__device__ __forceinline__ void apply(const float* __restrict__ in, const float* __restrict__ w, float* __restrict__ out,
                                      int N, int HW, int I, int O, int trans, const float* __restrict__ shift = nullptr,
                                      const float* __restrict__ logScale = nullptr) {
    __shared__ __align__(16) float ws[APPLY_OUTS * CMAX];
    __shared__ float aShift[AFFINE ? CMAX : 1], aScale[AFFINE ? CMAX : 1];
    const int o0 = blockIdx.y * APPLY_OUTS;
    const int outs = min(APPLY_OUTS, O - o0);
    for (int e = threadIdx.x; e < APPLY_OUTS * CMAX; e += blockDim.x) {
        const int r = e / CMAX, i = e - r * CMAX, o = o0 + r;
        ws[e] = (r < outs && i < I) ? (trans ? w[(long long)i * O + o] : w[(long long)o * I + i]) : 0.f;
    }
    if constexpr (AFFINE)
        for (int i = threadIdx.x; i < CMAX; i += blockDim.x) {
            const int ch = trans ? o0 + i : i;   // trans: the block's outputs are x's channels o0, o0 + 1, ...
            const bool live = trans ? i < outs : i < I;
            aShift[i] = live && !trans ? shift[ch] : 0.f;
            aScale[i] = live ? expf(logScale[ch]) : 0.f;
        }
    __syncthreads();
    const long long P = (long long)N * HW;
    for (long long g = (long long)blockIdx.x * blockDim.x + threadIdx.x; g < P; g += (long long)gridDim.x * blockDim.x) {
        const int n = (int)(g / HW), p = (int)(g - (long long)n * HW);
        const float* src = in + (long long)n * I * HW + p;
        float v[CMAX];
#pragma unroll
        for (int i = 0; i < CMAX; i++) {
            v[i] = i < I ? src[(long long)i * HW] : 0.f;
            if constexpr (AFFINE) if (!trans) v[i] = __fmul_rn(__fadd_rn(v[i], aShift[i]), aScale[i]);
        }
        float* dst = out + ((long long)n * O + o0) * HW + p;
        for (int r = 0; r < outs; r++) {
            const float4* row = reinterpret_cast<const float4*>(ws + r * CMAX);
            float acc = 0.f;
#pragma unroll
            for (int i4 = 0; i4 < CMAX / 4; i4++) {
                const float4 m = row[i4];
                acc = fmaf(m.x, v[4 * i4], acc);
                acc = fmaf(m.y, v[4 * i4 + 1], acc);
                acc = fmaf(m.z, v[4 * i4 + 2], acc);
                acc = fmaf(m.w, v[4 * i4 + 3], acc);
            }
            if constexpr (AFFINE) if (trans) acc = __fmul_rn(acc, aScale[r]);
            dst[(long long)r * HW] = acc;
        }
    }
}

extern "C" __global__ void __launch_bounds__(APPLY_THREADS) conv1x1_apply_16(const float* __restrict__ in, const float* __restrict__ w,
        float* __restrict__ out, int N, int HW, int I, int O, int trans) { apply<16>(in, w, out, N, HW, I, O, trans); }

extern "C" __global__ void __launch_bounds__(APPLY_THREADS) conv1x1_apply_32(const float* __restrict__ in, const float* __restrict__ w,
        float* __restrict__ out, int N, int HW, int I, int O, int trans) { apply<32>(in, w, out, N, HW, I, O, trans); }

extern "C" __global__ void __launch_bounds__(APPLY_THREADS) conv1x1_apply_64(const float* __restrict__ in, const float* __restrict__ w,
        float* __restrict__ out, int N, int HW, int I, int O, int trans) { apply<64>(in, w, out, N, HW, I, O, trans); }

// Glow's actnorm and its 1×1 convolution in one pass (CudaConv1x1.actNorm*): the apply kernels with AFFINE.
extern "C" __global__ void __launch_bounds__(APPLY_THREADS) conv1x1_actnorm_apply_16(const float* __restrict__ in, const float* __restrict__ w,
        float* __restrict__ out, const float* __restrict__ shift, const float* __restrict__ logScale, int N, int HW, int I, int O, int trans) {
    apply<16, true>(in, w, out, N, HW, I, O, trans, shift, logScale);
}

extern "C" __global__ void __launch_bounds__(APPLY_THREADS) conv1x1_actnorm_apply_32(const float* __restrict__ in, const float* __restrict__ w,
        float* __restrict__ out, const float* __restrict__ shift, const float* __restrict__ logScale, int N, int HW, int I, int O, int trans) {
    apply<32, true>(in, w, out, N, HW, I, O, trans, shift, logScale);
}

extern "C" __global__ void __launch_bounds__(APPLY_THREADS) conv1x1_actnorm_apply_64(const float* __restrict__ in, const float* __restrict__ w,
        float* __restrict__ out, const float* __restrict__ shift, const float* __restrict__ logScale, int N, int HW, int I, int O, int trans) {
    apply<64, true>(in, w, out, N, HW, I, O, trans, shift, logScale);
}

#define DW_THREADS 256
#define DW_TILE 32    // pixels staged per step
#define DW_MAX 64     // channels (C and K) at most
#define DW_PER_THREAD (DW_MAX * DW_MAX / DW_THREADS)

// Block b sums pixels [b·chunk, min(P, (b+1)·chunk)) of the flattened (n, p) axis into part[b][k·C + c].
// Each thread owns the entries e = threadIdx.x + 256·j of the K×C result; DW_TILE pixels of x and dy are
// staged in shared memory (rows padded to 33 floats: no bank conflicts) and every entry adds them in order.
// AFFINE: x taken as (x + shift)·exp(logScale) per channel (Glow's actnorm before the 1×1 convolution).
template <bool AFFINE>
__device__ __forceinline__ void dw_part(const float* __restrict__ x, const float* __restrict__ dy, float* __restrict__ part, int N, int HW,
                                        int C, int K, int chunk, const float* __restrict__ shift, const float* __restrict__ logScale) {
    __shared__ float xs[DW_MAX][DW_TILE + 1];
    __shared__ float ds[DW_MAX][DW_TILE + 1];
    __shared__ float aShift[AFFINE ? DW_MAX : 1], aScale[AFFINE ? DW_MAX : 1];
    if constexpr (AFFINE) {
        for (int c = threadIdx.x; c < DW_MAX; c += DW_THREADS) {
            aShift[c] = c < C ? shift[c] : 0.f;
            aScale[c] = c < C ? expf(logScale[c]) : 0.f;
        }
        __syncthreads();   // every thread stages every channel
    }
    const long long P = (long long)N * HW;
    const long long pb = (long long)blockIdx.x * chunk, pe = min(P, pb + chunk);
    const int KC = K * C;
    float acc[DW_PER_THREAD];
#pragma unroll
    for (int j = 0; j < DW_PER_THREAD; j++) acc[j] = 0.f;

    for (long long t0 = pb; t0 < pe; t0 += DW_TILE) {
        for (int e = threadIdx.x; e < DW_MAX * DW_TILE; e += DW_THREADS) {
            const int row = e / DW_TILE, col = e - row * DW_TILE;
            const long long g = t0 + col;
            const bool ok = g < pe;
            const int n = ok ? (int)(g / HW) : 0, p = ok ? (int)(g - (long long)n * HW) : 0;
            float xv = (ok && row < C) ? x[((long long)n * C + row) * HW + p] : 0.f;
            if constexpr (AFFINE) xv = (ok && row < C) ? __fmul_rn(__fadd_rn(xv, aShift[row]), aScale[row]) : 0.f;
            xs[row][col] = xv;
            ds[row][col] = (ok && row < K) ? dy[((long long)n * K + row) * HW + p] : 0.f;
        }
        __syncthreads();
#pragma unroll
        for (int j = 0; j < DW_PER_THREAD; j++) {
            const int e = threadIdx.x + DW_THREADS * j;
            if (e < KC) {
                const int k = e / C, c = e - k * C;
                float s = acc[j];
#pragma unroll
                for (int col = 0; col < DW_TILE; col++) s = fmaf(ds[k][col], xs[c][col], s);
                acc[j] = s;
            }
        }
        __syncthreads();
    }
#pragma unroll
    for (int j = 0; j < DW_PER_THREAD; j++) {
        const int e = threadIdx.x + DW_THREADS * j;
        if (e < KC) part[(long long)blockIdx.x * KC + e] = acc[j];
    }
}

extern "C" __global__ void __launch_bounds__(DW_THREADS) conv1x1_dw_part(const float* __restrict__ x, const float* __restrict__ dy,
                                                                          float* __restrict__ part, int N, int HW, int C, int K, int chunk) {
    dw_part<false>(x, dy, part, N, HW, C, K, chunk, nullptr, nullptr);
}

extern "C" __global__ void __launch_bounds__(DW_THREADS) conv1x1_actnorm_dw_part(const float* __restrict__ x, const float* __restrict__ dy,
        float* __restrict__ part, const float* __restrict__ shift, const float* __restrict__ logScale, int N, int HW, int C, int K, int chunk) {
    dw_part<true>(x, dy, part, N, HW, C, K, chunk, shift, logScale);
}

// The actnorm's gradients from dx = s·Wᵀ·dy (the actnorm apply kernel's, trans): block c sums, over every image and
// pixel in order and in double, dshift[c] = Σ dx and dlogScale[c] = Σ dx·(x + shift[c]) (= s·Σ (Wᵀ·dy)·(x + shift)).
extern "C" __global__ void __launch_bounds__(DW_THREADS) conv1x1_actnorm_sums(const float* __restrict__ x, const float* __restrict__ dx,
        const float* __restrict__ shift, float* __restrict__ dshift, float* __restrict__ dlogScale, int N, int HW, int C) {
    const int c = blockIdx.x;
    const float b = shift[c];
    double sd = 0.0, sa = 0.0;
    for (long long g = threadIdx.x; g < (long long)N * HW; g += DW_THREADS) {
        const int n = (int)(g / HW), p = (int)(g - (long long)n * HW);
        const long long at = ((long long)n * C + c) * HW + p;
        const float d = dx[at];
        sd += (double)d;
        sa += (double)d * (double)__fadd_rn(x[at], b);
    }
    sd = frl_block_sum(sd);
    sa = frl_block_sum(sa);
    if (threadIdx.x == 0) {
        dshift[c] = (float)sd;
        dlogScale[c] = (float)sa;
    }
}

// out[i] = Σ_{s<S} parts[s·n + i], in order s = 0, 1, … and in double.
extern "C" __global__ void conv1x1_sum_parts(const float* __restrict__ parts, float* __restrict__ out, long long n, int S) {
    FRL_FOR(i, n) {
        double acc = 0;
        for (int s = 0; s < S; s++) acc += parts[(long long)s * n + i];
        out[i] = (float)acc;
    }
}
