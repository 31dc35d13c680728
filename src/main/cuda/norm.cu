// Training-mode batch norm over every axis but 1 (CPU twin: frl.backend.cpu.CpuNorm). x is viewed as
// [N, C, inner]; channel c owns the M = N·inner elements e ∈ [0, M) at (n·C + c)·inner + k with
// n = e / inner, k = e % inner. Every sum is in double, like the CPU's.
//
// Deterministic two-level reductions, no atomics: the grid is (C, S); block (c, s) reduces the s-th of S equal
// ranges of channel c's elements into part[c·S + s] with a fixed shuffle tree; the next kernel adds the S
// partials of its channel in order (thread 0, then broadcast through shared memory). Every block of a channel
// therefore sees bit-identical totals.
//   forward:  bn_sum (Σx) → bn_sqdev (Σ(x − μ)², two passes as on the CPU) → bn_apply (y, mean, var)
//   backward: bn_bwd_sums (Σdy, Σdy·x̂) → bn_bwd_apply (dx, dgamma, dbeta)
// Launch: grid (C, S), block 256 (any multiple of 32 up to 1024 works). Indices fit in 32 bits: the host
// requires fewer than 2^31 elements.
#include "frl_cuda.cuh"
#include <math.h>

// Sum over the block; the total is valid in thread 0. Fixed order; reusable (ends with a barrier).
__device__ double bn_block_sum(double v) {
    __shared__ double part[32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    if (lane == 0) part[warp] = v;
    __syncthreads();
    double t = 0;
    if (warp == 0) {
        t = lane < warps ? part[lane] : 0.0;
        for (int o = 16; o > 0; o >>= 1) t += __shfl_down_sync(0xffffffffu, t, o);
    }
    __syncthreads();
    return t;
}

// The range [begin, end) of channel elements that block (c, s) owns.
__device__ __forceinline__ void bn_range(unsigned m, unsigned* begin, unsigned* end) {
    unsigned long long s = blockIdx.y, S = gridDim.y;
    *begin = (unsigned)(m * s / S);
    *end = (unsigned)(m * (s + 1) / S);
}

__device__ __forceinline__ unsigned bn_at(unsigned e, unsigned c, unsigned C, unsigned inner) {
    unsigned n = e / inner, k = e - n * inner;
    return (n * C + c) * inner + k;
}

// Σ of the S partials of channel c, in order, computed by thread 0 and handed to every thread.
__device__ double bn_total(const double* __restrict__ part, unsigned c) {
    __shared__ double total;
    if (threadIdx.x == 0) {
        double t = 0;
        for (unsigned s = 0; s < gridDim.y; s++) t += part[(unsigned long long)c * gridDim.y + s];
        total = t;
    }
    __syncthreads();
    double r = total;
    __syncthreads();
    return r;
}

// The five kernels below visit a block's elements of channel c in one order, e = begin + threadIdx.x stepping by
// blockDim.x, U at a time: the U loads of a group are issued before any is used, then the group is used in that
// order. U = 1 is the plain loop; U = BN_U (-Dfrl.cuda.bnLoads=batched) gives the same sums, term for term: with
// M / S elements per block spread over 256 threads, the VAE's layers left each thread 16 loads in a row, one in
// flight: a forward over [64, 64, 16, 16] took 23 µs on an H200, for 16 MB that a copy moves in 4.
#define BN_U 4

// f(at, x[at], y[at]) for the block's elements [begin, end) of channel c in order, each group's loads first (y may
// be null: then 0 is passed for it). With act (a ReLU's output, or null), y[at] is passed only where act[at] > 0, else
// 0: the ReLU's gradient (pointwise.cu: x > 0 ? dy : 0, and act > 0 exactly where its input was) folded into the read.
template <int U, typename F>
__device__ __forceinline__ void bn_visit(const float* __restrict__ x, const float* __restrict__ y, unsigned begin, unsigned end,
                                         unsigned c, unsigned C, unsigned inner, F f, const float* __restrict__ act = nullptr) {
    for (unsigned e = begin + threadIdx.x; e < end; e += U * blockDim.x) {
        unsigned at[U];
        float xv[U], yv[U];
#pragma unroll
        for (int u = 0; u < U; u++) {
            const bool in = e + u * blockDim.x < end;
            at[u] = in ? bn_at(e + u * blockDim.x, c, C, inner) : 0;
            xv[u] = in ? x[at[u]] : 0.f;
            yv[u] = in && y ? y[at[u]] : 0.f;
            if (act && in) yv[u] = act[at[u]] > 0.f ? yv[u] : 0.f;
        }
#pragma unroll
        for (int u = 0; u < U; u++)
            if (e + u * blockDim.x < end) f(at[u], xv[u], yv[u]);
    }
}

template <int U>
__device__ void bn_sum_t(const float* __restrict__ x, double* __restrict__ sums, int C, int inner, int m) {
    unsigned c = blockIdx.x, begin, end;
    bn_range((unsigned)m, &begin, &end);
    double acc = 0;
    bn_visit<U>(x, nullptr, begin, end, c, C, inner, [&](unsigned, float v, float) { acc += (double)v; });
    double t = bn_block_sum(acc);
    if (threadIdx.x == 0) sums[(unsigned long long)c * gridDim.y + blockIdx.y] = t;
}

// μ = Σx / M; partial Σ(x − μ)².
template <int U>
__device__ void bn_sqdev_t(const float* __restrict__ x, const double* __restrict__ sums, double* __restrict__ sqs, int C, int inner, int m) {
    unsigned c = blockIdx.x, begin, end;
    bn_range((unsigned)m, &begin, &end);
    double mu = bn_total(sums, c) / (double)m;
    double acc = 0;
    bn_visit<U>(x, nullptr, begin, end, c, C, inner, [&](unsigned, float v, float) {
        double d = (double)v - mu;
        acc += d * d;
    });
    double t = bn_block_sum(acc);
    if (threadIdx.x == 0) sqs[(unsigned long long)c * gridDim.y + blockIdx.y] = t;
}

// y = (x − μ)·γ/√(var + eps) + β, through a ReLU where relu (pointwise.cu's: y > 0 ? y : 0); block (c, 0) also stores
// mean[c] and the biased var[c].
template <int U>
__device__ void bn_apply_t(const float* __restrict__ x, const float* __restrict__ gamma, const float* __restrict__ beta,
                           const double* __restrict__ sums, const double* __restrict__ sqs, float* __restrict__ y,
                           float* __restrict__ mean, float* __restrict__ var, double eps, int C, int inner, int m, int relu) {
    unsigned c = blockIdx.x, begin, end;
    bn_range((unsigned)m, &begin, &end);
    double mu = bn_total(sums, c) / (double)m;
    double v = bn_total(sqs, c) / (double)m;
    double scale = (double)gamma[c] / sqrt(v + eps), shift = (double)beta[c];
    bn_visit<U>(x, nullptr, begin, end, c, C, inner, [&](unsigned at, float xv, float) {
        const float o = (float)(((double)xv - mu) * scale + shift);
        y[at] = relu ? (o > 0.f ? o : 0.f) : o;
    });
    if (blockIdx.y == 0 && threadIdx.x == 0) {
        mean[c] = (float)mu;
        var[c] = (float)v;
    }
}

// Partial Σdy and Σdy·x̂ with x̂ = (x − mean)·invstd, into part2[2·(c·S + s)] and part2[2·(c·S + s) + 1]; with act,
// dy through the ReLU whose output act is (bn_visit).
template <int U>
__device__ void bn_bwd_sums_t(const float* __restrict__ x, const float* __restrict__ dy, const float* __restrict__ mean,
                              const float* __restrict__ var, double* __restrict__ part2, double eps, int C, int inner, int m,
                              const float* __restrict__ act) {
    unsigned c = blockIdx.x, begin, end;
    bn_range((unsigned)m, &begin, &end);
    double mu = (double)mean[c], invstd = 1.0 / sqrt((double)var[c] + eps);
    double sumDy = 0, sumDyXhat = 0;
    bn_visit<U>(x, dy, begin, end, c, C, inner, [&](unsigned, float xv, float dv) {
        double d = (double)dv;
        sumDy += d;
        sumDyXhat += d * ((double)xv - mu) * invstd;
    }, act);
    double a = bn_block_sum(sumDy);
    double b = bn_block_sum(sumDyXhat);
    if (threadIdx.x == 0) {
        unsigned long long i = 2ull * ((unsigned long long)c * gridDim.y + blockIdx.y);
        part2[i] = a;
        part2[i + 1] = b;
    }
}

// Σ over the S partial pairs of channel c, in order (thread 0), handed to every thread.
__device__ void bn_total2(const double* __restrict__ part2, unsigned c, double* a, double* b) {
    __shared__ double total[2];
    if (threadIdx.x == 0) {
        double ta = 0, tb = 0;
        for (unsigned s = 0; s < gridDim.y; s++) {
            unsigned long long i = 2ull * ((unsigned long long)c * gridDim.y + s);
            ta += part2[i];
            tb += part2[i + 1];
        }
        total[0] = ta;
        total[1] = tb;
    }
    __syncthreads();
    *a = total[0];
    *b = total[1];
    __syncthreads();
}

// dx = γ·invstd·(dy − Σdy/M − x̂·Σdy·x̂/M); block (c, 0) also stores dgamma[c] = Σdy·x̂ and dbeta[c] = Σdy. With act,
// dy through the ReLU whose output act is (bn_visit).
template <int U>
__device__ void bn_bwd_apply_t(const float* __restrict__ x, const float* __restrict__ dy, const float* __restrict__ gamma,
                               const float* __restrict__ mean, const float* __restrict__ var, const double* __restrict__ part2,
                               float* __restrict__ dx, float* __restrict__ dgamma, float* __restrict__ dbeta, double eps,
                               int C, int inner, int m, const float* __restrict__ act) {
    unsigned c = blockIdx.x, begin, end;
    bn_range((unsigned)m, &begin, &end);
    double sumDy, sumDyXhat;
    bn_total2(part2, c, &sumDy, &sumDyXhat);
    double mu = (double)mean[c], invstd = 1.0 / sqrt((double)var[c] + eps);
    double scale = (double)gamma[c] * invstd, meanDy = sumDy / (double)m, meanDyXhat = sumDyXhat / (double)m;
    bn_visit<U>(x, dy, begin, end, c, C, inner, [&](unsigned at, float xv, float dv) {
        double xhat = ((double)xv - mu) * invstd;
        dx[at] = (float)(scale * ((double)dv - meanDy - xhat * meanDyXhat));
    }, act);
    if (blockIdx.y == 0 && threadIdx.x == 0) {
        dgamma[c] = (float)sumDyXhat;
        dbeta[c] = (float)sumDy;
    }
}

// The kernels, plain (U = 1) and with BN_U loads in flight (suffix _batched); the same parameters.
#define BN_SUM(suffix, U)                                                                                            \
    extern "C" __global__ void bn_sum##suffix(const float* __restrict__ x, double* __restrict__ sums, int C, int inner, int m) { \
        bn_sum_t<U>(x, sums, C, inner, m);                                                                           \
    }
#define BN_SQDEV(suffix, U)                                                                                          \
    extern "C" __global__ void bn_sqdev##suffix(const float* __restrict__ x, const double* __restrict__ sums,        \
                                                double* __restrict__ sqs, int C, int inner, int m) {                 \
        bn_sqdev_t<U>(x, sums, sqs, C, inner, m);                                                                    \
    }
#define BN_APPLY(suffix, U)                                                                                          \
    extern "C" __global__ void bn_apply##suffix(const float* __restrict__ x, const float* __restrict__ gamma,        \
                                                const float* __restrict__ beta, const double* __restrict__ sums,     \
                                                const double* __restrict__ sqs, float* __restrict__ y,               \
                                                float* __restrict__ mean, float* __restrict__ var, double eps, int C, \
                                                int inner, int m, int relu) {                                        \
        bn_apply_t<U>(x, gamma, beta, sums, sqs, y, mean, var, eps, C, inner, m, relu);                              \
    }
#define BN_BWD_SUMS(suffix, U)                                                                                       \
    extern "C" __global__ void bn_bwd_sums##suffix(const float* __restrict__ x, const float* __restrict__ dy,        \
                                                   const float* __restrict__ mean, const float* __restrict__ var,    \
                                                   double* __restrict__ part2, double eps, int C, int inner, int m, \
                                                   const float* __restrict__ act) {                                  \
        bn_bwd_sums_t<U>(x, dy, mean, var, part2, eps, C, inner, m, act);                                            \
    }
#define BN_BWD_APPLY(suffix, U)                                                                                      \
    extern "C" __global__ void bn_bwd_apply##suffix(const float* __restrict__ x, const float* __restrict__ dy,       \
                                                    const float* __restrict__ gamma, const float* __restrict__ mean, \
                                                    const float* __restrict__ var, const double* __restrict__ part2, \
                                                    float* __restrict__ dx, float* __restrict__ dgamma,              \
                                                    float* __restrict__ dbeta, double eps, int C, int inner, int m, \
                                                    const float* __restrict__ act) {                                 \
        bn_bwd_apply_t<U>(x, dy, gamma, mean, var, part2, dx, dgamma, dbeta, eps, C, inner, m, act);                 \
    }
BN_SUM(, 1) BN_SUM(_batched, BN_U)
BN_SQDEV(, 1) BN_SQDEV(_batched, BN_U)
BN_APPLY(, 1) BN_APPLY(_batched, BN_U)
BN_BWD_SUMS(, 1) BN_BWD_SUMS(_batched, BN_U)
BN_BWD_APPLY(, 1) BN_BWD_APPLY(_batched, BN_U)

// BatchNorm2d's running statistics in one launch, with the arithmetic of the axpys it replaces (pointwise.cu's
// axpy: y = fmaf(alpha, x, y), alpha as float): r = fmaf(-m, r, r); r = fmaf(m·scale, batch, r); count + 1.
// One thread per channel; thread 0 also counts. Launch: any 1-D grid covering C.
extern "C" __global__ void bn_running_stats(float* __restrict__ runMean, float* __restrict__ runVar, float* __restrict__ count,
                                            const float* __restrict__ mean, const float* __restrict__ var, int C,
                                            float negMomentum, float meanMomentum, float varMomentum) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c < C) {
        float rm = runMean[c], rv = runVar[c];
        rm = fmaf(negMomentum, rm, rm);
        runMean[c] = fmaf(meanMomentum, mean[c], rm);
        rv = fmaf(negMomentum, rv, rv);
        runVar[c] = fmaf(varMomentum, var[c], rv);
    }
    if (c == 0) count[0] = count[0] + 1.0f;
}
