// PixelCNN++'s discretised logistic mixture, one thread per pixel (CPU twin: frl.backend.MixtureMath, which states
// the model; CpuLoss's vector loops). x [N, C, H, W] in [−1, 1], params [N, P, H, W]: M logits, the means C·M, the
// log-scales C·M, the coefficients C(C−1)/2·M; a pixel's values lie a plane (hw floats) apart, so the threads of a
// warp, on consecutive pixels, read consecutive floats. Float math; the log-sum-exps shift by their maximum.
#include "frl_cuda.cuh"

#define MIX_MAX_CHANNELS 8   // the backward's per-channel derivatives live in arrays of this size (checked in Java)
#define MIX_HALF_BIN (1.f / 255.f)
#define MIX_MIN_LOG_SCALE (-7.f)
#define MIX_MIN_MASS 1e-5f
#define MIX_EDGE 0.999f
#define MIX_LOG_HALF_RANGE 4.8481164f   // log 127.5

// sigmoid(v) from e = e^−|v|, and its slope e / (1 + e)².
__device__ inline float mix_sigmoid(float v, float e) { float r = 1.f / (1.f + e); return v < 0.f ? e * r : r; }
__device__ inline float mix_slope(float e) { float r = 1.f / (1.f + e); return e * r * r; }
__device__ inline float mix_softplus(float v, float e) { return fmaxf(v, 0.f) + log1pf(e); }

// log P(bin of x) under a logistic of this mean and (clamped) log-scale: the left tail for byte 0, the right tail
// for 255, else the bin's mass, or the density times the bin's width where the mass is below MIX_MIN_MASS. With dm,
// its derivatives by the mean and the log-scale go to *dm and *ds.
__device__ float mix_channel(float x, float mean, float logScale, float* dm, float* ds) {
    float inv = expf(-logScale), centred = x - mean;
    float plus = inv * (centred + MIX_HALF_BIN), minus = inv * (centred - MIX_HALF_BIN), mid = inv * centred;
    float value, dPlus = 0.f, dMinus = 0.f, dMid = 0.f, direct = 0.f;
    if (x < -MIX_EDGE) {
        float e = expf(-fabsf(plus));
        value = plus - mix_softplus(plus, e);
        dPlus = mix_sigmoid(-plus, e);
    } else if (x > MIX_EDGE) {
        float e = expf(-fabsf(minus));
        value = -mix_softplus(minus, e);
        dMinus = -mix_sigmoid(minus, e);
    } else {
        float eP = expf(-fabsf(plus)), eM = expf(-fabsf(minus)), mass = mix_sigmoid(plus, eP) - mix_sigmoid(minus, eM);
        if (mass > MIX_MIN_MASS) {
            value = logf(mass);
            dPlus = mix_slope(eP) / mass;
            dMinus = -mix_slope(eM) / mass;
        } else {
            float e = expf(-fabsf(mid));
            value = mid - logScale - 2.f * mix_softplus(mid, e) - MIX_LOG_HALF_RANGE;
            dMid = 1.f - 2.f * mix_sigmoid(mid, e);
            direct = -1.f;
        }
    }
    if (dm) {
        *dm = -inv * (dPlus + dMinus + dMid);
        *ds = direct - (plus * dPlus + minus * dMinus + mid * dMid);
    }
    return value;
}

// Σ_c log P(x_c) of component k (log π_k aside); x, p at the pixel; with dm, each channel's derivatives in dm[c], ds[c].
__device__ float mix_component(const float* x, const float* p, long long hw, int c, int m, int k, float* dm, float* ds) {
    float lp = 0.f;
    for (int ch = 0; ch < c; ch++) {
        float mean = p[(m * (1 + ch) + k) * hw];
        for (int j = 0, pair = ch * (ch - 1) / 2; j < ch; j++) mean += p[(m * (1 + 2 * c + pair + j) + k) * hw] * x[j * hw];
        float raw = p[(m * (1 + c + ch) + k) * hw], logScale = raw < MIX_MIN_LOG_SCALE ? MIX_MIN_LOG_SCALE : raw;   // NaN stays (fmaxf drops it)
        lp += mix_channel(x[ch * hw], mean, logScale, dm ? dm + ch : nullptr, dm ? ds + ch : nullptr);
    }
    return lp;
}

// log Σ_k e^{logit_k}.
__device__ float mix_logit_lse(const float* p, long long hw, int m) {
    float top = p[0], sum = 0.f;
    for (int k = 1; k < m; k++) top = fmaxf(top, p[k * hw]);
    for (int k = 0; k < m; k++) sum += expf(p[k * hw] - top);
    return top + logf(sum);
}

// log p of the pixel: log Σ_k e^{log π_k + Σ_c log P(x_c)}, the sum kept shifted by the running maximum.
__device__ float mix_log_prob(const float* x, const float* p, long long hw, int c, int m, float logitLse) {
    float top = -INFINITY, sum = 0.f;
    for (int k = 0; k < m; k++) {
        float lp = p[k * hw] - logitLse + mix_component(x, p, hw, c, m, k, nullptr, nullptr);
        if (lp > top) { sum = sum * expf(top - lp) + 1.f; top = lp; }
        else sum += expf(lp - top);
    }
    return top + logf(sum);
}

// out[pixel] = −log p, pixels = N·hw.
extern "C" __global__ void mixture_nll(const float* x, const float* params, float* out, long long pixels, long long hw, int c, int m) {
    long long pc = m * (1 + 2 * c + c * (c - 1) / 2);
    FRL_FOR(i, pixels) {
        long long image = i / hw, q = i - image * hw;
        const float *xi = x + image * c * hw + q, *pi = params + image * pc * hw + q;
        out[i] = -mix_log_prob(xi, pi, hw, c, m, mix_logit_lse(pi, hw, m));
    }
}

// dparams = g·∂(−log p)/∂params: dlogit_k = g·(π_k − w_k) with w_k the component's posterior weight, dmean = −g·w·∂,
// dlog-scale likewise (0 where clamped), dα_{cj} = dmean_c·x_j. Each component's channels are computed twice (for
// log p, then with derivatives), so nothing per component is kept.
extern "C" __global__ void mixture_nll_backward(const float* x, const float* params, const float* g, float* dparams,
                                                long long pixels, long long hw, int c, int m) {
    long long pc = m * (1 + 2 * c + c * (c - 1) / 2);
    FRL_FOR(i, pixels) {
        long long image = i / hw, q = i - image * hw;
        const float *xi = x + image * c * hw + q, *pi = params + image * pc * hw + q;
        float* di = dparams + image * pc * hw + q;
        float logitLse = mix_logit_lse(pi, hw, m), lse = mix_log_prob(xi, pi, hw, c, m, logitLse), grad = g[i];
        float dm[MIX_MAX_CHANNELS], ds[MIX_MAX_CHANNELS];
        for (int k = 0; k < m; k++) {
            float w = expf(pi[k * hw] - logitLse + mix_component(xi, pi, hw, c, m, k, dm, ds) - lse), gw = grad * w;
            di[k * hw] = grad * (expf(pi[k * hw] - logitLse) - w);
            for (int ch = 0; ch < c; ch++) {
                float d = -gw * dm[ch];
                long long scale = (m * (1 + c + ch) + k) * hw;
                di[(m * (1 + ch) + k) * hw] = d;
                di[scale] = pi[scale] >= MIX_MIN_LOG_SCALE ? -gw * ds[ch] : 0.f;
                for (int j = 0, pair = ch * (ch - 1) / 2; j < ch; j++) di[(m * (1 + 2 * c + pair + j) + k) * hw] = d * xi[j * hw];
            }
        }
    }
}
