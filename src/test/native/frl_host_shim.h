// The CUDA kernels' source compiled for the host, for tests without a GPU (frl.backend.cuda.HostKernels): g++ force-
// includes this before a kernel family's .cu (frl_host_launch.cpp). A launch runs the blocks one after another. In a
// family without barriers each thread runs to its end in turn; with FRL_HOST_FIBERS (a family that waits at barriers,
// shuffles or shares memory) a block's threads are fibers that a scheduler runs round-robin to their next barrier:
// __syncthreads waits for the block's live threads, the warp operations for their warp's. Shared memory is one copy
// per launch (blocks never overlap). Arithmetic is the host's float and double, each operation rounded once
// (-ffp-contract=off: no FMA unless the source asks for one).
#pragma once
#define FRL_HOST_SHIM 1
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>
#include <ucontext.h>

struct FrlDim3 { unsigned x, y, z; };
inline thread_local FrlDim3 threadIdx, blockIdx, blockDim, gridDim;

struct FrlHostError : std::runtime_error { using std::runtime_error::runtime_error; };

// A GPU faults on a vector load or store at an address that is not a multiple of its size, where x86 reads it anyway:
// the vector types check the address of every copy made from or into memory (locals are aligned by their type).
inline void frl_aligned(const void* p, unsigned bytes, const char* type) {
    if (reinterpret_cast<uintptr_t>(p) % bytes != 0) throw FrlHostError(std::string("misaligned ") + type + " access");
}
#define FRL_VECTOR(T, A, ...)                                                                      \
    struct alignas(A) T {                                                                          \
        float __VA_ARGS__;                                                                         \
        T() = default;                                                                             \
        T(const T& o) { frl_aligned(&o, A, #T); std::memcpy((void*)this, (const void*)&o, sizeof(T)); } \
        T& operator=(const T& o) {                                                                 \
            frl_aligned(this, A, #T);                                                              \
            frl_aligned(&o, A, #T);                                                                \
            std::memcpy((void*)this, (const void*)&o, sizeof(T));                                  \
            return *this;                                                                          \
        }                                                                                          \
    };
FRL_VECTOR(float2, 8, x, y)
FRL_VECTOR(float4, 16, x, y, z, w)
#undef FRL_VECTOR

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __grid_constant__
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static  // one copy, shared by the fibers of the block that runs (HostKernels rewrites extern __shared__)

// One block's threads as fibers, and what they exchange at barriers.
struct FrlFibers {
    enum State { RUNNING, AT_BLOCK_BARRIER, AT_WARP_BARRIER, DONE };
    struct Fiber { ucontext_t context; State state; };
    ucontext_t scheduler;
    std::vector<Fiber> fibers;
    std::vector<unsigned long long> exchange;  // a value per thread, read by the others after a barrier
    int current = 0;
    std::exception_ptr failure;  // what a fiber threw: rethrown by the scheduler (an exception cannot leave a fiber)
};
inline thread_local FrlFibers* frl_fibers = nullptr;  // null: threads run one after another, no barrier allowed
inline thread_local char* frl_dynamic_shared = nullptr;

inline int frl_thread() { return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z); }

inline void frl_wait(FrlFibers::State at) {
    FrlFibers* f = frl_fibers;
    if (f == nullptr) throw FrlHostError("a barrier in a family compiled without fibers");
    FrlFibers::Fiber& me = f->fibers[f->current];
    me.state = at;
    swapcontext(&me.context, &f->scheduler);
}

inline void __syncthreads() { frl_wait(FrlFibers::AT_BLOCK_BARRIER); }

// The and of pred over the block's live threads, returned to each.
inline int __syncthreads_and(int pred) {
    FrlFibers* f = frl_fibers;
    if (f == nullptr) throw FrlHostError("a barrier in a family compiled without fibers");
    f->exchange[frl_thread()] = pred != 0;
    frl_wait(FrlFibers::AT_BLOCK_BARRIER);
    int all = 1;
    for (std::size_t t = 0; t < f->fibers.size(); t++)
        if (f->fibers[t].state != FrlFibers::DONE) all &= (int)f->exchange[t];
    frl_wait(FrlFibers::AT_BLOCK_BARRIER);
    return all;
}

template <typename T> unsigned long long frl_bits(T v) { unsigned long long b = 0; std::memcpy(&b, &v, sizeof(T)); return b; }
template <typename T> T frl_value(unsigned long long b) { T v; std::memcpy(&v, &b, sizeof(T)); return v; }

// v of lane src of this warp, every lane of the warp exchanging (the mask is taken to be the whole warp).
template <typename T> T frl_from_lane(T v, int src) {
    FrlFibers* f = frl_fibers;
    if (f == nullptr) throw FrlHostError("a warp shuffle in a family compiled without fibers");
    int me = frl_thread();
    f->exchange[me] = frl_bits(v);
    frl_wait(FrlFibers::AT_WARP_BARRIER);
    T out = frl_value<T>(f->exchange[(me & ~31) + src]);
    frl_wait(FrlFibers::AT_WARP_BARRIER);
    return out;
}

template <typename T> T __shfl_sync(unsigned, T v, int src, int width = 32) {
    int lane = frl_thread() & 31;
    return frl_from_lane(v, lane / width * width + ((src % width) + width) % width);
}
template <typename T> T __shfl_xor_sync(unsigned, T v, int mask, int width = 32) {
    int lane = frl_thread() & 31, to = lane ^ mask;
    return frl_from_lane(v, to / width == lane / width ? to : lane);
}
template <typename T> T __shfl_up_sync(unsigned, T v, unsigned delta, int width = 32) {
    int lane = frl_thread() & 31;
    return frl_from_lane(v, lane % width >= (int)delta ? lane - (int)delta : lane);
}
template <typename T> T __shfl_down_sync(unsigned, T v, unsigned delta, int width = 32) {
    int lane = frl_thread() & 31;
    return frl_from_lane(v, lane % width + (int)delta < width ? lane + (int)delta : lane);
}
inline int __all_sync(unsigned, int pred) {
    FrlFibers* f = frl_fibers;
    if (f == nullptr) throw FrlHostError("a warp vote in a family compiled without fibers");
    int me = frl_thread(), base = me & ~31, all = 1;
    f->exchange[me] = pred != 0;
    frl_wait(FrlFibers::AT_WARP_BARRIER);
    for (int t = base; t < base + 32 && t < (int)f->fibers.size(); t++)
        if (f->fibers[t].state != FrlFibers::DONE) all &= (int)f->exchange[t];
    frl_wait(FrlFibers::AT_WARP_BARRIER);
    return all;
}

// mma.sync m16n8k8 with TF32 inputs (frl_cuda.cuh's mma_tf32): the warp's lanes post their fragments, each lane then
// sums its four outputs' products in k order (a TF32 product is exact in float) and adds them to d. The inputs are
// cut to TF32's top 19 bits, as the tensor cores read them.
inline void frl_mma_m16n8k8_tf32(float d[4], const unsigned a[4], const unsigned b[2]) {
    FrlFibers* f = frl_fibers;
    if (f == nullptr) throw FrlHostError("a warp mma in a family compiled without fibers");
    static thread_local std::vector<unsigned> posted;
    if (posted.size() < 6 * f->fibers.size()) posted.resize(6 * f->fibers.size());
    int me = frl_thread(), base = me & ~31, lane = me & 31, g = lane >> 2, t = lane & 3;
    for (int i = 0; i < 4; i++) posted[6 * me + i] = a[i];
    posted[6 * me + 4] = b[0];
    posted[6 * me + 5] = b[1];
    frl_wait(FrlFibers::AT_WARP_BARRIER);
    auto tf32 = [](unsigned bits) { unsigned u = bits & 0xFFFFE000u; float v; std::memcpy(&v, &u, 4); return v; };
    for (int i = 0; i < 4; i++) {
        int row = g + 8 * (i >> 1), col = 2 * t + (i & 1);
        float sum = 0;
        for (int k = 0; k < 8; k++)
            sum += tf32(posted[6 * (base + (row & 7) * 4 + (k & 3)) + (row >> 3) + 2 * (k >> 2)])
                   * tf32(posted[6 * (base + col * 4 + (k & 3)) + 4 + (k >> 2)]);
        d[i] += sum;
    }
    frl_wait(FrlFibers::AT_WARP_BARRIER);
}

// One OS thread runs a launch, and fibers switch only at barriers: a read-modify-write is atomic here.
inline unsigned long long atomicMin(unsigned long long* at, unsigned long long v) {
    unsigned long long old = *at;
    if (v < old) *at = v;
    return old;
}

inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline double __dsqrt_rn(double a) { return std::sqrt(a); }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __double2float_rn(double d) { return (float)d; }
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline float min(float a, float b) { return std::fmin(a, b); }
inline float max(float a, float b) { return std::fmax(a, b); }
inline double min(double a, double b) { return std::fmin(a, b); }
inline double max(double a, double b) { return std::fmax(a, b); }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
