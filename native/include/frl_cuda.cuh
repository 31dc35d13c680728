// Shared by every kernel family: index helpers and the launch conventions the Java launchers assume
// (1-D grids of BLOCK threads over n elements, grid-stride loops so any grid size is correct).
#pragma once
#include <math.h>
#include <stdint.h>

#define FRL_BLOCK 256

// Grid-stride loop over [0, n).
#define FRL_FOR(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
         i += (long long)blockDim.x * gridDim.x)

// A 2-D launch over planes (Kernel.launchPlanes): y over the planes, x over the elements of a plane, both grid-stride.
// A plane's own index math (which image, channel, tap) then runs once per plane and thread, in 32 bits, not as a
// 64-bit division per element. A block holds blockDim.y planes side by side (1 unless -Dfrl.cuda.planes=packed gives
// planes shorter than a block several rows of threads). The host keeps elements per plane at most 2^30 and planes
// below 2^31 - 2^24 (a stride of gridDim.y·blockDim.y < 2^24), so the int indices cannot wrap while they stride.
#define FRL_PLANE_FIRST (blockIdx.y * blockDim.y + threadIdx.y)
#define FRL_PLANE_STRIDE (gridDim.y * blockDim.y)
#define FRL_PLANES(plane, planes) for (int plane = FRL_PLANE_FIRST; plane < (planes); plane += FRL_PLANE_STRIDE)
#define FRL_PLANE_ELEMENTS(e, count) for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < (count); e += blockDim.x * gridDim.x)

// x rounded to TF32 (a 10-bit mantissa: nearest, ties away from zero), as a float: the big part of the 3xTF32 split
// (tf32.cu), the small one being tf32_round(x − big).
__device__ __forceinline__ float tf32_round(float x) {
#ifdef FRL_HOST_SHIM  // the kernels compiled for the host in the tests (src/test/native): cvt.rna's rounding on the bits
    unsigned r = __float_as_uint(x);
    if ((r & 0x7F800000u) != 0x7F800000u) r = (r + 0x1000u) & ~0x1FFFu;
#else
    unsigned r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
#endif
    return __uint_as_float(r);
}

// A float's two 3xTF32 parts (tf32.cu): big = x rounded to TF32, small = (x − big) rounded likewise.
struct Tf32Parts { float big, small; };
__device__ __forceinline__ Tf32Parts tf32_split(float x) {
    const float big = tf32_round(x);
    return {big, tf32_round(x - big)};
}

// d += A·B on TF32 tensor cores, by one warp (mma.sync m16n8k8: A 16×8, B 8×8, d 16×8 in float). The fragments as
// PTX lays them out, g = lane / 4 and t = lane % 4: a = A[g][t], A[g+8][t], A[g][t+4], A[g+8][t+4]; b = B[t][g],
// B[t+4][g]; d = D[g][2t], D[g][2t+1], D[g+8][2t], D[g+8][2t+1]. a and b hold floats' bits, of which the tensor cores
// read a TF32's (give them values TF32 holds: tf32_round, tf32_split).
__device__ __forceinline__ void mma_tf32(float d[4], const unsigned a[4], const unsigned b[2]) {
#ifdef FRL_HOST_SHIM
    frl_mma_m16n8k8_tf32(d, a, b);
#else
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

// `parts` copies of a value's parts (T: float or float4), the j-th at d[j·stride]: small where bit j of smallMask is set.
template <typename T>
__device__ __forceinline__ void tf32_store_parts(T* d, long long stride, int parts, int smallMask, const T& big, const T& small) {
    for (int j = 0; j < parts; j++) d[j * stride] = ((smallMask >> j) & 1) ? small : big;
}

// Sum of v over the block (blockDim.x a multiple of 32, ≤ 1024) by a fixed butterfly, so the result does not
// depend on scheduling; every thread gets the total. T is float or double (the accumulator type).
template <typename T>
__device__ inline T frl_block_sum(T v) {
    __shared__ T part[32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) part[warp] = v;
    __syncthreads();
    int warps = blockDim.x >> 5;
    T t = lane < warps ? part[lane] : T(0);
    for (int o = 16; o > 0; o >>= 1) t += __shfl_xor_sync(0xffffffffu, t, o);
    return t;
}

// 1 / (1 + e^-x) from e^-|x| <= 1, so neither sign overflows (pointwise.cu, fused.cu).
__device__ inline float sigmoidf(float x) {
    float e = expf(-fabsf(x)), inv = 1.f / (1.f + e);
    return x < 0.f ? e * inv : inv;
}

// elu(x), alpha 1 (fused.cu's concat-ELU, shifted_mma.cu's read of one; pointwise.cu's ELU for a = 1).
__device__ inline float elu1(float x) { return x > 0.f ? x : expm1f(x); }

// log(1 + e^x) without overflow; NaN stays NaN (log1pf keeps it).
__device__ inline float softplusf(float x) { return fmaxf(x, 0.f) + log1pf(expf(-fabsf(x))); }

// Up to 32 ints by value (shapes, strides): Java's Kernel passes an int[] for a parameter of kind 'a'.
struct FrlInts { int v[32]; };

// Up to 384 long longs by value (a table of device addresses and sizes, as Java's Kernel passes a long[] for a
// parameter of kind 't'): 3 KB, inside the 4 KB a kernel's parameters may take on every architecture built.
#define FRL_TABLE 384
struct FrlTable { long long v[FRL_TABLE]; };
