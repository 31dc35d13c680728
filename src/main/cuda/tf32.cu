// The 3xTF32 scheme (Java side: frl.backend.cuda.SubPixelPlans, Gemm.TF32X3). A float x is big + small, both held
// exactly by TF32 (a 10-bit mantissa): big = x rounded to TF32 (nearest, ties away: cvt.rna), small = (x − big)
// rounded likewise (x − big itself is exact). On TF32 tensor cores with float accumulation, big·big' + big·small' +
// small·big' carries each product to ~2^-22 relative (the dropped small·small' and the roundings), float32's class,
// where one TF32 GEMM carries ~2^-11. Inf or NaN give a NaN part, and so does a value within 2^-11 of FLT_MAX
// (its big part rounds to Inf): fine for activations and gradients, not for data near the float range's end.
#include "frl_cuda.cuh"

__device__ __forceinline__ float tf32_round(float x) {
    unsigned r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
    return __uint_as_float(r);
}

// src [rows, cols] row-major → `parts` copies: copy j of element (r, c) at dst[j·partStride + r·rowStride + c], the
// small part where bit j of smallMask is set, else the big part. 2-D grid: x over a row's columns (no 64-bit
// division per element), y over the rows, both grid-stride.
extern "C" __global__ void tf32_parts(const float* __restrict__ src, float* __restrict__ dst, long long rows, int cols,
                                      int parts, int smallMask, long long partStride, long long rowStride) {
    for (long long r = blockIdx.y; r < rows; r += gridDim.y)
        for (long long c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += blockDim.x * gridDim.x) {
            const float x = src[r * cols + c], big = tf32_round(x), small = tf32_round(x - big);
            float* d = dst + r * rowStride + c;
            for (int j = 0; j < parts; j++) d[j * partStride] = ((smallMask >> j) & 1) ? small : big;
        }
}
