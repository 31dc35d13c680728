// PixelCNN++'s shifted convolutions on TF32 tensor cores at float32's accuracy (3xTF32): the forward and the input
// gradient, the implicit GEMMs of masked_conv.cu's shifted_gemm (the same sums, the causal padding fused into the
// loads) with mma.sync m16n8k8 over the operands' TF32 parts, a·b as a_small·b_big + a_big·b_small + a_big·b_big
// (~2^-22 relative per product, where one TF32 pass keeps ~2^-11). -Dfrl.cuda.shiftedKernel=mma (CudaShiftedConv).
//
// A block computes 128 pixels × 80 output channels (PixelCNN++'s filter counts are multiples of 80), eight warps of
// 32 pixels × 40 channels each: 2 × 5 tiles of 16 × 8, three MMAs per tile and k-step of 8. The reduction runs over
// 16 channels at a time and, inside those, tap by tap (so a tap's shifted loads find the lines the last tap's brought
// into L1): each thread stages one pixel's 8 values and 5 weights. Shared memory holds the floats themselves, in two
// buffers: a warp splits each fragment into its parts as it loads it (three integer and float ops a value, where
// staging both parts took twice the shared loads and stores), and a stage's values are stored into one buffer while
// the warps multiply out of the other, one barrier a stage. Where the pixel and channel tiles alone would leave
// SMs idle (PixelCNN++'s 16×16 and 8×8 layers), grid z splits the stages into parts of `per`, each written to its own
// slice of dst and summed in order by masked_conv.cu's shifted_sum_parts.
#include "frl_cuda.cuh"
#include "frl_shifted.cuh"

#define MMA_PIXELS 128
#define MMA_CHANNELS 80
#define MMA_STEP 16
#define MMA_THREADS 256
#define A_PITCH (MMA_PIXELS + 8)    // a fragment's 32 loads in 32 banks: 136 ≡ 8 (mod 32), bank 8t + g
#define B_PITCH (MMA_CHANNELS + 8)  // 88 ≡ 24 (mod 32), bank 24t + g

// A float's 3xTF32 parts as the tensor cores take them: big = v rounded to TF32 (tf32_round's rounding, on the bits),
// small = v − big (exact), whose bits below TF32's the tensor cores ignore.
__device__ __forceinline__ void tf32_parts(float v, unsigned& big, unsigned& small) {
    big = (__float_as_uint(v) + 0x1000u) & 0xFFFFE000u;
    small = __float_as_uint(v - __uint_as_float(big));
}

// The forward (GRAD false) or the input gradient, one implicit GEMM: rows are pixels (n, i, j), columns output channels
// m, the reduction over the taps and the reduced channels r (as shifted_gemm):
//   forward: y[n,m,i,j]  = Σ_{r,p,q} w[m,r,p,q] · x[n,r, i+p−top, j+q−left];
//   GRAD:    dx[n,m,i,j] = Σ_{r,p,q} w[r,m,p,q] · dy[n,r, i+top−p, j+left−q]     (0 outside the image).
// With ELU (the forward only), src holds x of C/2 channels and the convolution reads concatElu(x) = [elu(x), elu(−x)]
// of C, computed as each value is loaded (the 2C channels are never written).
template <bool GRAD, bool ELU = false>
__device__ __forceinline__ void shifted_mma(const float* __restrict__ src, const float* __restrict__ w, float* __restrict__ dst,
                                            int N, int C, int H, int W, int K, int kh, int kw, int top, int left, int per) {
    __shared__ float As[2][MMA_STEP][A_PITCH];  // [buffer][reduced channel][pixel]
    __shared__ float Bs[2][MMA_STEP][B_PITCH];  // [buffer][reduced channel][output channel]
    const int t = threadIdx.x, lane = t & 31, warp = t >> 5, g = lane >> 2, q4 = lane & 3;
    const int HW = H * W, T = kh * kw, rows = GRAD ? C : K, reduced = GRAD ? K : C;
    const long long P = (long long)N * HW, p0 = (long long)blockIdx.x * MMA_PIXELS;
    const int m0 = blockIdx.y * MMA_CHANNELS, wp = (warp & 3) * 32, wm = (warp >> 2) * 40;
    const int steps = (reduced + MMA_STEP - 1) / MMA_STEP, first = blockIdx.z * per, last = min(T * steps, first + per);
    dst += (long long)blockIdx.z * P * rows;  // this part's slice (the only one where gridDim.z is 1)

    // The pixel this thread stages (A's column ap, reduced channels ak + 2l): fixed for the block.
    const int ap = t & (MMA_PIXELS - 1), ak = t >> 7;
    const ShiftedPixel at = shifted_pixel(p0 + ap, P, H, W, 0, 0);
    const int srcChannels = ELU ? reduced / 2 : reduced;
    const long long aimg = (long long)at.n * srcChannels * HW;

    // A stage's values in registers: this pixel's 8 channels and 5 of the weights.
    float xv[MMA_STEP / 2], wv[MMA_STEP * MMA_CHANNELS / MMA_THREADS];
    auto load = [&](int stage) {
        const int step = stage / T, tap = stage - step * T, r0 = step * MMA_STEP, p = tap / kw, q = tap - p * kw;
        const ShiftedPixel in = shifted_by(at, H, W, GRAD ? top - p : p - top, GRAD ? left - q : q - left);
        const float* s = src + aimg + (in.inside ? (long long)in.yy * W + in.xx : 0);
#pragma unroll
        for (int l = 0; l < MMA_STEP / 2; l++) {
            const int r = r0 + ak + 2 * l;
            if (ELU) {
                const bool neg = r >= srcChannels;
                const float v = in.inside && r < reduced ? s[(long long)(neg ? r - srcChannels : r) * HW] : 0.f;
                xv[l] = elu1(neg ? -v : v);   // as fused.cu's concat_elu writes it
            } else {
                xv[l] = in.inside && r < reduced ? s[(long long)r * HW] : 0.f;
            }
        }
#pragma unroll
        for (int l = 0; l < MMA_STEP * MMA_CHANNELS / MMA_THREADS; l++) {
            const int e = t + MMA_THREADS * l, k = e / MMA_CHANNELS, m = m0 + e - k * MMA_CHANNELS, r = r0 + k;
            wv[l] = m < rows && r < reduced ? w[((GRAD ? (long long)r * C + m : (long long)m * C + r)) * T + tap] : 0.f;
        }
    };
    auto store = [&](int buf) {
#pragma unroll
        for (int l = 0; l < MMA_STEP / 2; l++) As[buf][ak + 2 * l][ap] = xv[l];
#pragma unroll
        for (int l = 0; l < MMA_STEP * MMA_CHANNELS / MMA_THREADS; l++) {
            const int e = t + MMA_THREADS * l, k = e / MMA_CHANNELS;
            Bs[buf][k][e - k * MMA_CHANNELS] = wv[l];
        }
    };

    float acc[2][5][4];
#pragma unroll
    for (int a = 0; a < 2; a++)
#pragma unroll
        for (int b = 0; b < 5; b++)
#pragma unroll
            for (int c = 0; c < 4; c++) acc[a][b][c] = 0.f;

    load(first);
    store(0);
    __syncthreads();
    int buf = 0;
    for (int stage = first; stage < last; stage++, buf ^= 1) {
        if (stage + 1 < last) load(stage + 1);  // in flight while the warps multiply
#pragma unroll
        for (int ks = 0; ks < MMA_STEP; ks += 8) {
            unsigned ab[2][4], as[2][4], bb[5][2], bs[5][2];
#pragma unroll
            for (int mt = 0; mt < 2; mt++) {
                const int px = wp + 16 * mt + g;
                tf32_parts(As[buf][ks + q4][px], ab[mt][0], as[mt][0]);
                tf32_parts(As[buf][ks + q4][px + 8], ab[mt][1], as[mt][1]);
                tf32_parts(As[buf][ks + q4 + 4][px], ab[mt][2], as[mt][2]);
                tf32_parts(As[buf][ks + q4 + 4][px + 8], ab[mt][3], as[mt][3]);
            }
#pragma unroll
            for (int nt = 0; nt < 5; nt++) {
                const int ch = wm + 8 * nt + g;
                tf32_parts(Bs[buf][ks + q4][ch], bb[nt][0], bs[nt][0]);
                tf32_parts(Bs[buf][ks + q4 + 4][ch], bb[nt][1], bs[nt][1]);
            }
#pragma unroll
            for (int mt = 0; mt < 2; mt++)
#pragma unroll
                for (int nt = 0; nt < 5; nt++) {  // the small products first, into the same float sums
                    mma_tf32(acc[mt][nt], as[mt], bb[nt]);
                    mma_tf32(acc[mt][nt], ab[mt], bs[nt]);
                    mma_tf32(acc[mt][nt], ab[mt], bb[nt]);
                }
        }
        // the other buffer was last read a stage ago, before the barrier that ended it
        if (stage + 1 < last) store(buf ^ 1);
        __syncthreads();
    }

    // d[i]: pixel g (i < 2) or g + 8, channel 2·q4 + (i & 1) of its tile.
#pragma unroll
    for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int half = 0; half < 2; half++) {
            const long long pp = p0 + wp + 16 * mt + g + 8 * half;
            if (pp >= P) continue;
            const int n = (int)(pp / HW), r = (int)(pp - (long long)n * HW);
            float* out = dst + (long long)n * rows * HW + r;
#pragma unroll
            for (int nt = 0; nt < 5; nt++)
#pragma unroll
                for (int j = 0; j < 2; j++) {
                    const int m = m0 + wm + 8 * nt + 2 * q4 + j;
                    if (m < rows) out[(long long)m * HW] = acc[mt][nt][2 * half + j];
                }
        }
}

extern "C" __global__ void __launch_bounds__(MMA_THREADS, 2) shifted_mma_fwd(const float* __restrict__ x, const float* __restrict__ w,
                                                                             float* __restrict__ y, int N, int C, int H, int W, int K,
                                                                             int kh, int kw, int top, int left, int per) {
    shifted_mma<false>(x, w, y, N, C, H, W, K, kh, kw, top, left, per);
}

extern "C" __global__ void __launch_bounds__(MMA_THREADS, 2) shifted_mma_fwd_elu(const float* __restrict__ x, const float* __restrict__ w,
                                                                                 float* __restrict__ y, int N, int C, int H, int W, int K,
                                                                                 int kh, int kw, int top, int left, int per) {
    shifted_mma<false, true>(x, w, y, N, C, H, W, K, kh, kw, top, left, per);
}

extern "C" __global__ void __launch_bounds__(MMA_THREADS, 2) shifted_mma_bwd_input(const float* __restrict__ dy, const float* __restrict__ w,
                                                                                   float* __restrict__ dx, int N, int C, int H, int W, int K,
                                                                                   int kh, int kw, int top, int left, int per) {
    shifted_mma<true>(dy, w, dx, N, C, H, W, K, kh, kw, top, left, per);
}

// The weight gradient on tensor cores, one tap per grid-z slice and the pixels split in S chunks of `chunk` (as
// masked_conv.cu's shifted_bwd_weight, whose shifted_sum_parts adds the S slices):
//   out[s][m][r][tap] = Σ_{pixels (n,i,j) of chunk s} dy[n,m,i,j] · x[n,r, i+p−top, j+q−left]
// A block computes 80 output channels m (grid y) × 80 input channels r (grid x): ten warps of 16 × 40, five tiles of
// 16 × 8 each; blockIdx.z = s·T + tap. The reduction runs over 16 pixels at a time: each thread stages one pixel's
// 4 values of dy and 4 of x, and loads the next 16 pixels' while the warps multiply; shared memory and the parts as
// the forward's.
#define WG_THREADS 320
#define WG_PER_THREAD (MMA_STEP * MMA_CHANNELS / WG_THREADS)

extern "C" __global__ void __launch_bounds__(WG_THREADS, 2) shifted_mma_bwd_weight(const float* __restrict__ x, const float* __restrict__ dy,
                                                                                   float* __restrict__ out, int N, int C, int H, int W, int K,
                                                                                   int kh, int kw, int top, int left, int chunk) {
    __shared__ float Ds[2][MMA_STEP][B_PITCH];  // [buffer][pixel][output channel]
    __shared__ float Xs[2][MMA_STEP][B_PITCH];  // [buffer][pixel][input channel]
    const int t = threadIdx.x, lane = t & 31, warp = t >> 5, g = lane >> 2, q4 = lane & 3;
    const int HW = H * W, T = kh * kw, tap = blockIdx.z % T, s = blockIdx.z / T, p = tap / kw, q = tap - p * kw;
    const int m0 = blockIdx.y * MMA_CHANNELS, r0 = blockIdx.x * MMA_CHANNELS, wm = (warp % 5) * 16, wr = (warp / 5) * 40;
    const long long P = (long long)N * HW, pb = (long long)s * chunk, pe = min(P, pb + chunk);
    const int kk = t & (MMA_STEP - 1), cb = t >> 4;  // this thread stages pixel kk of each step, channels cb + 20l

    float dv[WG_PER_THREAD], xv[WG_PER_THREAD];
    auto load = [&](long long k0) {
        const ShiftedPixel at = shifted_pixel(k0 + kk, pe, H, W, p - top, q - left);
        const float* d = dy + (long long)at.n * K * HW + (long long)at.i * W + at.j;
        const float* xs = x + (long long)at.n * C * HW + (at.inside ? (long long)at.yy * W + at.xx : 0);
#pragma unroll
        for (int l = 0; l < WG_PER_THREAD; l++) {
            const int c = cb + (WG_THREADS / MMA_STEP) * l, m = m0 + c, r = r0 + c;
            dv[l] = at.valid && m < K ? d[(long long)m * HW] : 0.f;
            xv[l] = at.inside && r < C ? xs[(long long)r * HW] : 0.f;
        }
    };
    auto store = [&](int buf) {
#pragma unroll
        for (int l = 0; l < WG_PER_THREAD; l++) {
            const int c = cb + (WG_THREADS / MMA_STEP) * l;
            Ds[buf][kk][c] = dv[l];
            Xs[buf][kk][c] = xv[l];
        }
    };

    float acc[5][4];
#pragma unroll
    for (int b = 0; b < 5; b++)
#pragma unroll
        for (int c = 0; c < 4; c++) acc[b][c] = 0.f;

    load(pb);
    store(0);
    __syncthreads();
    int buf = 0;
    for (long long k0 = pb; k0 < pe; k0 += MMA_STEP, buf ^= 1) {
        const bool more = k0 + MMA_STEP < pe;
        if (more) load(k0 + MMA_STEP);  // in flight while the warps multiply
#pragma unroll
        for (int ks = 0; ks < MMA_STEP; ks += 8) {
            // A = dy's 16 channels × 8 pixels, B = x's 8 pixels × 8 channels
            unsigned ab[4], as[4];
            tf32_parts(Ds[buf][ks + q4][wm + g], ab[0], as[0]);
            tf32_parts(Ds[buf][ks + q4][wm + g + 8], ab[1], as[1]);
            tf32_parts(Ds[buf][ks + q4 + 4][wm + g], ab[2], as[2]);
            tf32_parts(Ds[buf][ks + q4 + 4][wm + g + 8], ab[3], as[3]);
#pragma unroll
            for (int nt = 0; nt < 5; nt++) {
                const int ch = wr + 8 * nt + g;
                unsigned bb[2], bs[2];
                tf32_parts(Xs[buf][ks + q4][ch], bb[0], bs[0]);
                tf32_parts(Xs[buf][ks + q4 + 4][ch], bb[1], bs[1]);
                mma_tf32(acc[nt], as, bb);  // the small products first, into the same float sums
                mma_tf32(acc[nt], ab, bs);
                mma_tf32(acc[nt], ab, bb);
            }
        }
        if (more) store(buf ^ 1);  // the other buffer was last read before the barrier that ended the last step
        __syncthreads();
    }

    // d[i]: output channel g (i < 2) or g + 8, input channel 2·q4 + (i & 1) of its tile.
    float* o = out + (long long)s * K * C * T;
#pragma unroll
    for (int half = 0; half < 2; half++) {
        const int m = m0 + wm + g + 8 * half;
        if (m >= K) continue;
#pragma unroll
        for (int nt = 0; nt < 5; nt++)
#pragma unroll
            for (int j = 0; j < 2; j++) {
                const int r = r0 + wr + 8 * nt + 2 * q4 + j;
                if (r < C) o[((long long)m * C + r) * T + tap] = acc[nt][2 * half + j];
            }
    }
}
