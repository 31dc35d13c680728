// FRL's high-frequency channel x_H = (g - blur(g) + 1) / 2 on the GPU. CPU twins: frl.freq.HighPass (direct,
// separable, zero padding) and frl.freq.FrequencyFilter (DFT path). Java side: frl.backend.cuda.CudaFrequency.
//
// Direct path: the gray plane g, the horizontal pass and the vertical pass all run in double with the taps
// and the summation order of HighPass.apply (j ascending from s = 0), each product and sum rounded on its own
// (__dmul_rn/__dadd_rn: never fused into an FMA, like Java), so the float result is bit for bit HighPass's.
// Zero padding is done with zero halos in shared memory: HighPass skips the taps that fall outside the image,
// here they add tap * 0 = +0, which leaves every sum unchanged.
//
// Geometry (FrlInts g): v[0] N images, v[1] C (1 or 3), v[2] H, v[3] W, v[4] floats per output image,
// v[5] offset of the x_H plane in an output image, v[6] 1 = also copy the C input planes to the start of
// each output image (x_F = [x, x_H]), v[7] k (taps), then per kernel:
//   direct (shared memory): v[8] HP pitch of gT (odd, >= H), v[9] WP pitch of ts (odd, >= W),
//                           v[10] WR rows of gT, v[11] HR rows of ts
//   direct, with exact sums: v[12] the bits of HighPass.exactSumsBelow(taps) as a float (0: always in order)
//   fft:                    v[8] hp, v[9] wp (the zero-padded FFT size)
// The shared-memory kernels take the taps by value (HfTaps), the global ones a device pointer.
#include "frl_cuda.cuh"
#include <type_traits>

#define HF_P 4   // outputs per thread along the pass direction (a register window of HF_P + k - 1 values)
// The kernel sizes each family is instantiated for (CudaFrequency: k <= 15, odd).
#define HF_EACH_K(M) M(1) M(3) M(5) M(7) M(9) M(11) M(13) M(15)

// The taps of the shared-memory kernels (k <= 15) by value: Java passes their bits as an int[32] (kind 'a',
// FrlInts' size); in the kernel's parameter space they are constant-bank operands, no registers.
struct __align__(8) HfTaps { double v[16]; };
static_assert(sizeof(HfTaps) == sizeof(FrlInts), "HfTaps must be passed as an FrlInts");

__device__ __forceinline__ double hf_gray(const float* __restrict__ img, int C, int hw, int p) {
    if (C == 1) return (double)img[p];
    // Java: 0.299 * r + 0.587 * g + 0.114 * b, left to right, each step rounded
    return __dadd_rn(__dadd_rn(__dmul_rn(0.299, (double)img[p]), __dmul_rn(0.587, (double)img[hw + p])),
                     __dmul_rn(0.114, (double)img[2 * hw + p]));
}

// The same from three loaded channel values (C = 1: r is the gray value).
__device__ __forceinline__ double hf_gray3(int C, float r, float g, float b) {
    if (C == 1) return (double)r;
    return __dadd_rn(__dadd_rn(__dmul_rn(0.299, (double)r), __dmul_rn(0.587, (double)g)), __dmul_rn(0.114, (double)b));
}

// EXACT: every value and partial sum is exact (HighPass.exactSumsBelow: one channel, dyadic taps, all values 0 or of
// magnitude in [2^-8, bound)), so any order of exact operations gives HighPass's value: (g - s) / 2 + 1/2 by an FMA.
template <bool EXACT>
__device__ __forceinline__ float hf_out(double g, double s) {
    if (EXACT) return __double2float_rn(__fma_rn(__dsub_rn(g, s), 0.5, 0.5));
    // Java: (float) ((g - s + 1) / 2); halving is exact, so * 0.5 is the same value
    return __double2float_rn(__dmul_rn(__dadd_rn(__dsub_rn(g, s), 1.0), 0.5));
}

// One output of a pass from the K values w[0..K) under the taps. In order: HighPass's sum, taps ascending, each step
// rounded; HighPass starts it from 0, here from the first product (0 + p is p up to the sign of a zero, and such a sign
// never reaches x_H: a product with a zero is a zero, a sum with one the other addend, and (g - s + 1) / 2 adds 1).
// EXACT (see hf_out): the symmetric taps folded, t_R w_R + sum_j t_j (w_j + w_(K-1-j)), by FMAs: K operations
// instead of 2K - 1.
template <int K, bool EXACT>
__device__ __forceinline__ double hf_tap_sum(const HfTaps& kk, const double* w) {
    constexpr int R = K / 2;
    double s;
    if (EXACT) {
        s = __dmul_rn(kk.v[R], w[R]);
#pragma unroll
        for (int j = 0; j < R; j++) s = __fma_rn(kk.v[j], __dadd_rn(w[j], w[K - 1 - j]), s);
    } else {
        s = __dmul_rn(kk.v[0], w[0]);
#pragma unroll
        for (int j = 1; j < K; j++) s = __dadd_rn(s, __dmul_rn(kk.v[j], w[j]));
    }
    return s;
}

// Whether a strip's values allow the exact sums: each 0 or of magnitude in [2^-8, below) (below: float bits, 0 = never).
template <int P>
__device__ __forceinline__ bool hf_exact_strip(const float (&v)[P], unsigned below) {
    bool ok = below != 0u;
#pragma unroll
    for (int u = 0; u < P; u++) {
        const unsigned a = __float_as_uint(v[u]) & 0x7fffffffu;
        ok &= a == 0u || (a >= 0x3B800000u && a < below);  // 0x3B800000: 2^-8 (HighPass.EXACT_SUMS_FLOOR)
    }
    return ok;
}

// One block of FRL_BLOCK threads (a multiple of 32) per image. Shared memory (doubles):
//   gT[WR][HP]: the gray plane transposed, gT[x + r][y] = g(y, x); rows x + r outside [r, W + r) are zero
//   ts[HR][WP]: the horizontal pass, ts[y + r][x] = tmp(y, x); rows y + r outside [r, H + r) are zero
// WR = ceil(W / P) * P + 2r and HR = ceil(H / P) * P + 2r, so every window read stays inside; the pitches
// HP and WP are odd, so a warp reading a column of doubles hits 16 distinct bank pairs per half-warp.
// Work items are strips of P outputs; warps take strips, lanes take the other coordinate (no division):
// (1) load: strip = rows [P*ch, P*ch + P) of column x; lanes = consecutive x (coalesced 128-byte rows), the
//     P loads of a strip issued before their first use; g into gT; zero the halo rows;
// (2) horizontal pass: strip = columns [P*cw, P*cw + P) of row y; lanes = consecutive y (conflict-free
//     reads of a gT row), a register window of P + k - 1 values;
// (3) vertical pass: the strips of (1), lanes = consecutive x, a register window down a ts column; x_H is
//     written coalesced along x. (Keeping g of the strip in registers from (1) would save the gT reads but
//     spills at the 40 registers that 6 blocks per SM allow.)
struct HfPlane {
    int C, H, W, hw, outStride, outOff, copyIn, HP, WP, WR, HR, nch, ncw;
    unsigned exactBelow;
    __device__ HfPlane(const FrlInts& g, int P)
        : C(g.v[1]), H(g.v[2]), W(g.v[3]), hw(g.v[2] * g.v[3]), outStride(g.v[4]), outOff(g.v[5]), copyIn(g.v[6]),
          HP(g.v[8]), WP(g.v[9]), WR(g.v[10]), HR(g.v[11]), nch((g.v[2] + P - 1) / P), ncw((g.v[3] + P - 1) / P),
          exactBelow((unsigned)g.v[12]) {}
};

// The halo rows of gT and ts to zero (the passes never write them: once per block is enough).
template <int R, typename G>
__device__ __forceinline__ void hf_zero_halos(G* gT, double* ts, const HfPlane& q) {
    const int tid = threadIdx.x, nt = blockDim.x;
    const int lowG = R * q.HP, highG = (q.WR - q.W - R) * q.HP;  // rows [0, R) and [W + R, WR) of gT
    for (int i = tid; i < lowG + highG; i += nt) gT[i < lowG ? i : (q.W + R) * q.HP + (i - lowG)] = G(0);
    const int lowT = R * q.WP, highT = (q.HR - q.H - R) * q.WP;  // rows [0, R) and [H + R, HR) of ts
    for (int i = tid; i < lowT + highT; i += nt) ts[i < lowT ? i : (q.H + R) * q.WP + (i - lowT)] = 0.0;
}

// Step (1a): strip ch of column x of image img into registers (0 past the last row); C3 false: channel 0 only.
template <int P, bool C3>
__device__ __forceinline__ void hf_load_strip(const float* __restrict__ img, const HfPlane& q, int ch, int x,
                                              float (&v0)[P], float (&v1)[P], float (&v2)[P]) {
    const int y0 = ch * P;
#pragma unroll
    for (int u = 0; u < P; u++) {
        const int p = (y0 + u) * q.W + x;
        v0[u] = v1[u] = v2[u] = 0.f;
        if (y0 + u < q.H) {
            v0[u] = img[p];
            if (C3) {
                v1[u] = img[q.hw + p];
                v2[u] = img[2 * q.hw + p];
            }
        }
    }
}

// Step (1b): the strip's gray values into gT, and with copyIn its channels into the output image. G = float holds
// one channel's gray value (the float itself) exactly; three channels' BT.601 sum needs G = double.
template <int P, int R, bool C3, typename G>
__device__ __forceinline__ void hf_store_strip(G* gT, float* __restrict__ oimg, const HfPlane& q, int ch, int x,
                                               const float (&v0)[P], const float (&v1)[P], const float (&v2)[P]) {
#pragma unroll
    for (int u = 0; u < P; u++) {
        const int y = ch * P + u, p = y * q.W + x;
        if (y < q.H) {
            gT[(x + R) * q.HP + y] = (G)hf_gray3(C3 ? 3 : 1, v0[u], v1[u], v2[u]);
            if (q.copyIn) {
                oimg[p] = v0[u];
                if (C3) {
                    oimg[q.hw + p] = v1[u];
                    oimg[2 * q.hw + p] = v2[u];
                }
            }
        }
    }
}

// Steps (2) and (3) over the plane in gT, x_H into oimg; ends with ts read and gT still needed by nobody.
template <int K, int P, typename G, bool EXACT>
__device__ __forceinline__ void hf_passes(const G* gT, double* ts, float* __restrict__ oimg, const HfTaps& kk, const HfPlane& q) {
    constexpr int R = K / 2, WIN = P + K - 1;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    // (2) horizontal: tmp(y, x) = sum_j kk[j] * g(y, x + j - R) = sum_j kk[j] * gT[x + j][y]
    for (int cw = warp; cw < q.ncw; cw += warps)
        for (int y = lane; y < q.H; y += 32) {
            const int x0 = cw * P;
            double w[WIN];
#pragma unroll
            for (int j = 0; j < WIN; j++) w[j] = (double)gT[(x0 + j) * q.HP + y];
#pragma unroll
            for (int t = 0; t < P; t++)
                if (x0 + t < q.W) ts[(y + R) * q.WP + x0 + t] = hf_tap_sum<K, EXACT>(kk, w + t);
        }
    __syncthreads();
    // (3) vertical: blur(y, x) = sum_j kk[j] * tmp(y + j - R, x) = sum_j kk[j] * ts[y + j][x]
    for (int ch = warp; ch < q.nch; ch += warps)
        for (int x = lane; x < q.W; x += 32) {
            const int y0 = ch * P;
            double w[WIN];
#pragma unroll
            for (int j = 0; j < WIN; j++) w[j] = ts[(y0 + j) * q.WP + x];
#pragma unroll
            for (int t = 0; t < P; t++) {
                const int y = y0 + t;
                if (y < q.H) oimg[q.outOff + y * q.W + x] = hf_out<EXACT>((double)gT[(x + R) * q.HP + y], hf_tap_sum<K, EXACT>(kk, w + t));
            }
        }
}

template <int K>
__device__ __forceinline__ void hf_direct_body(const float* __restrict__ in, float* __restrict__ out,
                                               const HfTaps& kk, const FrlInts& g) {
    extern __shared__ double hf_smem[];
    constexpr int R = K / 2, P = HF_P;
    const HfPlane q(g, P);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    double* gT = hf_smem;
    double* ts = hf_smem + (long long)q.WR * q.HP;
    const long long n = blockIdx.x;
    const float* img = in + n * q.C * (long long)q.hw;
    float* oimg = out + n * (long long)q.outStride;
    hf_zero_halos<R>(gT, ts, q);
    bool ok = q.C == 1;  // every strip of this thread allows exact sums
    for (int ch = warp; ch < q.nch; ch += warps)
        for (int x = lane; x < q.W; x += 32) {
            float v0[P], v1[P], v2[P];
            if (q.C == 3) {
                hf_load_strip<P, true>(img, q, ch, x, v0, v1, v2);
                hf_store_strip<P, R, true, double>(gT, oimg, q, ch, x, v0, v1, v2);
            } else {
                hf_load_strip<P, false>(img, q, ch, x, v0, v1, v2);
                ok &= hf_exact_strip<P>(v0, q.exactBelow);
                hf_store_strip<P, R, false, double>(gT, oimg, q, ch, x, v0, v1, v2);
            }
        }
    if (__syncthreads_and(ok && q.exactBelow != 0u)) hf_passes<K, P, double, true>(gT, ts, oimg, kk, q);
    else hf_passes<K, P, double, false>(gT, ts, oimg, kk, q);
}

// At most 40 registers for k <= 9: 6 blocks of 256 threads per SM (no spills on sm_80/sm_90).
#define HF_DIRECT(K)                                                                                      \
    extern "C" __global__ void __launch_bounds__(FRL_BLOCK, (K) <= 9 ? 6 : 4)                            \
    hf_direct_k##K(const float* __restrict__ in, float* __restrict__ out, HfTaps taps, FrlInts g) {      \
        hf_direct_body<K>(in, out, taps, g);                                                              \
    }
HF_EACH_K(HF_DIRECT)

// Streaming path, for planes of at most 32 x 32 (the default; -Dfrl.cuda.hf=block turns it off): the block kernel's steps, but each block
// stays resident and walks images n = blockIdx.x, + gridDim.x, ...; the next image's strip is loaded into registers
// while the passes of this one run, so the global loads' latency hides behind the shared-memory work instead of
// stalling every block at the start of each image. One strip per thread (nch <= warps, W <= 32). One channel keeps
// gT in floats (exact: g is the input value), a third less shared-memory traffic per output. Same bits.
template <int K, bool C3>
__device__ __forceinline__ void hf_stream_body(const float* __restrict__ in, float* __restrict__ out,
                                               const HfTaps& kk, const FrlInts& g) {
    extern __shared__ double hf_smem[];
    constexpr int R = K / 2, P = HF_P;
    const HfPlane q(g, P);
    const long long N = g.v[0], imageIn = (long long)q.C * q.hw;
    const int ch = threadIdx.x >> 5, x = threadIdx.x & 31;
    const bool strip = ch < q.nch && x < q.W;
    using G = typename std::conditional<C3, double, float>::type;
    G* gT = reinterpret_cast<G*>(hf_smem);
    double* ts = hf_smem + (long long)q.WR * q.HP;  // where it lies for a double gT (the host sizes for that)
    hf_zero_halos<R>(gT, ts, q);
    float v0[P], v1[P], v2[P];
    long long n = blockIdx.x;
    if (strip && n < N) hf_load_strip<P, C3>(in + n * imageIn, q, ch, x, v0, v1, v2);
    for (; n < N; n += gridDim.x) {
        float* oimg = out + n * (long long)q.outStride;
        // exact sums for this image where every strip allows them (never for three channels: BT.601 rounds)
        const bool ok = !C3 && q.exactBelow != 0u && (!strip || hf_exact_strip<P>(v0, q.exactBelow));
        if (strip) hf_store_strip<P, R, C3, G>(gT, oimg, q, ch, x, v0, v1, v2);
        const bool exact = __syncthreads_and(ok);
        const long long next = n + gridDim.x;
        if (strip && next < N) hf_load_strip<P, C3>(in + next * imageIn, q, ch, x, v0, v1, v2);
        if (exact) hf_passes<K, P, G, true>(gT, ts, oimg, kk, q);
        else hf_passes<K, P, G, false>(gT, ts, oimg, kk, q);
        __syncthreads();  // the vertical pass has read gT and ts before the next image writes them
    }
}

#define HF_STREAM_BLOCKS(C3, K) ((K) <= 7 && !(C3) ? 6 : (K) <= 9 ? 4 : 3)  // no spills on sm_80/sm_90
#define HF_STREAM_C1(K)                                                                                   \
    extern "C" __global__ void __launch_bounds__(FRL_BLOCK, HF_STREAM_BLOCKS(false, K))                  \
    hf_stream_c1_k##K(const float* __restrict__ in, float* __restrict__ out, HfTaps taps, FrlInts g) {   \
        hf_stream_body<K, false>(in, out, taps, g);                                                       \
    }
#define HF_STREAM_C3(K)                                                                                   \
    extern "C" __global__ void __launch_bounds__(FRL_BLOCK, HF_STREAM_BLOCKS(true, K))                   \
    hf_stream_c3_k##K(const float* __restrict__ in, float* __restrict__ out, HfTaps taps, FrlInts g) {   \
        hf_stream_body<K, true>(in, out, taps, g);                                                        \
    }
#define HF_STREAM(K) HF_STREAM_C1(K) HF_STREAM_C3(K)
HF_EACH_K(HF_STREAM)

// Warp path, for one-channel planes of at most 32 × 32 (-Dfrl.cuda.hf=warp until a GPU has run it): one warp per image,
// no shared memory and no barrier. Lane x holds column x: its H values loaded at once (H loads in flight), then the
// rows in order: the horizontal pass reads the row's neighbours by shuffles (0 past the edges), a register window
// keeps the last K horizontal sums, and row y − R is written as soon as row y is summed. The sums and their order are
// the block kernel's (a tap outside the image adds tap · 0 = +0), so the same bits; with exact sums (each image's
// values checked by a warp vote) the folded order.
template <int K, bool EXACT>
__device__ __forceinline__ void hf_warp_rows(const float (&v)[32], float* __restrict__ oimg, const HfTaps& kk, int H, int W, int lane) {
    constexpr int R = K / 2;
    double hw[K];     // horizontal sums of rows y − 2R .. y, the newest last (0 for rows outside the image)
    // the gray values of rows y − R .. y as doubles, converted once (a 64-bit conversion costs 2 double operations);
    // for k ≥ 9 the window would spill at 2 blocks per SM, and row y − R's value is converted again instead
    constexpr bool KEEP_G = K <= 7;
    double gw[R + 1];
#pragma unroll
    for (int j = 0; j < K; j++) hw[j] = 0.0;
#pragma unroll
    for (int j = 0; j <= R; j++) gw[j] = 0.0;
#pragma unroll
    for (int y = 0; y < 32 + R; y++) {
        double h = 0.0, g = 0.0;
        if (y < H) {  // warp-uniform: every lane shuffles
            g = (double)v[y < 32 ? y : 31];
            double w[K];
#pragma unroll
            for (int j = 0; j < K; j++) {
                const int src = lane + j - R;
                const double n = j == R ? g : __shfl_sync(0xffffffffu, g, src & 31);  // its own column: no shuffle
                w[j] = src >= 0 && src < W ? n : 0.0;
            }
            h = hf_tap_sum<K, EXACT>(kk, w);
        }
#pragma unroll
        for (int j = 0; j + 1 < K; j++) hw[j] = hw[j + 1];
        hw[K - 1] = h;
#pragma unroll
        for (int j = 0; j < R; j++) gw[j] = gw[j + 1];
        gw[R] = g;
        const int yo = y - R;
        if (yo >= 0 && yo < H && lane < W) oimg[yo * W + lane] = hf_out<EXACT>(KEEP_G ? gw[0] : (double)v[yo >= 0 ? yo : 0], hf_tap_sum<K, EXACT>(kk, hw));
    }
}

template <int K>
__device__ __forceinline__ void hf_warp_body(const float* __restrict__ in, float* __restrict__ out, const HfTaps& kk, const FrlInts& g) {
    const long long N = g.v[0];
    const int H = g.v[2], W = g.v[3], hw = H * W, outStride = g.v[4], outOff = g.v[5], copyIn = g.v[6];
    const unsigned below = (unsigned)g.v[12];
    const int lane = threadIdx.x & 31;
    const long long warps = (long long)gridDim.x * (blockDim.x >> 5);
    for (long long n = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); n < N; n += warps) {  // warp-uniform
        const float* img = in + n * hw;
        float* oimg = out + n * (long long)outStride;
        float v[32];
#pragma unroll
        for (int y = 0; y < 32; y++) v[y] = y < H && lane < W ? img[y * W + lane] : 0.f;
        if (copyIn)
#pragma unroll
            for (int y = 0; y < 32; y++)
                if (y < H && lane < W) oimg[y * W + lane] = v[y];
        if (__all_sync(0xffffffffu, hf_exact_strip<32>(v, below))) hf_warp_rows<K, true>(v, oimg + outOff, kk, H, W, lane);
        else hf_warp_rows<K, false>(v, oimg + outOff, kk, H, W, lane);
    }
}

#define HF_WARP_BLOCKS(K) ((K) <= 5 ? 3 : 2)  // no spills on sm_80/sm_90: 32 column values, windows of K sums and R + 1 values
#define HF_WARP(K)                                                                                        \
    extern "C" __global__ void __launch_bounds__(FRL_BLOCK, HF_WARP_BLOCKS(K))                           \
    hf_warp_c1_k##K(const float* __restrict__ in, float* __restrict__ out, HfTaps taps, FrlInts g) {      \
        hf_warp_body<K>(in, out, taps, g);                                                                \
    }
HF_EACH_K(HF_WARP)

// Tile path, for planes of at most 32 columns, W a multiple of 4, any height, k <= 5 (-Dfrl.cuda.hf=tile until a GPU
// has run it): eight lanes an image, four images a warp; lane t holds columns [4t, 4t + 4) of a row as one float4. The
// rows stream down the plane, K at a time loaded at once: row s's horizontal sums take the lane's four values and R
// from each neighbour lane (shuffles of doubles, 0 past the plane's edges) into a register window of K rows, and row
// s − R is finished from the window and stored as a float4. No shared memory, no barrier; the loop body is K rows,
// unrolled by a template, so that row r's slot in the windows (r mod K) is known to the compiler. Why: the other
// kernels issue more instructions an image than 70% of a copy's time allows (CudaFrequency.tilePath has the estimate);
// here a pixel takes 2 shuffles where the warp kernel takes 8, and no shared memory. The sums and their order are
// the other kernels', so the same bits; with exact sums the folded order, row by row: a row's horizontal sums where
// all its values allow them (a warp vote), a row's vertical sums and output where its K window rows all did.
#define HF_TILE_LANES 8  // lanes an image: planes up to 4 · 8 columns

template <int K, bool EXACT>
__device__ __forceinline__ void hf_tile_hsums(const HfTaps& kk, const double (&e)[4 + K - 1], double (&h)[4]) {
#pragma unroll
    for (int c = 0; c < 4; c++) h[c] = hf_tap_sum<K, EXACT>(kk, e + c);
}

__device__ __forceinline__ float4 hf_float4(float a, float b, float c, float d) {
    float4 v;
    v.x = a, v.y = b, v.z = c, v.w = d;
    return v;
}

// x_H of row s − R from the windows (U = s mod K): rows s − 2R .. s are in slots (U + 1 + j) mod K, the gray values of
// row s − R in slot (U + R + 1) mod K.
template <int K, bool EXACT, int U, typename G>
__device__ __forceinline__ float4 hf_tile_out(const HfTaps& kk, const double (&hwin)[K][4], const G (&gwin)[K][4]) {
    float o[4];
#pragma unroll
    for (int c = 0; c < 4; c++) {
        double w[K];
#pragma unroll
        for (int j = 0; j < K; j++) w[j] = hwin[(U + 1 + j) % K][c];
        o[c] = hf_out<EXACT>((double)gwin[(U + K / 2 + 1) % K][c], hf_tap_sum<K, EXACT>(kk, w));
    }
    return hf_float4(o[0], o[1], o[2], o[3]);
}

// One image's rows as a lane of it sees them: the next row to load (at the lane's column 4t; with copyIn, xOut is
// where that row's channels go) and the next row of x_H to store, each moved on by a row as it is used.
struct HfTileLane {
    const float* x;
    float* xOut;
    float* hOut;
    int H, W, hw, t;
    bool copyIn, live;  // live: this lane's columns exist (an image of the batch, 4t < W); else it holds zeros
    unsigned below;     // exact sums under this bound (float bits; 0: never)
};

// The K rows base .. base + K − 1 of each channel, loaded before any is used so that all are in flight at once
// (0 outside the plane or past the batch); with copyIn also stored to the output image. Moves q.x and q.xOut on.
template <int K, bool C3>
__device__ __forceinline__ void hf_tile_load(HfTileLane& q, int base, float4 (&v)[K][C3 ? 3 : 1]) {
#pragma unroll
    for (int u = 0; u < K; u++)
#pragma unroll
        for (int ch = 0; ch < (C3 ? 3 : 1); ch++) {
            v[u][ch] = hf_float4(0.f, 0.f, 0.f, 0.f);
            if (q.live && base + u < q.H) v[u][ch] = *reinterpret_cast<const float4*>(q.x + u * q.W + ch * q.hw);
        }
    if (q.copyIn && q.live)
#pragma unroll
        for (int u = 0; u < K; u++)
#pragma unroll
            for (int ch = 0; ch < (C3 ? 3 : 1); ch++)
                if (base + u < q.H) *reinterpret_cast<float4*>(q.xOut + u * q.W + ch * q.hw) = v[u][ch];
    q.x += K * q.W, q.xOut += K * q.W;
}

// Steps U .. K − 1 of the K at base: row s = base + U in (its values v[U]), row s − R out (each only inside the plane:
// warp-uniform tests).
template <int K, bool C3, int U, typename G>
__device__ __forceinline__ void hf_tile_rows(HfTileLane& q, const HfTaps& kk, int base, const float4 (&v)[K][C3 ? 3 : 1],
                                             double (&hwin)[K][4], G (&gwin)[K][4], unsigned& okRows) {
    constexpr int R = K / 2;
    const int s = base + U;
    const float4 a = v[U][0], b = v[U][C3 ? 1 : 0], c = v[U][C3 ? 2 : 0];
    const float va[4] = {a.x, a.y, a.z, a.w}, vb[4] = {b.x, b.y, b.z, b.w}, vc[4] = {c.x, c.y, c.z, c.w};
    double d[4];
#pragma unroll
    for (int i = 0; i < 4; i++) {
        d[i] = hf_gray3(C3 ? 3 : 1, va[i], vb[i], vc[i]);
        gwin[U][i] = (G)d[i];  // one channel: G = float holds the value itself
    }
    double h[4] = {0.0, 0.0, 0.0, 0.0};  // rows past the plane are 0, as zero padding reads them
    bool rowOk = true;                   // and allow exact sums
    if (s < q.H) {
        double e[4 + K - 1];  // columns 4t − R .. 4t + 3 + R
#pragma unroll
        for (int i = 0; i < R; i++) {
            const double left = __shfl_up_sync(0xffffffffu, d[4 - R + i], 1, HF_TILE_LANES);
            const double right = __shfl_down_sync(0xffffffffu, d[i], 1, HF_TILE_LANES);
            e[i] = q.t == 0 ? 0.0 : left;                            // the first lane has no left neighbour
            e[R + 4 + i] = q.t == HF_TILE_LANES - 1 ? 0.0 : right;  // nor the last a right one (lanes past W hold 0)
        }
#pragma unroll
        for (int i = 0; i < 4; i++) e[R + i] = d[i];
        rowOk = !C3 && q.below != 0u && __all_sync(0xffffffffu, hf_exact_strip<4>(va, q.below));
        if (rowOk) hf_tile_hsums<K, true>(kk, e, h);
        else hf_tile_hsums<K, false>(kk, e, h);
    }
#pragma unroll
    for (int i = 0; i < 4; i++) hwin[U][i] = h[i];
    okRows = okRows << 1 | (unsigned)rowOk;  // bit j: row s − j
    const int y = s - R;
    if (y >= 0 && y < q.H) {
        constexpr unsigned window = (1u << K) - 1u;
        const float4 o = (okRows & window) == window ? hf_tile_out<K, true, U>(kk, hwin, gwin) : hf_tile_out<K, false, U>(kk, hwin, gwin);
        if (q.live) *reinterpret_cast<float4*>(q.hOut) = o;
        q.hOut += q.W;
    }
    if constexpr (U + 1 < K) hf_tile_rows<K, C3, U + 1>(q, kk, base, v, hwin, gwin, okRows);
}

template <int K, bool C3>
__device__ __forceinline__ void hf_tile_body(const float* __restrict__ in, float* __restrict__ out, const HfTaps& kk, const FrlInts& g) {
    constexpr int R = K / 2, PER_WARP = 32 / HF_TILE_LANES;
    using G = typename std::conditional<C3, double, float>::type;
    const long long N = g.v[0], step = (long long)gridDim.x * (blockDim.x >> 5) * PER_WARP;
    const int lane = threadIdx.x & 31;
    HfTileLane q;
    q.H = g.v[2], q.W = g.v[3], q.hw = g.v[2] * g.v[3], q.copyIn = g.v[6] != 0;
    q.t = lane % HF_TILE_LANES;
    q.below = C3 ? 0u : (unsigned)g.v[12];
    // n0: the warp's first image (warp-uniform, so every lane of the warp shuffles and votes to the end)
    for (long long n0 = ((long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5)) * PER_WARP; n0 < N; n0 += step) {
        const long long n = n0 + lane / HF_TILE_LANES;
        q.live = n < N && 4 * q.t < q.W;
        q.x = in + (q.live ? n * (C3 ? 3 : 1) * (long long)q.hw + 4 * q.t : 0);
        q.xOut = out + (q.live ? n * (long long)g.v[4] + 4 * q.t : 0);
        q.hOut = q.xOut + g.v[5];
        double hwin[K][4];  // horizontal sums by row, row r in slot r mod K; rows above the plane are 0
        G gwin[K][4];       // gray values, the same slots
#pragma unroll
        for (int j = 0; j < K; j++)
#pragma unroll
            for (int i = 0; i < 4; i++) hwin[j][i] = 0.0, gwin[j][i] = G(0);
        unsigned okRows = ~0u;
        for (int base = 0; base < q.H + R; base += K) {
            float4 v[K][C3 ? 3 : 1];
            hf_tile_load<K, C3>(q, base, v);
            hf_tile_rows<K, C3, 0>(q, kk, base, v, hwin, gwin, okRows);
        }
    }
}

// 2 blocks per SM; three channels at k = 5 would spill there (K rows of 3 float4 loaded at once): 1
#define HF_TILE_BLOCKS(C3, K) ((C3) && (K) >= 5 ? 1 : 2)
#define HF_TILE_C1(K)                                                                                     \
    extern "C" __global__ void __launch_bounds__(FRL_BLOCK, HF_TILE_BLOCKS(false, K))                   \
    hf_tile_c1_k##K(const float* __restrict__ in, float* __restrict__ out, HfTaps taps, FrlInts g) {     \
        hf_tile_body<K, false>(in, out, taps, g);                                                         \
    }
#define HF_TILE_C3(K)                                                                                     \
    extern "C" __global__ void __launch_bounds__(FRL_BLOCK, HF_TILE_BLOCKS(true, K))                    \
    hf_tile_c3_k##K(const float* __restrict__ in, float* __restrict__ out, HfTaps taps, FrlInts g) {     \
        hf_tile_body<K, true>(in, out, taps, g);                                                          \
    }
#define HF_TILE(K) HF_TILE_C1(K) HF_TILE_C3(K)
HF_TILE(1) HF_TILE(3) HF_TILE(5)

// Fallback for any k or plane size (the plane does not fit in shared memory, or k > 15): HighPass's loops
// one output per thread, grid-stride, with a global double scratch tmp [N, H, W].
extern "C" __global__ void hf_rows_global(const float* __restrict__ in, double* __restrict__ tmp,
                                          const double* __restrict__ taps, FrlInts g) {
    const int N = g.v[0], C = g.v[1], H = g.v[2], W = g.v[3], k = g.v[7], r = k / 2, hw = H * W;
    FRL_FOR(i, (long long)N * hw) {
        const long long n = i / hw;
        const int p = (int)(i - n * hw), y = p / W, x = p - y * W;
        const float* img = in + n * C * (long long)hw;
        const int j0 = max(0, r - x), j1 = min(k, W + r - x);
        double s = 0.0;
        for (int j = j0; j < j1; j++) s = __dadd_rn(s, __dmul_rn(taps[j], hf_gray(img, C, hw, y * W + x + j - r)));
        tmp[i] = s;
    }
}

extern "C" __global__ void hf_cols_global(const float* __restrict__ in, const double* __restrict__ tmp,
                                          float* __restrict__ out, const double* __restrict__ taps, FrlInts g) {
    const int N = g.v[0], C = g.v[1], H = g.v[2], W = g.v[3], outStride = g.v[4], outOff = g.v[5],
              copyIn = g.v[6], k = g.v[7], r = k / 2, hw = H * W;
    FRL_FOR(i, (long long)N * hw) {
        const long long n = i / hw;
        const int p = (int)(i - n * hw), y = p / W, x = p - y * W;
        const float* img = in + n * C * (long long)hw;
        const double* t = tmp + n * (long long)hw;
        float* oimg = out + n * (long long)outStride;
        const int j0 = max(0, r - y), j1 = min(k, H + r - y);
        double s = 0.0;
        for (int j = j0; j < j1; j++) s = __dadd_rn(s, __dmul_rn(taps[j], t[(y + j - r) * W + x]));
        oimg[outOff + p] = hf_out<false>(hf_gray(img, C, hw, p), s);
        if (copyIn)
            for (int c = 0; c < C; c++) oimg[c * hw + p] = img[c * hw + p];
    }
}

// FFT path. Grids are 2-D (Kernel.launchPlanes): x over the elements of one plane (int index, no 64-bit division),
// y over the images (grid-stride, gridDim.y <= 65535).
#define FFT_PLANE_LOOP(e, count)                                                          \
    for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < (count); e += blockDim.x * gridDim.x) \
        for (long long n = FRL_PLANE_FIRST; n < N; n += FRL_PLANE_STRIDE)

// Step 1: the gray plane (float) at the top left of a zero hp x wp plane, buf [N, hp, wp].
extern "C" __global__ void fft_pad(const float* __restrict__ in, float* __restrict__ buf, FrlInts g) {
    const int N = g.v[0], C = g.v[1], H = g.v[2], W = g.v[3], hp = g.v[8], wp = g.v[9], hw = H * W;
    FFT_PLANE_LOOP(e, hp * wp) {
        const int y = e / wp, x = e - y * wp;
        float v = 0.f;
        if (y < H && x < W) v = (float)hf_gray(in + n * C * (long long)hw, C, hw, y * W + x);
        buf[n * hp * (long long)wp + e] = v;
    }
}

// Step 2 (between R2C and C2R): spec [N, hp, wp/2+1] complex times the real gain tf [hp, wp/2+1] (double,
// already scaled by 1/(hp*wp)); per = hp*(wp/2+1).
extern "C" __global__ void fft_multiply(float2* __restrict__ spec, const double* __restrict__ tf, int N, int per) {
    for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < per; e += blockDim.x * gridDim.x) {
        const double t = tf[e];
        for (long long n = FRL_PLANE_FIRST; n < N; n += FRL_PLANE_STRIDE) {
            float2 c = spec[n * per + e];
            c.x = (float)((double)c.x * t);
            c.y = (float)((double)c.y * t);
            spec[n * per + e] = c;
        }
    }
}

// Step 3: x_H = (hp(g) + 1) / 2 from the top left H x W of each plane of buf [N, hp, wp]; with copyIn also
// the image channels (x_F).
extern "C" __global__ void fft_crop(const float* __restrict__ buf, const float* __restrict__ in, float* __restrict__ out, FrlInts g) {
    const int N = g.v[0], C = g.v[1], H = g.v[2], W = g.v[3], outStride = g.v[4], outOff = g.v[5],
              copyIn = g.v[6], hp = g.v[8], wp = g.v[9], hw = H * W;
    FFT_PLANE_LOOP(p, hw) {
        const int y = p / W, x = p - y * W;
        float* oimg = out + n * (long long)outStride;
        oimg[outOff + p] = (buf[n * hp * (long long)wp + y * wp + x] + 1.f) * 0.5f;
        if (copyIn) {
            const float* img = in + n * C * (long long)hw;
            for (int c = 0; c < C; c++) oimg[c * hw + p] = img[c * hw + p];
        }
    }
}

// Benchmark input: 8-bit-like values b / 255 from a hash of the index (no host transfer of 256 MB).
extern "C" __global__ void fill_bytes_hash(float* __restrict__ out, long long n, int seed) {
    FRL_FOR(i, n) {
        unsigned long long z = (unsigned long long)i + 0x9E3779B97F4A7C15ull * (unsigned long long)(seed + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        out[i] = (float)(z & 255ull) / 255.f;
    }
}
