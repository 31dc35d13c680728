// Random fills from the counter-based frl.backend.Rng (CPU twin: frl.backend.cpu.CpuRandom), reproducing its
// 64-bit part bit for bit: SplitMix64 bits(seed, counter) in unsigned 64-bit arithmetic (Java's long
// arithmetic wraps the same way), uniform = (bits >>> 11)·2^-53 in double, normal by Box–Muller (cosine
// branch) from counters 2i and 2i+1. The affine maps to [lo, hi) and mean + std·z use explicitly rounded
// double operations (no FMA contraction), as Java evaluates them. The only difference left is in log and
// cos, which CUDA and the JVM each compute within an ulp or two of double: after rounding to float a value
// can very rarely differ from the CPU's by one float ulp (uniform draws are exact).
#include "frl_cuda.cuh"
#include <math.h>

__device__ __forceinline__ unsigned long long rng_bits(unsigned long long seed, unsigned long long counter) {
    unsigned long long z = seed * 0x9E3779B97F4A7C15ull + counter * 0xD1B54A32D192ED03ull + 0x632BE59BD9B4E019ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Uniform in [0, 1) with 53 random bits (exact: the integer is below 2^53, the scaling a power of two).
__device__ __forceinline__ double rng_uniform(unsigned long long seed, unsigned long long counter) {
    return (double)(rng_bits(seed, counter) >> 11) * 0x1.0p-53;
}

// Rng.normal(seed, i): sqrt(−2·log(1 − u(2i))) · cos(2π · u(2i+1)).
__device__ __forceinline__ double rng_normal(unsigned long long seed, unsigned long long i) {
    double u1 = __dsub_rn(1.0, rng_uniform(seed, 2ull * i));
    double u2 = rng_uniform(seed, 2ull * i + 1ull);
    const double twoPi = 2.0 * 3.141592653589793; // Java's 2.0 * Math.PI, exact
    return __dmul_rn(__dsqrt_rn(__dmul_rn(-2.0, log(u1))), cos(__dmul_rn(twoPi, u2)));
}

// Java's Math.min for floats: NaN wins, −0.0 beats +0.0.
__device__ __forceinline__ float java_minf(float a, float b) {
    if (a != a) return a;
    if (b != b) return b;
    if (a == 0.f && b == 0.f) return signbit(a) ? a : b;
    return a <= b ? a : b;
}

// out[i] = min((float)(lo + span·u(start + i)), top) with span = hi − lo and top computed by the host.
extern "C" __global__ void rng_uniform_fill(float* __restrict__ out, long long n, long long seed, long long start,
                                            double lo, double span, float top) {
    FRL_FOR(i, n) {
        double u = rng_uniform((unsigned long long)seed, (unsigned long long)start + (unsigned long long)i);
        float v = (float)__dadd_rn(lo, __dmul_rn(span, u));
        out[i] = java_minf(v, top);
    }
}

// out[i] = (float)(mean + std·normal(seed, first + i)).
extern "C" __global__ void rng_normal_fill(float* __restrict__ out, long long n, long long seed, long long first,
                                           double mean, double std) {
    FRL_FOR(i, n) {
        double z = rng_normal((unsigned long long)seed, (unsigned long long)first + (unsigned long long)i);
        out[i] = (float)__dadd_rn(mean, __dmul_rn(std, z));
    }
}
