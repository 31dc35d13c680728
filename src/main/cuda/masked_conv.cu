// PixelCNN++'s shifted (causal) convolutions, stride 1, the causal zero padding fused into the loads (no padded
// copy of the input). CPU twin: frl.backend.cpu.CpuConv.shifted* (im2col with asymmetric padding).
//
//   y[n,k,i,j] = Σ_{c,p,q} w[k,c,p,q] · x[n,c, i+p−top, j+q−left]     (0 outside the image)
//
// with top = kh−1 and left = (kw−1)/2 (DOWN) or kw−1 (DOWN_RIGHT); the output is H×W like the input.
// Each op is an implicit GEMM tiled 64×64 with a reduction step of 16, 256 threads, 4×4 results per thread.
// The reduction runs tap by tap (p, q) and, inside a tap, over channels: the pixel a thread loads for a tap is
// fixed, so the loads need no index division in the inner loop.
#include "frl_cuda.cuh"
#include "frl_shifted.cuh"

#define TM 64   // tile rows
#define TN 64   // tile columns
#define TK 16   // reduction step
#define THREADS 256

// acc[a][b] += Σ_kk As[kk][ty + 16a] · Bs[kk][tx + 16b] over one reduction step.
__device__ __forceinline__ void tile_fma(const float (*As)[TM + 1], const float (*Bs)[TN + 1], float acc[4][4], int tx, int ty) {
#pragma unroll
    for (int kk = 0; kk < TK; kk++) {
        float a[4], b[4];
#pragma unroll
        for (int i = 0; i < 4; i++) {
            a[i] = As[kk][ty + 16 * i];
            b[i] = Bs[kk][tx + 16 * i];
        }
#pragma unroll
        for (int i = 0; i < 4; i++)
#pragma unroll
            for (int j = 0; j < 4; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
}

// The forward and the gradient wrt the input, one implicit GEMM (GRAD false: the forward).
//   forward: rows output channels k (grid y), columns output pixels (n, i, j) flattened (grid x), the reduction over
//            the input's channels c: y[n,k,i,j] = Σ_{c,p,q} w[k,c,p,q] · x[n,c, i+p−top, j+q−left];
//   GRAD:    rows input channels c, columns input pixels, the reduction over dy's channels k:
//            dx[n,c,i,j] = Σ_{k,p,q} w[k,c,p,q] · dy[n,k, i+top−p, j+left−q]     (0 outside the image).
// src is x [N,C,H,W] (dy [N,K,H,W] for GRAD), w [K,C,kh,kw], dst y [N,K,H,W] (dx [N,C,H,W]).
template <bool GRAD>
__device__ __forceinline__ void shifted_gemm(const float* __restrict__ src, const float* __restrict__ w, float* __restrict__ dst,
                                             int N, int C, int H, int W, int K, int kh, int kw, int top, int left) {
    __shared__ float As[TK][TM + 1];
    __shared__ float Bs[TK][TN + 1];
    const int t = threadIdx.x, tx = t & 15, ty = t >> 4;
    const int HW = H * W, T = kh * kw, rows = GRAD ? C : K, reduced = GRAD ? K : C;
    const long long P = (long long)N * HW;
    const long long p0 = (long long)blockIdx.x * TN;
    const int m0 = blockIdx.y * TM;

    // The pixel this thread loads into Bs (column bn, rows bk + 4l): fixed for the whole block.
    const int bn = t & (TN - 1), bk = t >> 6;
    const long long bp = p0 + bn;
    const bool bvalid = bp < P;
    int bi = 0, bj = 0;
    long long bimg = 0;
    if (bvalid) {
        const int n = (int)(bp / HW), r = (int)(bp - (long long)n * HW);
        bi = r / W;
        bj = r - bi * W;
        bimg = (long long)n * reduced * HW;
    }

    float acc[4][4];
#pragma unroll
    for (int a = 0; a < 4; a++)
#pragma unroll
        for (int b = 0; b < 4; b++) acc[a][b] = 0.f;

    for (int tap = 0; tap < T; tap++) {
        const int p = tap / kw, q = tap - p * kw;
        const int yy = GRAD ? bi + top - p : bi + p - top, xx = GRAD ? bj + left - q : bj + q - left;
        const bool inb = bvalid && yy >= 0 && yy < H && xx >= 0 && xx < W;
        const float* srcs = src + bimg + (inb ? (long long)yy * W + xx : 0);
        for (int r0 = 0; r0 < reduced; r0 += TK) {
#pragma unroll
            for (int l = 0; l < 4; l++) {   // As[kk][mm] = w[m0+mm, r0+kk, p, q], or for GRAD w[r0+kk, m0+mm, p, q]: loads along c
                const int e = t + THREADS * l, kk = GRAD ? e >> 6 : e & (TK - 1), mm = GRAD ? e & (TM - 1) : e >> 4;
                const int k = GRAD ? r0 + kk : m0 + mm, c = GRAD ? m0 + mm : r0 + kk;
                As[kk][mm] = (k < K && c < C) ? w[((long long)k * C + c) * T + tap] : 0.f;
            }
#pragma unroll
            for (int l = 0; l < 4; l++) {   // Bs[kk][bn] = src[n, r0+kk, yy, xx]
                const int kk = bk + 4 * l, r = r0 + kk;
                Bs[kk][bn] = (inb && r < reduced) ? srcs[(long long)r * HW] : 0.f;
            }
            __syncthreads();
            tile_fma(As, Bs, acc, tx, ty);
            __syncthreads();
        }
    }

#pragma unroll
    for (int b = 0; b < 4; b++) {
        const long long pp = p0 + tx + 16 * b;
        if (pp >= P) continue;
        const int n = (int)(pp / HW), r = (int)(pp - (long long)n * HW);
#pragma unroll
        for (int a = 0; a < 4; a++) {
            const int m = m0 + ty + 16 * a;
            if (m < rows) dst[((long long)n * rows + m) * HW + r] = acc[a][b];
        }
    }
}

extern "C" __global__ void __launch_bounds__(THREADS) shifted_fwd(const float* __restrict__ x, const float* __restrict__ w,
                                                                  float* __restrict__ y, int N, int C, int H, int W, int K,
                                                                  int kh, int kw, int top, int left) {
    shifted_gemm<false>(x, w, y, N, C, H, W, K, kh, kw, top, left);
}

extern "C" __global__ void __launch_bounds__(THREADS) shifted_bwd_input(const float* __restrict__ dy, const float* __restrict__ w,
                                                                        float* __restrict__ dx, int N, int C, int H, int W, int K,
                                                                        int kh, int kw, int top, int left) {
    shifted_gemm<true>(dy, w, dx, N, C, H, W, K, kh, kw, top, left);
}

// Gradient wrt the weight, one tap per grid-z slice and the pixels split in S chunks of `chunk`:
//   out[s][k][c][tap] = Σ_{pixels (n,i,j) of chunk s} dy[n,k,i,j] · x[n,c, i+p−top, j+q−left]
// Rows: output channels k (grid y). Columns: input channels c (grid x). blockIdx.z = s·T + tap.
// With S = 1, out is dw itself; otherwise shifted_sum_parts adds the S slices in a fixed order (deterministic).
extern "C" __global__ void __launch_bounds__(THREADS) shifted_bwd_weight(const float* __restrict__ x, const float* __restrict__ dy,
                                                                         float* __restrict__ out, int N, int C, int H, int W, int K,
                                                                         int kh, int kw, int top, int left, int chunk) {
    __shared__ float As[TK][TM + 1];
    __shared__ float Bs[TK][TN + 1];
    const int t = threadIdx.x, tx = t & 15, ty = t >> 4;
    const int HW = H * W, T = kh * kw;
    const long long P = (long long)N * HW;
    const int tap = blockIdx.z % T, s = blockIdx.z / T;
    const int p = tap / kw, q = tap - p * kw;
    const int m0 = blockIdx.y * TM, n0 = blockIdx.x * TN;
    const long long pb = (long long)s * chunk, pe = min(P, pb + chunk);

    // Loads: reduction index (pixel) fastest, so a row of 16 pixels is read contiguously.
    const int kk = t & (TK - 1), mb = t >> 4;   // this thread loads rows mb + 16l of column kk

    float acc[4][4];
#pragma unroll
    for (int a = 0; a < 4; a++)
#pragma unroll
        for (int b = 0; b < 4; b++) acc[a][b] = 0.f;

    for (long long k0 = pb; k0 < pe; k0 += TK) {
        const ShiftedPixel at = shifted_pixel(k0 + kk, pe, H, W, p - top, q - left);
        const float* dys = dy + (long long)at.n * K * HW + (long long)at.i * W + at.j;
        const float* xs = x + (long long)at.n * C * HW + (at.inside ? (long long)at.yy * W + at.xx : 0);
#pragma unroll
        for (int l = 0; l < 4; l++) {
            const int mm = mb + 16 * l;
            const int k = m0 + mm, c = n0 + mm;
            As[kk][mm] = (at.valid && k < K) ? dys[(long long)k * HW] : 0.f;   // dy[n, k, i, j]
            Bs[kk][mm] = (at.inside && c < C) ? xs[(long long)c * HW] : 0.f;   // x[n, c, yy, xx]
        }
        __syncthreads();
        tile_fma(As, Bs, acc, tx, ty);
        __syncthreads();
    }

    float* o = out + (long long)s * K * C * T;
#pragma unroll
    for (int a = 0; a < 4; a++) {
        const int k = m0 + ty + 16 * a;
        if (k >= K) continue;
#pragma unroll
        for (int b = 0; b < 4; b++) {
            const int c = n0 + tx + 16 * b;
            if (c < C) o[((long long)k * C + c) * T + tap] = acc[a][b];
        }
    }
}

// out[i] = Σ_{s<S} parts[s·n + i], in order s = 0, 1, … and in double: the same sum on every run.
extern "C" __global__ void shifted_sum_parts(const float* __restrict__ parts, float* __restrict__ out, long long n, int S) {
    FRL_FOR(i, n) {
        double acc = 0;
        for (int s = 0; s < S; s++) acc += parts[(long long)s * n + i];
        out[i] = (float)acc;
    }
}
