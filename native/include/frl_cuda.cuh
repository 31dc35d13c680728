// Shared by every kernel family: index helpers and the launch conventions the Java launchers assume
// (1-D grids of BLOCK threads over n elements, grid-stride loops so any grid size is correct).
#pragma once
#include <stdint.h>

#define FRL_BLOCK 256

// Grid-stride loop over [0, n).
#define FRL_FOR(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
         i += (long long)blockDim.x * gridDim.x)

// Sum of v over the block (blockDim.x a multiple of 32, ≤ 1024); every thread gets the total.
__device__ inline float frl_block_sum(float v) {
    __shared__ float part[32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) part[warp] = v;
    __syncthreads();
    int warps = blockDim.x >> 5;
    float t = lane < warps ? part[lane] : 0.f;
    for (int o = 16; o > 0; o >>= 1) t += __shfl_xor_sync(0xffffffffu, t, o);
    return t;
}

// Max of v over the block; every thread gets it.
__device__ inline float frl_block_max(float v) {
    __shared__ float part[32];
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) part[warp] = v;
    __syncthreads();
    int warps = blockDim.x >> 5;
    float t = lane < warps ? part[lane] : -INFINITY;
    for (int o = 16; o > 0; o >>= 1) t = fmaxf(t, __shfl_xor_sync(0xffffffffu, t, o));
    return t;
}

// Up to 32 ints by value (shapes, strides): Java's Kernel passes an int[] for a parameter of kind 'a'.
struct FrlInts { int v[32]; };
