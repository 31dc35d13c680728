// Timing helpers (frl.backend.cuda.CudaClock; no CPU twin: the CPU runs ops at once).
#include "frl_cuda.cuh"

// Keeps the stream busy for about ns nanoseconds of the GPU's global timer, so that the work the host queues
// meanwhile then runs back to back: events around each op time the op alone, not the host's queueing.
extern "C" __global__ void hold_ns(long long ns) {
    unsigned long long t0, t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    do {
        __nanosleep(1000);
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    } while (t - t0 < (unsigned long long)ns);
}
