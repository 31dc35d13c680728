// conv2dBackwardInput (a transposed convolution) when the stride divides the kernel, as one GEMM per output
// phase (the CPU twin is frl.backend.cpu.SubPixel; the index maps below are its loops, one thread per element).
// Output pixel y = q·s + r − pad only receives the taps i = r + s·t, from dy row q − t.
#include "frl_cuda.cuh"

// W_r[c, (o, t, u)] = w[o, c, ry + sh·t, rx + sw·u] for every phase r = (ry, rx), phases one after another.
// w [K, C, kh, kw] → out [sh·sw, C, K·th·tw].
extern "C" __global__ void subpixel_split_weights(const float* __restrict__ w, float* __restrict__ out,
                                                  int K, int C, int kh, int kw, int sh, int sw) {
    const int th = kh / sh, tw = kw / sw, depth = K * th * tw;
    const long long n = (long long)sh * sw * C * depth;
    FRL_FOR(i, n) {
        const int row = (int)(i % depth);
        const long long rest = i / depth;
        const int ci = (int)(rest % C), r = (int)(rest / C);
        const int ry = r / sw, rx = r % sw;
        const int u = row % tw, t = (row / tw) % th, o = row / (th * tw);
        out[i] = w[(((long long)o * C + ci) * kh + ry + sh * t) * kw + rx + sw * u];
    }
}

// cols[img, (o, t, u), (a, b)] = dy[img, o, qy0 + a − t, qx0 + b − u], 0 outside dy. dy [N, K, oh, ow].
extern "C" __global__ void subpixel_gather(const float* __restrict__ dy, float* __restrict__ cols, int N, int K, int oh, int ow,
                                           int th, int tw, int qy0, int qh, int qx0, int qw) {
    const int q = qh * qw, depth = K * th * tw;
    const long long n = (long long)N * depth * q;
    FRL_FOR(i, n) {
        const int col = (int)(i % q);
        const long long rest = i / q;
        const int row = (int)(rest % depth), img = (int)(rest / depth);
        const int a = col / qw, b = col % qw;
        const int u = row % tw, t = (row / tw) % th, o = row / (th * tw);
        const int oy = qy0 + a - t, ox = qx0 + b - u;
        cols[i] = (oy >= 0 && oy < oh && ox >= 0 && ox < ow) ? dy[(((long long)img * K + o) * oh + oy) * ow + ox] : 0.f;
    }
}

// dx[img, c, (qy0 + a)·sh + ry − padH, (qx0 + b)·sw + rx − padW] = part[img, c, (a, b)]: one phase's pixels.
extern "C" __global__ void subpixel_scatter(const float* __restrict__ part, float* __restrict__ dx, int N, int C, int h, int w,
                                            int qy0, int qh, int qx0, int qw, int sh, int sw, int ry, int rx, int padH, int padW) {
    const int q = qh * qw;
    const long long n = (long long)N * C * q;
    FRL_FOR(i, n) {
        const int col = (int)(i % q);
        const long long plane = i / q; // img·C + c
        const int a = col / qw, b = col % qw;
        const int y = (qy0 + a) * sh + ry - padH, x = (qx0 + b) * sw + rx - padW;
        dx[(plane * h + y) * w + x] = part[i];
    }
}
