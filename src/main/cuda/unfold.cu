// Convolutions as unfolded GEMMs (Java side: frl.backend.cuda.UnfoldPlans, CudaUnfold; CPU twin: CpuConv's im2col).
// x [N, C, H, W], w [K, C, kh, kw], y [N, K, OH, OW]; cols [C·kh·kw, N·OH·OW] row-major: row (c, i, j), column
// (img, oy, ox) = x[img, c, oy·sh − ph + i, ox·sw − pw + j], 0 in the padding. 2-D grids (Kernel.launchPlanes): y over
// planes, x over a plane's elements, int indices inside a plane, 64-bit offsets.
#include "frl_cuda.cuh"

// FrlInts of the geometry: v[0] N, v[1] C, v[2] H, v[3] W, v[4] K, v[5] kh, v[6] kw, v[7] OH, v[8] OW, v[9] sh, v[10] sw,
// v[11] ph, v[12] pw.
struct UnfoldGeometry {
    int N, C, H, W, K, kh, kw, OH, OW, sh, sw, ph, pw;
    __device__ UnfoldGeometry(const FrlInts& g)
        : N(g.v[0]), C(g.v[1]), H(g.v[2]), W(g.v[3]), K(g.v[4]), kh(g.v[5]), kw(g.v[6]), OH(g.v[7]), OW(g.v[8]), sh(g.v[9]),
          sw(g.v[10]), ph(g.v[11]), pw(g.v[12]) {}
    __device__ int P() const { return OH * OW; }
    __device__ int NP() const { return N * OH * OW; }
};

// cols from x: one plane per row (c, i, j), its N·OH·OW columns.
extern "C" __global__ void unfold_im2col(const float* __restrict__ x, float* __restrict__ cols, FrlInts geometry) {
    const UnfoldGeometry g(geometry);
    const int P = g.P(), NP = g.NP();
    FRL_PLANES(row, g.C * g.kh * g.kw) {
        const int j = row % g.kw, i = (row / g.kw) % g.kh, c = row / (g.kw * g.kh);
        float* out = cols + (long long)row * NP;
        FRL_PLANE_ELEMENTS(col, NP) {
            const int img = col / P, p = col - img * P, oy = p / g.OW, ox = p - oy * g.OW;
            const int iy = oy * g.sh - g.ph + i, ix = ox * g.sw - g.pw + j;
            out[col] = iy >= 0 && iy < g.H && ix >= 0 && ix < g.W ? x[(((long long)img * g.C + c) * g.H + iy) * g.W + ix] : 0.f;
        }
    }
}

// dx from dcols (the adjoint of unfold_im2col): each pixel of x sums the columns its taps reached, taps (i, j) in
// ascending order, from 0 (no atomics: the same sums every run). One plane per (img, c), its H·W pixels.
extern "C" __global__ void unfold_col2im(const float* __restrict__ dcols, float* __restrict__ dx, FrlInts geometry) {
    const UnfoldGeometry g(geometry);
    const int P = g.P(), NP = g.NP();
    FRL_PLANES(plane, g.N * g.C) {
        const int img = plane / g.C, c = plane - img * g.C;
        float* out = dx + (long long)plane * g.H * g.W;
        FRL_PLANE_ELEMENTS(e, g.H * g.W) {
            const int y = e / g.W, xx = e - y * g.W;
            float s = 0.f;
            for (int i = 0; i < g.kh; i++) {
                const int ty = y + g.ph - i;
                if (ty < 0 || ty % g.sh != 0 || ty / g.sh >= g.OH) continue;
                for (int j = 0; j < g.kw; j++) {
                    const int tx = xx + g.pw - j;
                    if (tx < 0 || tx % g.sw != 0 || tx / g.sw >= g.OW) continue;
                    s += dcols[(long long)((c * g.kh + i) * g.kw + j) * NP + img * P + (ty / g.sh) * g.OW + tx / g.sw];
                }
            }
            out[e] = s;
        }
    }
}

// y [N, K, OH·OW] from `slices` partial products [K, N·OH·OW] one after another (split along the inner size; 1: a
// plain change of layout): y[img, k, p] = the sum over s ascending, from 0, of slice s at (k, img·P + p).
extern "C" __global__ void unfold_rows_to_nchw(const float* __restrict__ partials, float* __restrict__ y, int slices, FrlInts geometry) {
    const UnfoldGeometry g(geometry);
    const int P = g.P(), NP = g.NP();
    const long long slice = (long long)g.K * NP;
    FRL_PLANES(plane, g.N * g.K) {
        const int img = plane / g.K, k = plane - img * g.K;
        const float* in = partials + (long long)k * NP + (long long)img * P;
        FRL_PLANE_ELEMENTS(p, P) {
            float s = 0.f;
#pragma unroll 4
            for (int j = 0; j < slices; j++) s += in[j * slice + p];
            y[(long long)plane * P + p] = s;
        }
    }
}

// The other way, one slice: rows [K, N·OH·OW] from dy [N, K, OH·OW].
extern "C" __global__ void unfold_nchw_to_rows(const float* __restrict__ dy, float* __restrict__ rows, FrlInts geometry) {
    const UnfoldGeometry g(geometry);
    const int P = g.P(), NP = g.NP();
    FRL_PLANES(plane, g.N * g.K) {
        const int img = plane / g.K, k = plane - img * g.K;
        float* out = rows + (long long)k * NP + (long long)img * P;
        FRL_PLANE_ELEMENTS(p, P) out[p] = dy[(long long)plane * P + p];
    }
}
