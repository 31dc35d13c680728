// The layers' fused elementwise ops (CPU twin: frl.backend.cpu.CpuPointwise's concatElu, gate, biasedSum, coupling, biasRelu):
// one pass each way where the composed ops (pointwise.cu, layout.cu) take three to ten, with the same float32
// formulas, rounded where those ops round, so each gives the composed kernels' bits (the log-determinant's sum aside).
// A single tensor is [N, C, run]; its partner [N, 2C, run] holds two halves of C channels each. And weight
// normalisation (CPU twin: Backend's default weightNorm, its ops), one block per row each way.
#include "frl_cuda.cuh"

// Element i of a single tensor: its image, and its place in the first half of the partner (+ C·run: the second).
// The partner has fewer than 2^31 elements (checked in Java), so unsigned arithmetic cannot wrap.
struct HalfIndex { unsigned image, first; };
__device__ inline HalfIndex half_index(unsigned i, unsigned run, unsigned c) {
    unsigned nc = i / run, image = nc / c;
    return {image, (nc + image * c) * run + (i - nc * run)};   // (image·2C + channel)·run + element
}

// d elu(x)·dy from y = elu(x): pointwise.cu's unary_df for ELU with alpha 1.
__device__ inline float elu1_df(float x, float y, float dy) { return x > 0.f ? dy : dy * (y + 1.f); }

// y = [elu(x), elu(−x)].
extern "C" __global__ void concat_elu(const float* x, float* y, long long n, int run, int c) {
    FRL_FOR(i, n) {
        HalfIndex at = half_index((unsigned)i, run, c);
        float v = x[i];
        y[at.first] = elu1(v);
        y[at.first + (unsigned)c * run] = elu1(-v);
    }
}

// dx = dy₁·elu'(x) − dy₂·elu'(−x).
extern "C" __global__ void concat_elu_backward(const float* x, const float* y, const float* dy, float* dx, long long n, int run, int c) {
    FRL_FOR(i, n) {
        HalfIndex at = half_index((unsigned)i, run, c);
        unsigned second = at.first + (unsigned)c * run;
        float v = x[i];
        // __fsub_rn: never contracted into an FMA with the product before it, so the difference rounds as the ops' SUB
        dx[i] = __fsub_rn(elu1_df(v, y[at.first], dy[at.first]), elu1_df(-v, y[second], dy[second]));
    }
}

// The bias of channel ch of h's 2C, or −0 where there is none: −0 + v is v for every v, so no bias changes no bit.
__device__ inline float bias_or_none(const float* bias, unsigned ch) { return bias ? bias[ch] : -0.f; }

// y = res + (h₁ + b₁)·sigmoid(h₂ + b₂), bias [2C] and res (y's shape) each optional (null): PixelCNN++'s gated block
// end. Each sum and the product rounded to float as the bias add, gate and residual add round (no contraction).
extern "C" __global__ void gate(const float* h, const float* bias, const float* res, float* y, long long n, int run, int c) {
    FRL_FOR(i, n) {
        HalfIndex at = half_index((unsigned)i, run, c);
        unsigned ch = ((unsigned)i / (unsigned)run) % (unsigned)c;
        float a = __fadd_rn(h[at.first], bias_or_none(bias, ch));
        float g = __fmul_rn(a, sigmoidf(__fadd_rn(h[at.first + (unsigned)c * run], bias_or_none(bias, ch + (unsigned)c))));
        y[i] = res ? __fadd_rn(res[i], g) : g;
    }
}

// dh = [dy·s, (dy·h₁)·s(1 − s)], [h₁, h₂] = h + bias (bias optional), s = sigmoid(h₂).
extern "C" __global__ void gate_backward(const float* h, const float* bias, const float* dy, float* dh, long long n, int run, int c) {
    FRL_FOR(i, n) {
        HalfIndex at = half_index((unsigned)i, run, c);
        unsigned second = at.first + (unsigned)c * run, ch = ((unsigned)i / (unsigned)run) % (unsigned)c;
        float s = sigmoidf(__fadd_rn(h[second], bias_or_none(bias, ch + (unsigned)c))), g = dy[i];
        dh[at.first] = g * s;
        dh[second] = __fmul_rn(g, __fadd_rn(h[at.first], bias_or_none(bias, ch))) * (s * (1.f - s));
    }
}

// y = (a + ba) + (b + bb), biases [C] per channel of a and b [N, C, run]: three adds' roundings.
extern "C" __global__ void biased_sum(const float* a, const float* ba, const float* b, const float* bb, float* y, long long n, int run, int c) {
    FRL_FOR(i, n) {
        unsigned ch = ((unsigned)i / (unsigned)run) % (unsigned)c;
        y[i] = __fadd_rn(__fadd_rn(a[i], ba[ch]), __fadd_rn(b[i], bb[ch]));
    }
}

// Glow's affine coupling, h = [t, r]: y = (x_b + t)·sigmoid(r + 2).
extern "C" __global__ void coupling(const float* xb, const float* h, float* y, long long n, int run, int c) {
    FRL_FOR(i, n) {
        HalfIndex at = half_index((unsigned)i, run, c);
        y[i] = (xb[i] + h[at.first]) * sigmoidf(h[at.first + (unsigned)c * run] + 2.f);
    }
}

// dx_b = dy·s, dh = [dy·s, (dy·(x_b + t))·s(1 − s)], s = sigmoid(r + 2).
extern "C" __global__ void coupling_backward(const float* xb, const float* h, const float* dy, float* dxb, float* dh,
                                             long long n, int run, int c) {
    FRL_FOR(i, n) {
        HalfIndex at = half_index((unsigned)i, run, c);
        unsigned second = at.first + (unsigned)c * run;
        float s = sigmoidf(h[second] + 2.f), d = dy[i], g = d * s;
        dxb[i] = g;
        dh[at.first] = g;
        dh[second] = (d * (xb[i] + h[at.first])) * (s * (1.f - s));
    }
}

// The coupling's log-determinant, one block per image: −Σ softplus(−(r + 2)) over the image's C·run values of r,
// each thread's share summed in double, then the block's by a fixed butterfly (the same bits every run).
extern "C" __global__ void coupling_logdet(const float* h, float* logdet, int run, int c) {
    long long per = (long long)c * run;
    const float* r = h + (2 * (long long)blockIdx.x + 1) * per;
    double s = 0;
    for (long long e = threadIdx.x; e < per; e += blockDim.x) s += softplusf(-(r[e] + 2.f));
    s = frl_block_sum(s);
    if (threadIdx.x == 0) logdet[blockIdx.x] = (float)-s;
}

// dh = [0, g·sigmoid(−(r + 2))], g the image's gradient of its log-determinant; n counts the single tensor's elements.
extern "C" __global__ void coupling_logdet_backward(const float* h, const float* g, float* dh, long long n, int run, int c) {
    FRL_FOR(i, n) {
        HalfIndex at = half_index((unsigned)i, run, c);
        unsigned second = at.first + (unsigned)c * run;
        dh[at.first] = 0.f;
        dh[second] = g[at.image] * sigmoidf(-(h[second] + 2.f));
    }
}

// y = relu(z + bias[channel]), z [N, C, run].
extern "C" __global__ void bias_relu(const float* z, const float* bias, float* y, long long n, int run, int c) {
    FRL_FOR(i, n) {
        float v = z[i] + bias[((unsigned)i / (unsigned)run) % (unsigned)c];
        y[i] = v > 0.f ? v : 0.f;
    }
}

// w = v·(g/‖v‖) per row of v [rows, len], one block per row (grid-stride over rows): the squares in float, summed in
// double by a fixed butterfly, then rounded, as the composed ops (square, sumTo, sqrt, div, mul) round.
extern "C" __global__ void weight_norm(const float* v, const float* g, float* w, int rows, int len) {
    for (int row = blockIdx.x; row < rows; row += gridDim.x) {
        const float* vr = v + (long long)row * len;
        double s = 0;
        for (int e = threadIdx.x; e < len; e += blockDim.x) s += (double)(vr[e] * vr[e]);
        float scale = g[row] / sqrtf((float)frl_block_sum(s));
        for (int e = threadIdx.x; e < len; e += blockDim.x) w[(long long)row * len + e] = vr[e] * scale;
    }
}

// dv = (g/n)·dw − (d·g/n³)·v and dg = d/n per row, n = ‖v‖, d = Σ dw·v (both sums in double, one pass over the row).
extern "C" __global__ void weight_norm_backward(const float* v, const float* g, const float* dw, float* dv, float* dg, int rows, int len) {
    for (int row = blockIdx.x; row < rows; row += gridDim.x) {
        long long at = (long long)row * len;
        double squares = 0, dots = 0;
        for (int e = threadIdx.x; e < len; e += blockDim.x) {
            float a = v[at + e];
            squares += (double)(a * a);
            dots += (double)(dw[at + e] * a);
        }
        float n = sqrtf((float)frl_block_sum(squares)), d = (float)frl_block_sum(dots), gr = g[row];
        float scale = gr / n, k = (d * gr) / (n * (n * n));
        if (threadIdx.x == 0) dg[row] = d / n;
        for (int e = threadIdx.x; e < len; e += blockDim.x) dv[at + e] = dw[at + e] * scale - v[at + e] * k;
    }
}
