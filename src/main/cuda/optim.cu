// Fused in-place Adam and Adamax steps (CPU twin: frl.backend.cpu.CpuOptim), PyTorch semantics: weight decay
// added to the gradient, bias-corrected moments. Each element is computed in double and rounded once per
// stored value, with the CPU's operation order and explicitly rounded operations (__dmul_rn, __dadd_rn, ...)
// so that nvcc cannot contract them into FMAs: the results match the CPU bit for bit. The step-dependent
// factors the host computed in double, stepSize = lr / (1 − β1ᵗ) and sqrtBc2 = √(1 − β2ᵗ), are read from device
// memory (factors[0], factors[1]), so a recorded CUDA graph replays the update with each new step's factors.
#include "frl_cuda.cuh"
#include <math.h>

// g ← grad + wd·p; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; p ← p − stepSize · m / (√v / sqrtBc2 + eps).
__device__ __forceinline__ void adam_one(float* __restrict__ p, const float* __restrict__ grad, float* __restrict__ m,
                                         float* __restrict__ v, long long i, double b1, double b2, double eps, double wd,
                                         double stepSize, double sqrtBc2) {
    const double c1 = 1.0 - b1, c2 = 1.0 - b2;
    double pi = (double)p[i];
    double gi = __dadd_rn((double)grad[i], __dmul_rn(wd, pi));
    double mi = __dadd_rn(__dmul_rn(b1, (double)m[i]), __dmul_rn(c1, gi));
    double vi = __dadd_rn(__dmul_rn(b2, (double)v[i]), __dmul_rn(__dmul_rn(c2, gi), gi));
    m[i] = (float)mi;
    v[i] = (float)vi;
    double den = __dadd_rn(__ddiv_rn(__dsqrt_rn(vi), sqrtBc2), eps);
    p[i] = (float)__dsub_rn(pi, __ddiv_rn(__dmul_rn(stepSize, mi), den));
}

extern "C" __global__ void adam_step(float* __restrict__ p, const float* __restrict__ grad, float* __restrict__ m,
                                     float* __restrict__ v, long long n, double b1, double b2, double eps, double wd,
                                     const double* __restrict__ factors) {
    const double stepSize = factors[0], sqrtBc2 = factors[1];
    FRL_FOR(i, n) adam_one(p, grad, m, v, i, b1, b2, eps, wd, stepSize, sqrtBc2);
}

// Java's Math.max for doubles: NaN wins, +0.0 beats −0.0.
__device__ __forceinline__ double java_max(double a, double b) {
    if (a != a) return a;
    if (b != b) return b;
    if (a == 0.0 && b == 0.0) return signbit(a) ? b : a;
    return a >= b ? a : b;
}

// g ← grad + wd·p; m ← β1·m + (1−β1)·g; u ← max(β2·u, |g| + eps); p ← p − stepSize · m / u.
__device__ __forceinline__ void adamax_one(float* __restrict__ p, const float* __restrict__ grad, float* __restrict__ m,
                                           float* __restrict__ u, long long i, double b1, double b2, double eps, double wd,
                                           double stepSize) {
    const double c1 = 1.0 - b1;
    double pi = (double)p[i];
    double gi = __dadd_rn((double)grad[i], __dmul_rn(wd, pi));
    double mi = __dadd_rn(__dmul_rn(b1, (double)m[i]), __dmul_rn(c1, gi));
    double ui = java_max(__dmul_rn(b2, (double)u[i]), __dadd_rn(fabs(gi), eps));
    m[i] = (float)mi;
    u[i] = (float)ui;
    p[i] = (float)__dsub_rn(pi, __ddiv_rn(__dmul_rn(stepSize, mi), ui));
}

extern "C" __global__ void adamax_step(float* __restrict__ p, const float* __restrict__ grad, float* __restrict__ m,
                                       float* __restrict__ u, long long n, double b1, double b2, double eps, double wd,
                                       const double* __restrict__ factors) {
    const double stepSize = factors[0];
    FRL_FOR(i, n) adamax_one(p, grad, m, u, i, b1, b2, eps, wd, stepSize);
}

// Many parameters in one launch (an optimizer's step: one launch instead of one per tensor). Row t < count of the
// table is (param, grad, first, second, n, factor row, start), start = the sum of n over the rows before it; the
// launch runs over all `total` elements as one range, grid-stride, each finding its row by binary search over the
// starts (a warp's consecutive elements nearly always share a row). With max, Adamax; else Adam.
#define ADAM_ROW 7
extern "C" __global__ void adam_steps(FrlTable table, int count, long long total, int max, double b1, double b2, double eps,
                                      double wd, const double* __restrict__ factors) {
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < total; k += (long long)blockDim.x * gridDim.x) {
        int lo = 0, hi = count - 1; // the last row whose start is <= k (rows with no elements are skipped over)
        while (lo < hi) {
            const int mid = (lo + hi + 1) >> 1;
            if (table.v[ADAM_ROW * mid + 6] <= k) lo = mid;
            else hi = mid - 1;
        }
        const long long* e = table.v + ADAM_ROW * lo;
        const long long i = k - e[6];
        const double* f = factors + 2 * e[5];
        if (max) adamax_one((float*)e[0], (const float*)e[1], (float*)e[2], (float*)e[3], i, b1, b2, eps, wd, f[0]);
        else adam_one((float*)e[0], (const float*)e[1], (float*)e[2], (float*)e[3], i, b1, b2, eps, wd, f[0], f[1]);
    }
}
