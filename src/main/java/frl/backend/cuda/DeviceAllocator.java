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
 * <p>
 * While a CUDA graph is captured, a {@link Pool} takes every allocation and every free: a captured graph replays
 * with the addresses it was captured with, so the blocks it touches must not be handed to anyone else while the
 * graph lives. Closing the pool returns its free blocks to the cache; a block still live then goes there when it
 * is freed.
 */
final class DeviceAllocator {
    /** Where blocks come from and go back to: cudaMalloc (0 when out of memory) and cudaFree, and the stream's wait. */
    interface Blocks {
        long malloc(long bytes);

        void free(long address);

        /** Waits until no queued work can still use a cached block. */
        void waitIdle();
    }

    private static final long SMALL = 1 << 20;
    private final Blocks device;
    private final Map<Long, ArrayDeque<Long>> free = new HashMap<>();
    /** The pool of every block a live graph owns, by address. */
    private final Map<Long, Pool> owner = new HashMap<>();
    private Pool capturing;
    private long live, peak, cached, mallocs;

    /** The blocks of one captured graph. */
    final class Pool {
        private final Map<Long, ArrayDeque<Long>> idle = new HashMap<>();
        private final java.util.List<Long> blocks = new java.util.ArrayList<>();
        private boolean closed;

        /** Returns the pool's free blocks to the cache; live ones go there when freed. Needs the stream idle. */
        void close() {
            synchronized (DeviceAllocator.this) {
                if (closed) return;
                closed = true;
                if (capturing == this) capturing = null;
                for (var e : idle.entrySet())
                    for (long p : e.getValue()) {
                        free.computeIfAbsent(e.getKey(), s -> new ArrayDeque<>()).push(p);
                        cached += e.getKey();
                    }
                for (long p : blocks) owner.remove(p, this);   // a block another graph took over stays that graph's
                idle.clear();
            }
        }
    }

    DeviceAllocator() { this(new Blocks() {
        @Override public long malloc(long bytes) { return DeviceAllocator.malloc(bytes); }

        @Override public void free(long address) { Cuda.check(cudart.cudaFree(new DevicePointer(address)), "cudaFree"); }

        // only the wait: an input check of some other op, raised here, would stop the retry
        @Override public void waitIdle() { Cuda.check(cudart.cudaStreamSynchronize(CudaContext.get().stream()), "cudaStreamSynchronize (before returning cached blocks)"); }
    }); }

    /** For tests of the bookkeeping on machines without a GPU. */
    DeviceAllocator(Blocks device) { this.device = device; }

    /** Small blocks in 512-byte steps, large ones in 2 MiB steps: few distinct sizes, little waste. */
    static long rounded(long bytes) {
        long b = Math.max(bytes, 1);
        return b < SMALL ? (b + 511) & ~511L : (b + (2 * SMALL - 1)) & ~(2 * SMALL - 1);
    }

    /** From now until {@link #endCapture}, allocations and frees go to a new pool (a graph is being captured). */
    synchronized Pool beginCapture() {
        if (capturing != null) throw new IllegalStateException("a graph is already being captured");
        capturing = new Pool();
        return capturing;
    }

    /** Allocations go to the cache again; the pool keeps its blocks until it is closed. */
    synchronized void endCapture() { capturing = null; }

    synchronized long allocate(long bytes) { return allocate(bytes, true); }

    /**
     * A block that, while a graph is captured, none of the graph's earlier temporaries used: the graph keeps it,
     * but it is not one its step freed. For memory set outside the graph, such as an input check's flag preset
     * once at recording: a replay would otherwise write a temporary's data over the preset before the check runs.
     */
    synchronized long allocateApart(long bytes) { return allocate(bytes, false); }

    private long allocate(long bytes, boolean reuseCaptured) {
        long size = rounded(bytes);
        long ptr = capturing != null && reuseCaptured ? pop(capturing.idle, size) : 0;
        if (ptr == 0 && (ptr = pop(free, size)) != 0) cached -= size;
        if (ptr == 0) {
            ptr = device.malloc(size);
            if (ptr == 0 && capturing == null) {   // no synchronising while a graph is captured
                device.waitIdle();
                releaseCache();
                ptr = device.malloc(size);
            }
            if (ptr == 0) throw new CudaException("cudaMalloc(" + size + " bytes) failed: out of device memory (" + describe() + ")");
            mallocs++;
        }
        if (capturing != null && !owner.containsKey(ptr)) {
            owner.put(ptr, capturing);
            capturing.blocks.add(ptr);
        }
        live += size;
        peak = Math.max(peak, live);
        return ptr;
    }

    private static long pop(Map<Long, ArrayDeque<Long>> lists, long size) {
        ArrayDeque<Long> q = lists.get(size);
        return q == null || q.isEmpty() ? 0 : q.pop();
    }

    synchronized void free(long ptr, long bytes) {
        long size = rounded(bytes);
        live -= size;
        Pool pool = owner.get(ptr);
        if (capturing != null && pool != capturing) {
            // a block from before the capture (or another graph's), freed during it: the graph being recorded may
            // read it, so it keeps it; an older graph that also used it has finished with it by its own order
            pool = capturing;
            owner.put(ptr, pool);
            pool.blocks.add(ptr);
        }
        if (pool != null) {
            pool.idle.computeIfAbsent(size, s -> new ArrayDeque<>()).push(ptr);
            return;
        }
        free.computeIfAbsent(size, s -> new ArrayDeque<>()).push(ptr);
        cached += size;
    }

    /** Returns every cached block to the driver (the caller has synchronised the stream). */
    synchronized void releaseCache() {
        for (ArrayDeque<Long> q : free.values())
            for (long p : q) device.free(p);
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

    /** Bytes in the cache (freed, not in a graph's pool). */
    synchronized long cachedBytes() { return cached; }

    /** cudaMalloc calls so far. */
    synchronized long mallocs() { return mallocs; }

    /** The high-water mark of live bytes since start (or the last {@link #resetPeak}). */
    synchronized long peakBytes() { return peak; }

    synchronized void resetPeak() { peak = live; }

    synchronized String describe() {
        return String.format("live %.1f MiB, peak %.1f MiB, cached %.1f MiB, %d cudaMalloc calls",
                live / 1048576.0, peak / 1048576.0, cached / 1048576.0, mallocs);
    }
}
