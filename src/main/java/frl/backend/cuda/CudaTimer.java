package frl.backend.cuda;

import frl.tensor.Scope;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.global.cudart;

import java.util.Arrays;

/**
 * Times work queued on the context's stream with a pair of CUDA events. Each run's allocations are freed after it
 * (back to the caching allocator, so repeated runs cost no cudaMalloc).
 */
final class CudaTimer implements AutoCloseable {
    private final CudaContext ctx = CudaContext.get();
    private final CUevent_st start = new CUevent_st(), stop = new CUevent_st();
    private final float[] ms = new float[1];

    CudaTimer() {
        Cuda.check(cudart.cudaEventCreate(start), "cudaEventCreate");
        Cuda.check(cudart.cudaEventCreate(stop), "cudaEventCreate");
    }

    /** Milliseconds one run of {@code work} takes on the stream (waits for it). */
    float once(Runnable work) {
        try (Scope s = Scope.open()) {
            Cuda.check(cudart.cudaEventRecord(start, ctx.stream()), "cudaEventRecord");
            work.run();
            Cuda.check(cudart.cudaEventRecord(stop, ctx.stream()), "cudaEventRecord");
            Cuda.check(cudart.cudaEventSynchronize(stop), "cudaEventSynchronize");
        }
        Cuda.check(cudart.cudaEventElapsedTime(ms, start, stop), "cudaEventElapsedTime");
        return ms[0];
    }

    /** The median of {@code repeats} timed runs after {@code warmups} untimed ones, in milliseconds. */
    float median(Runnable work, int warmups, int repeats) {
        for (int i = 0; i < warmups; i++) {
            try (Scope s = Scope.open()) { work.run(); }
        }
        float[] t = new float[Math.max(1, repeats)];
        for (int i = 0; i < t.length; i++) t[i] = once(work);
        Arrays.sort(t);
        return t.length % 2 == 1 ? t[t.length / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
    }

    @Override public void close() {
        cudart.cudaEventDestroy(start);
        cudart.cudaEventDestroy(stop);
    }
}
