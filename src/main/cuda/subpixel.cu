// The three convolution ops of a strided convolution whose stride divides its kernel, as one GEMM per phase
// (the CPU twin is frl.backend.cpu.SubPixel; the index maps below are its loops, one thread per element).
// In the large tensor x [N, C, H, W] (a transposed convolution's output), the pixel y = q·s + r − pad of phase
// r only meets the taps i = r + s·t, against row q − t of the small tensor dy [N, K, oh, ow].
#include "frl_cuda.cuh"

// Where element i of the split weights [sh·sw, C, K·th·tw] lies in w [K, C, kh, kw]:
// W_r[c, (o, t, u)] = w[o, c, ry + sh·t, rx + sw·u] for every phase r = (ry, rx), phases one after another.
// A bijection (sh·th = kh, sw·tw = kw): the split and its inverse share it.
__device__ inline int subpixel_weight_index(int i, int K, int C, int kh, int kw, int sh, int sw) {
    const int th = kh / sh, tw = kw / sw, depth = K * th * tw;
    const int row = i % depth, rest = i / depth;
    const int ci = rest % C, r = rest / C;
    const int ry = r / sw, rx = r % sw;
    const int u = row % tw, t = (row / tw) % th, o = row / (th * tw);
    return ((o * C + ci) * kh + ry + sh * t) * kw + rx + sw * u;
}

// w [K, C, kh, kw] → out [sh·sw, C, K·th·tw]; fewer than 2^31 weights (the host checks).
extern "C" __global__ void subpixel_split_weights(const float* __restrict__ w, float* __restrict__ out,
                                                  int K, int C, int kh, int kw, int sh, int sw) {
    FRL_FOR(i, K * C * kh * kw) out[i] = w[subpixel_weight_index((int)i, K, C, kh, kw, sh, sw)];
}

// The inverse: phases [sh·sw, C, K·th·tw] → w [K, C, kh, kw] (every element of w written once).
extern "C" __global__ void subpixel_unsplit_weights(const float* __restrict__ phases, float* __restrict__ w,
                                                    int K, int C, int kh, int kw, int sh, int sw) {
    FRL_FOR(i, K * C * kh * kw) w[subpixel_weight_index((int)i, K, C, kh, kw, sh, sw)] = phases[i];
}

// A weight gradient summed over its pixels in chunks (SubPixelPlans and UnfoldPlans, -Dfrl.cuda.splitK): dst[e] = the sum over
// j ascending, from 0, of src[j·floats + e], the chunks' partial products.
extern "C" __global__ void subpixel_sum_slices(const float* __restrict__ src, float* __restrict__ dst, int slices, long long floats) {
    FRL_FOR(e, floats) {
        float s = 0.f;
#pragma unroll 8
        for (int j = 0; j < slices; j++) s += src[j * floats + e];
        dst[e] = s;
    }
}

// cols[img·imgStride + (o, t, u)·rowStride + (a, b)] = dy[img, o, qy0 + a − t, qx0 + b − u], 0 outside dy.
// dy [N, K, oh, ow]; (depth·q, q) lays cols out as [N, depth, q], (q, N·q) as [depth, N·q].
extern "C" __global__ void subpixel_gather(const float* __restrict__ dy, float* __restrict__ cols, int N, int K, int oh, int ow,
                                           int th, int tw, int qy0, int qh, int qx0, int qw, long long imgStride, long long rowStride) {
    const int q = qh * qw, taps = th * tw, depth = K * taps;
    FRL_PLANES(line, N * depth) {  // line = (img, row): one row of cols_r for one image
        const int img = line / depth, row = line - img * depth, o = row / taps, t = (row - o * taps) / tw, u = row % tw;
        const float* plane = dy + ((long long)img * K + o) * oh * ow;
        float* out = cols + img * imgStride + row * rowStride;
        FRL_PLANE_ELEMENTS(col, q) {
            const int a = col / qw, b = col - a * qw, oy = qy0 + a - t, ox = qx0 + b - u;
            out[col] = (oy >= 0 && oy < oh && ox >= 0 && ox < ow) ? plane[oy * ow + ox] : 0.f;
        }
    }
}

// The gather with SUBPIXEL_LINES lines per thread, every load issued before the first store. Above, each thread has
// one load in flight, and the GPU waits on their latency: 0.14 ms for the 64 MB of the VAE's last layer on an H200,
// a tenth of the copy bandwidth. -Dfrl.cuda.phaseLoads=batched until a GPU has run it. Same values.
// PARTS: instead of cols, its 3xTF32 parts (tf32.cu's tf32_parts of cols, in one pass): `parts` copies, the j-th at
// cols + j·partStride, the small part where bit j of smallMask is set, else the big one.
#define SUBPIXEL_LINES 8
template <bool PARTS>
__device__ __forceinline__ void subpixel_gather_lines_body(const float* __restrict__ dy, float* __restrict__ cols, int N, int K, int oh,
                                                           int ow, int th, int tw, int qy0, int qh, int qx0, int qw, long long imgStride,
                                                           long long rowStride, int parts, int smallMask, long long partStride) {
    const int q = qh * qw, taps = th * tw, depth = K * taps, lines = N * depth;
    for (int first = FRL_PLANE_FIRST * SUBPIXEL_LINES; first < lines; first += FRL_PLANE_STRIDE * SUBPIXEL_LINES)
        FRL_PLANE_ELEMENTS(col, q) {
            const int a = col / qw, b = col - a * qw;
            float v[SUBPIXEL_LINES];
            // line = (img, row), row = (o, t, u): stepped from `first` by carries, no division per line
            int img = first / depth, row = first - img * depth, o = row / taps, t = (row - o * taps) / tw, u = row % tw;
#pragma unroll
            for (int j = 0; j < SUBPIXEL_LINES; j++) {
                const int oy = qy0 + a - t, ox = qx0 + b - u;
                v[j] = (first + j < lines && oy >= 0 && oy < oh && ox >= 0 && ox < ow) ? dy[((long long)img * K + o) * oh * ow + oy * ow + ox] : 0.f;
                if (++u == tw) { u = 0; if (++t == th) { t = 0; if (++o == K) { o = 0; img++; } } }
            }
            img = first / depth, row = first - img * depth;
#pragma unroll
            for (int j = 0; j < SUBPIXEL_LINES; j++) {
                if (first + j < lines) {
                    float* out = cols + img * imgStride + row * rowStride + col;
                    if (!PARTS) *out = v[j];
                    else {
                        const Tf32Parts x = tf32_split(v[j]);
                        tf32_store_parts(out, partStride, parts, smallMask, x.big, x.small);
                    }
                }
                if (++row == depth) { row = 0; img++; }
            }
        }
}

extern "C" __global__ void subpixel_gather_lines(const float* __restrict__ dy, float* __restrict__ cols, int N, int K, int oh, int ow,
                                                 int th, int tw, int qy0, int qh, int qx0, int qw, long long imgStride, long long rowStride) {
    subpixel_gather_lines_body<false>(dy, cols, N, K, oh, ow, th, tw, qy0, qh, qx0, qw, imgStride, rowStride, 0, 0, 0);
}

extern "C" __global__ void subpixel_gather_parts(const float* __restrict__ dy, float* __restrict__ cols, int N, int K, int oh, int ow,
                                                 int th, int tw, int qy0, int qh, int qx0, int qw, long long imgStride, long long rowStride,
                                                 int parts, int smallMask, long long partStride) {
    subpixel_gather_lines_body<true>(dy, cols, N, K, oh, ow, th, tw, qy0, qh, qx0, qw, imgStride, rowStride, parts, smallMask, partStride);
}

// Where the phase pixel (a, b) of plane img·C + c lies in x [N, C, h, w]: ((qy0 + a)·sh + ry − padH, (qx0 + b)·sw + rx − padW).
__device__ inline long long subpixel_pixel(long long plane, int a, int b, int h, int w, int qy0, int qx0, int sh, int sw,
                                           int ry, int rx, int padH, int padW) {
    const int y = (qy0 + a) * sh + ry - padH, x = (qx0 + b) * sw + rx - padW;
    return (plane * h + y) * w + x;
}

// dx[phase pixel (a, b) of plane img·C + c] = part[img·imgStride + c·cStride + (a, b)]: one phase's pixels.
// (C·q, q) reads part as [N, C, q], (q, N·q) as [C, N·q].
extern "C" __global__ void subpixel_scatter(const float* __restrict__ part, float* __restrict__ dx, int N, int C, int h, int w,
                                            int qy0, int qh, int qx0, int qw, int sh, int sw, int ry, int rx, int padH, int padW,
                                            long long imgStride, long long cStride) {
    const int q = qh * qw;
    FRL_PLANES(plane, N * C) {
        const int img = plane / C, ci = plane - img * C;
        const float* src = part + img * imgStride + ci * cStride;
        FRL_PLANE_ELEMENTS(col, q) dx[subpixel_pixel(plane, col / qw, col % qw, h, w, qy0, qx0, sh, sw, ry, rx, padH, padW)] = src[col];
    }
}

// Its inverse: part[img·imgStride + c·cStride + (a, b)] = x[phase pixel (a, b) of plane img·C + c].
// (C·q, q) lays part out as [N, C, q], (q, N·q) as [C, N·q].
extern "C" __global__ void subpixel_gather_pixels(const float* __restrict__ x, float* __restrict__ part, int N, int C, int h, int w,
                                                  int qy0, int qh, int qx0, int qw, int sh, int sw, int ry, int rx, int padH, int padW,
                                                  long long imgStride, long long cStride) {
    const int q = qh * qw;
    FRL_PLANES(plane, N * C) {
        const int img = plane / C, ci = plane - img * C;
        float* dst = part + img * imgStride + ci * cStride;
        FRL_PLANE_ELEMENTS(col, q) dst[col] = x[subpixel_pixel(plane, col / qw, col % qw, h, w, qy0, qx0, sh, sw, ry, rx, padH, padW)];
    }
}

// Element i of y [N, K, oh, ow] as (img, o, oy, ox).
struct SubpixelOut { int img, o, oy, ox; };
__device__ __forceinline__ SubpixelOut subpixel_out(long long i, int K, int oh, int ow) {
    const long long plane = i / ((long long)oh * ow);  // img·K + o
    return {(int)(plane / K), (int)(plane % K), (int)((i / ow) % oh), (int)(i % ow)};
}

// conv2d's output from the phase GEMMs: y[img, o, oy, ox] = Σ over phases r, taps t < th, u < tw of
// outs_r[img, (o, t, u), (oy + t − qy0_r, ox + u − qx0_r)] where that lies inside the phase's qh_r × qw_r = q_r pixels
// (outside: x's padding). outs_r starts at outs + (ry·sw + rx)·slot and holds (img, row, (a, b)) at
// (img·imgStride + row·rowStride)·q_r + a·qw_r + b: strides in units of q_r, since one launch reads phases of different
// sizes; (1, N) reads [depth, N·q_r], (depth, 1) [N, depth, q_r]. rows holds (qy0, qh) for each ry, cols (qx0, qw)
// for each rx (qh or qw 0 for a phase that owns no pixel). Fixed order, no atomics. Both tables are __grid_constant__:
// indexed at run time, a by-value copy sat on each thread's stack (a 256-byte frame written per thread).
extern "C" __global__ void subpixel_sum_phases(const float* __restrict__ outs, float* __restrict__ y, int N, int K, int oh, int ow,
                                               int th, int tw, int sh, int sw, long long slot, long long imgStride, long long rowStride,
                                               const __grid_constant__ FrlInts rows, const __grid_constant__ FrlInts cols) {
    FRL_FOR(i, (long long)N * K * oh * ow) {
        const SubpixelOut e = subpixel_out(i, K, oh, ow);
        const int img = e.img, o = e.o, oy = e.oy, ox = e.ox;
        float sum = 0.f;
        for (int ry = 0; ry < sh; ry++) {
            const int qy0 = rows.v[2 * ry], qh = rows.v[2 * ry + 1];
            for (int rx = 0; rx < sw; rx++) {
                const int qx0 = cols.v[2 * rx], qw = cols.v[2 * rx + 1];
                const float* out = outs + (long long)(ry * sw + rx) * slot;
                for (int t = 0; t < th; t++) {
                    const int a = oy + t - qy0;
                    if (a < 0 || a >= qh) continue;
                    for (int u = 0; u < tw; u++) {
                        const int b = ox + u - qx0;
                        if (b < 0 || b >= qw) continue;
                        const long long row = (o * th + t) * tw + u;
                        sum += out[(img * imgStride + row * rowStride) * (qh * qw) + a * qw + b];
                    }
                }
            }
        }
        y[i] = sum;
    }
}

// subpixel_sum_phases for stride 2 with 2 taps a side (4×4 kernels, the VAE's): the 16 terms' loads unrolled and
// issued together, then added in the same order (a term outside its phase adds +0). The loop above has one load in
// flight per thread (0.12 ms for 67 MB on an H200). -Dfrl.cuda.phaseLoads=batched until a GPU has run it.
extern "C" __global__ void subpixel_sum_phases_s2t2(const float* __restrict__ outs, float* __restrict__ y, int N, int K, int oh, int ow,
                                                    int th, int tw, int sh, int sw, long long slot, long long imgStride, long long rowStride,
                                                    const __grid_constant__ FrlInts rows, const __grid_constant__ FrlInts cols) {
    FRL_FOR(i, (long long)N * K * oh * ow) {
        const SubpixelOut e = subpixel_out(i, K, oh, ow);
        const int img = e.img, o = e.o, oy = e.oy, ox = e.ox;
        float v[16];
#pragma unroll
        for (int r = 0; r < 4; r++) {
            const int qy0 = rows.v[2 * (r >> 1)], qh = rows.v[2 * (r >> 1) + 1], qx0 = cols.v[2 * (r & 1)], qw = cols.v[2 * (r & 1) + 1];
            const float* out = outs + (long long)r * slot;
#pragma unroll
            for (int tu = 0; tu < 4; tu++) {
                const int t = tu >> 1, u = tu & 1, a = oy + t - qy0, b = ox + u - qx0;
                const long long row = (o * 2 + t) * 2 + u;
                v[4 * r + tu] = (a >= 0 && a < qh && b >= 0 && b < qw) ? out[(img * imgStride + row * rowStride) * (qh * qw) + a * qw + b] : 0.f;
            }
        }
        float sum = 0.f;
#pragma unroll
        for (int j = 0; j < 16; j++) sum += v[j];
        y[i] = sum;
    }
}
