// Glow's invertible 1×1 convolution for small channel counts (≤ 64): a per-pixel matrix-vector product.
// CPU twin: frl.backend.cpu.CpuConv (a 1×1 stride-1 conv is a GEMM over the image itself).
//
//   forward         y[n,k,p]  = Σ_c w[k,c] · x[n,c,p]
//   backward input  dx[n,c,p] = Σ_k w[k,c] · dy[n,k,p]        (Wᵀ · dy)
//   backward weight dw[k,c]   = Σ_{n,p} dy[n,k,p] · x[n,c,p]   (deterministic: fixed chunks, summed in order)
#include "frl_cuda.cuh"

#define APPLY_THREADS 128   // pixels per block
#define APPLY_OUTS 16       // output channels per block (grid y)

// out[n,o,p] = Σ_{i<I} M(o,i) · in[n,i,p] for o in this block's group of APPLY_OUTS, with M(o,i) = w[o·I + i]
// (forward: in = x, I = C, O = K) or, with trans, w[i·O + o] (backward input: in = dy, I = K, O = C).
// The group's rows of M sit in shared memory, zero-padded to CMAX columns; a thread keeps its pixel's I inputs
// in registers (loads coalesced over pixels) and writes each output once (coalesced over pixels).
template <int CMAX>
__device__ __forceinline__ void apply(const float* __restrict__ in, const float* __restrict__ w, float* __restrict__ out,
                                      int N, int HW, int I, int O, int trans) {
    __shared__ __align__(16) float ws[APPLY_OUTS * CMAX];
    const int o0 = blockIdx.y * APPLY_OUTS;
    const int outs = min(APPLY_OUTS, O - o0);
    for (int e = threadIdx.x; e < APPLY_OUTS * CMAX; e += blockDim.x) {
        const int r = e / CMAX, i = e - r * CMAX, o = o0 + r;
        ws[e] = (r < outs && i < I) ? (trans ? w[(long long)i * O + o] : w[(long long)o * I + i]) : 0.f;
    }
    __syncthreads();
    const long long P = (long long)N * HW;
    for (long long g = (long long)blockIdx.x * blockDim.x + threadIdx.x; g < P; g += (long long)gridDim.x * blockDim.x) {
        const int n = (int)(g / HW), p = (int)(g - (long long)n * HW);
        const float* src = in + (long long)n * I * HW + p;
        float v[CMAX];
#pragma unroll
        for (int i = 0; i < CMAX; i++) v[i] = i < I ? src[(long long)i * HW] : 0.f;
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

#define DW_THREADS 256
#define DW_TILE 32    // pixels staged per step
#define DW_MAX 64     // channels (C and K) at most
#define DW_PER_THREAD (DW_MAX * DW_MAX / DW_THREADS)

// Block b sums pixels [b·chunk, min(P, (b+1)·chunk)) of the flattened (n, p) axis into part[b][k·C + c].
// Each thread owns the entries e = threadIdx.x + 256·j of the K×C result; DW_TILE pixels of x and dy are
// staged in shared memory (rows padded to 33 floats: no bank conflicts) and every entry adds them in order.
extern "C" __global__ void __launch_bounds__(DW_THREADS) conv1x1_dw_part(const float* __restrict__ x, const float* __restrict__ dy,
                                                                          float* __restrict__ part, int N, int HW, int C, int K, int chunk) {
    __shared__ float xs[DW_MAX][DW_TILE + 1];
    __shared__ float ds[DW_MAX][DW_TILE + 1];
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
            xs[row][col] = (ok && row < C) ? x[((long long)n * C + row) * HW + p] : 0.f;
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

// out[i] = Σ_{s<S} parts[s·n + i], in order s = 0, 1, … and in double.
extern "C" __global__ void conv1x1_sum_parts(const float* __restrict__ parts, float* __restrict__ out, long long n, int S) {
    FRL_FOR(i, n) {
        double acc = 0;
        for (int s = 0; s < S; s++) acc += parts[(long long)s * n + i];
        out[i] = (float)acc;
    }
}
