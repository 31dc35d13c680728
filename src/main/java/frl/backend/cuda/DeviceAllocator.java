package frl.backend.cuda;

import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.PointerPointer;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * A caching device allocator: freed blocks go to a free list keyed by their rounded size and are handed out
 * again, so a training step costs no cudaMalloc once the first step has run. Every op runs on the context's one
 * stream, so a block freed while a kernel still reads it is only reused by work queued after that kernel.
 * When cudaMalloc fails, the cache is returned to the driver and the allocation is tried once more.
 */
final class DeviceAllocator {
    private static final long SMALL = 1 << 20;
    private final Map<Long, ArrayDeque<Long>> free = new HashMap<>();
    private long live, peak, cached, mallocs;

    /** Small blocks in 512-byte steps, large ones in 2 MiB steps: few distinct sizes, little waste. */
    static long rounded(long bytes) {
        long b = Math.max(bytes, 1);
        return b < SMALL ? (b + 511) & ~511L : (b + (2 * SMALL - 1)) & ~(2 * SMALL - 1);
    }

    synchronized long allocate(long bytes) {
        long size = rounded(bytes);
        ArrayDeque<Long> q = free.get(size);
        long ptr;
        if (q != null && !q.isEmpty()) {
            ptr = q.pop();
            cached -= size;
        } else {
            ptr = malloc(size);
            if (ptr == 0) {
                CudaContext.get().sync("allocation of " + size + " bytes");
                releaseCache();
                ptr = malloc(size);
                if (ptr == 0) throw new CudaException("cudaMalloc(" + size + " bytes) failed: out of device memory (" + describe() + ")");
            }
            mallocs++;
        }
        live += size;
        peak = Math.max(peak, live);
        return ptr;
    }

    synchronized void free(long ptr, long bytes) {
        long size = rounded(bytes);
        free.computeIfAbsent(size, s -> new ArrayDeque<>()).push(ptr);
        live -= size;
        cached += size;
    }

    /** Returns every cached block to the driver (the caller has synchronised the stream). */
    synchronized void releaseCache() {
        for (ArrayDeque<Long> q : free.values())
            for (long p : q) Cuda.check(cudart.cudaFree(new DevicePointer(p)), "cudaFree");
        free.clear();
        cached = 0;
    }

    private static long malloc(long size) {
        PointerPointer<?> out = new PointerPointer<>(1);
        int rc = cudart.cudaMalloc(out, size);
        if (rc == cudart.cudaErrorMemoryAllocation) {
            cudart.cudaGetLastError(); // clear the sticky-free error state of this call
            return 0;
        }
        Cuda.check(rc, "cudaMalloc(" + size + " bytes)");
        return out.get(0).address();
    }

    synchronized long liveBytes() { return live; }

    /** The high-water mark of live bytes since start (or the last {@link #resetPeak}). */
    synchronized long peakBytes() { return peak; }

    synchronized void resetPeak() { peak = live; }

    synchronized String describe() {
        return String.format("live %.1f MiB, peak %.1f MiB, cached %.1f MiB, %d cudaMalloc calls",
                live / 1048576.0, peak / 1048576.0, cached / 1048576.0, mallocs);
    }
}
