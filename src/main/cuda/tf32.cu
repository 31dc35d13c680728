// The 3xTF32 scheme (Java side: frl.backend.cuda.SubPixelPlans, Gemm.TF32X3). A float x is big + small, both held
// exactly by TF32 (a 10-bit mantissa): big = x rounded to TF32 (nearest, ties away: cvt.rna), small = (x − big)
// rounded likewise (x − big itself is exact). On TF32 tensor cores with float accumulation, big·big' + big·small' +
// small·big' carries each product to ~2^-22 relative (the dropped small·small' and the roundings), float32's class,
// where one TF32 GEMM carries ~2^-11. Inf or NaN give a NaN part, and so does a value within 2^-11 of FLT_MAX
// (its big part rounds to Inf): fine for activations and gradients, not for data near the float range's end.
#include "frl_cuda.cuh"  // tf32_split, tf32_store_parts


// src [rows, cols] row-major → `parts` copies: copy j of element (r, c) at dst[j·partStride + r·rowStride + c], the
// small part where bit j of smallMask is set, else the big part. 2-D grid (Kernel.launchPlanes): x over a row's
// columns (no 64-bit division per element), y over the rows, both grid-stride.
extern "C" __global__ void tf32_parts(const float* __restrict__ src, float* __restrict__ dst, long long rows, int cols,
                                      int parts, int smallMask, long long partStride, long long rowStride) {
    for (long long r = FRL_PLANE_FIRST; r < rows; r += FRL_PLANE_STRIDE)
        for (long long c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += blockDim.x * gridDim.x) {
            const Tf32Parts x = tf32_split(src[r * cols + c]);
            tf32_store_parts(dst + r * rowStride + c, partStride, parts, smallMask, x.big, x.small);
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
            const Tf32Parts px = tf32_split(x.x), py = tf32_split(x.y), pz = tf32_split(x.z), pw = tf32_split(x.w);
            float4 big, small;
            big.x = px.big, big.y = py.big, big.z = pz.big, big.w = pw.big;
            small.x = px.small, small.y = py.small, small.z = pz.small, small.w = pw.small;
            tf32_store_parts(reinterpret_cast<float4*>(dst + r * rowStride) + c, partStride >> 2, parts, smallMask, big, small);
        }
}
