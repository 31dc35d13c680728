// Layout kernels (CPU twin: frl.backend.cpu.CpuLayout): they only move floats. Every index space here has
// fewer than 2^31 elements (checked in Java), so positions decompose in 32-bit math; offsets are 64-bit.
#include "frl_cuda.cuh"
#include "frl_index.cuh"

// rows runs of `run` floats: dst[r*dstRow + dstOff + j] = src[r*srcRow + srcOff + j] for r < rows, j < run.
// concat (one launch per input) and narrow.
extern "C" __global__ void copy_rows(const float* src, float* dst, int rows, int run, long long srcRow, long long srcOff,
                                     long long dstRow, long long dstOff) {
    FRL_FOR(i, (long long)rows * run) {
        unsigned int r = (unsigned int)i / (unsigned int)run, j = (unsigned int)i - r * (unsigned int)run;
        dst[r * dstRow + dstOff + j] = src[r * srcRow + srcOff + j];
    }
}

// Constant padding, one thread per output element. space: the output's dims, list 0 = padding before each
// axis, list 1 = the input's dims (frl_index.cuh layout). Elements outside the input get value.
extern "C" __global__ void pad(const float* x, float* out, int n, FrlInts space, float value) {
    FRL_FOR(i, n) {
        unsigned int rest = (unsigned int)i;
        long long off = 0, stride = 1;
        bool inside = true;
#pragma unroll
        for (int k = FRL_MAX_RANK - 1; k >= 0; k--) {
            if (k < space.v[0]) {
                unsigned int d = (unsigned int)FRL_DIM(space, k), q = rest / d;
                int in = (int)(rest - q * d) - FRL_STRIDE(space, 0, k), dIn = FRL_STRIDE(space, 1, k);
                inside = inside && in >= 0 && in < dIn;
                off += (long long)in * stride;
                stride *= dIn;
                rest = q;
            }
        }
        out[i] = inside ? x[off] : value;
    }
}

// Glow's squeeze between the depth layout [N, C·f², Ho, Wo] (n = its element count) and the space layout
// [N, C, Ho·f, Wo·f]: depth channel c·f² + i·f + j at (h, w) is space pixel (f·h + i, f·w + j) of channel c.
// One thread per depth element; toDepth: depth ← space, else space ← depth (a bijection, so no races).
extern "C" __global__ void squeeze(float* depth, float* space, int n, int f, int ho, int wo, int toDepth) {
    unsigned int uf = (unsigned int)f, uho = (unsigned int)ho, uwo = (unsigned int)wo, width = uwo * uf;
    long long plane = (long long)(uho * uf) * width;
    FRL_FOR(idx, n) {
        unsigned int e = (unsigned int)idx, w = e % uwo, t = e / uwo, h = t % uho, dc = t / uho;
        unsigned int j = dc % uf, i = (dc / uf) % uf, nc = dc / (uf * uf);
        long long s = (long long)nc * plane + (long long)(uf * h + i) * width + (long long)uf * w + j;
        if (toDepth) depth[idx] = space[s];
        else space[s] = depth[idx];
    }
}
