// The 3xTF32 scheme (Java side: frl.backend.cuda.SubPixelPlans, Gemm.TF32X3). A float x is big + small, both held
// exactly by TF32 (a 10-bit mantissa): big = x rounded to TF32 (nearest, ties away: cvt.rna), small = (x − big)
// rounded likewise (x − big itself is exact). On TF32 tensor cores with float accumulation, big·big' + big·small' +
// small·big' carries each product to ~2^-22 relative (the dropped small·small' and the roundings), float32's class,
// where one TF32 GEMM carries ~2^-11. Inf or NaN give a NaN part, and so does a value within 2^-11 of FLT_MAX
// (its big part rounds to Inf): fine for activations and gradients, not for data near the float range's end.
#include "frl_cuda.cuh"  // tf32_round


// src [rows, cols] row-major → `parts` copies: copy j of element (r, c) at dst[j·partStride + r·rowStride + c], the
// small part where bit j of smallMask is set, else the big part. 2-D grid (Kernel.launchPlanes): x over a row's
// columns (no 64-bit division per element), y over the rows, both grid-stride.
extern "C" __global__ void tf32_parts(const float* __restrict__ src, float* __restrict__ dst, long long rows, int cols,
                                      int parts, int smallMask, long long partStride, long long rowStride) {
    for (long long r = FRL_PLANE_FIRST; r < rows; r += FRL_PLANE_STRIDE)
        for (long long c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += blockDim.x * gridDim.x) {
            const float x = src[r * cols + c], big = tf32_round(x), small = tf32_round(x - big);
            float* d = dst + r * rowStride + c;
            for (int j = 0; j < parts; j++) d[j * partStride] = ((smallMask >> j) & 1) ? small : big;
        }
}

// tf32_parts with 4 columns per thread: one 16-byte load and one 16-byte store per part, where the scalar kernel keeps
// one 4-byte load in flight per thread (0.32 ms to split the VAE's 268 MB logit gradient on an H200, 2.5 TB/s). For
// cols, partStride and rowStride multiples of 4 and 16-byte aligned src and dst (the host checks).
// -Dfrl.cuda.phaseLoads=batched until a GPU has run it. Same values.
extern "C" __global__ void tf32_parts4(const float* __restrict__ src, float* __restrict__ dst, long long rows, int cols,
                                       int parts, int smallMask, long long partStride, long long rowStride) {
    const int quads = cols >> 2;
    for (long long r = FRL_PLANE_FIRST; r < rows; r += FRL_PLANE_STRIDE)
        for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < quads; c += blockDim.x * gridDim.x) {
            const float4 x = reinterpret_cast<const float4*>(src + r * cols)[c];
            float4 big, small;
            big.x = tf32_round(x.x), small.x = tf32_round(x.x - big.x);
            big.y = tf32_round(x.y), small.y = tf32_round(x.y - big.y);
            big.z = tf32_round(x.z), small.z = tf32_round(x.z - big.z);
            big.w = tf32_round(x.w), small.w = tf32_round(x.w - big.w);
            float4* d = reinterpret_cast<float4*>(dst + r * rowStride) + c;
            for (int j = 0; j < parts; j++) d[j * (partStride >> 2)] = ((smallMask >> j) & 1) ? small : big;
        }
}
