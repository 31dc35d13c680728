package frl.backend.cuda;

import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.PointerPointer;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.function.Supplier;

/**
 * Page-locked host blocks through which small copies between the host and the device are queued on the stream
 * without waiting for it: a batch upload no longer drains the GPU before the next step is queued, and a step's
 * loss can be read without waiting for the steps queued after it. Each block carries an event recorded after its
 * last copy; a block is reused only once that event has completed (oldest first, so that is usually at once).
 * Larger copies keep the synchronous path of {@link DeviceStorage}.
 */
final class PinnedStaging {
    /** Copies up to this size go through a pinned block. */
    static final long MAX_BYTES = 16L << 20;
    /** -Dfrl.cuda.pinned=false: every copy waits for the stream, as before this class (to rule it out). */
    static final boolean ON = !"false".equals(System.getProperty("frl.cuda.pinned"));
    private static final long MIN_BLOCK = 64L << 10;
    /** Blocks made before a copy waits for an old one rather than taking a new block (a step has a few copies in flight). */
    private static final int MAX_BLOCKS = 16;

    private static final class Block {
        final long address, bytes;
        final CUevent_st done = new CUevent_st();

        Block(long bytes) {
            this.bytes = bytes;
            PointerPointer<?> out = new PointerPointer<>(1);
            Cuda.check(cudart.cudaMallocHost(out, bytes), "cudaMallocHost(" + bytes + " bytes)");
            address = out.get(0).address();
            Cuda.check(cudart.cudaEventCreateWithFlags(done, cudart.cudaEventDisableTiming), "cudaEventCreateWithFlags");
        }

        MemorySegment segment(long count) { return MemorySegment.ofAddress(address).reinterpret(count); }
    }

    private final CudaContext ctx;
    /** Blocks not handed out, in the order their last copy was queued. */
    private final ArrayDeque<Block> idle = new ArrayDeque<>();
    private int blocks;

    PinnedStaging(CudaContext ctx) { this.ctx = ctx; }

    /** Queues a copy of {@code count} bytes of {@code src} to device address {@code dst}; returns once src may change. */
    void upload(MemorySegment src, long dst, long count) {
        Block b = take(count);
        try {
            MemorySegment.copy(src, 0, b.segment(count), 0, count);
            Cuda.check(cudart.cudaMemcpyAsync(new DevicePointer(dst), new DevicePointer(b.address), count,
                    cudart.cudaMemcpyHostToDevice, ctx.stream()), "cudaMemcpyAsync(host to device, " + count + " bytes, pinned)");
            Cuda.check(cudart.cudaEventRecord(b.done, ctx.stream()), "cudaEventRecord");
        } finally {
            giveBack(b);
        }
    }

    /**
     * Queues a copy of {@code count} bytes at device address {@code src} to the host. The supplier waits for that
     * copy only (not for work queued after it), raises a failed input check of the work queued before it, and
     * returns the bytes in heap memory.
     */
    Supplier<MemorySegment> download(long src, long count) {
        Block b = take(count);
        long checksBefore = ctx.checksDeferred();
        Cuda.check(cudart.cudaMemcpyAsync(new DevicePointer(b.address), new DevicePointer(src), count,
                cudart.cudaMemcpyDeviceToHost, ctx.stream()), "cudaMemcpyAsync(device to host, " + count + " bytes, pinned)");
        Cuda.check(cudart.cudaEventRecord(b.done, ctx.stream()), "cudaEventRecord");
        return new Supplier<>() {
            private MemorySegment value;

            @Override public synchronized MemorySegment get() {
                if (value == null) {
                    Cuda.check(cudart.cudaEventSynchronize(b.done), "cudaEventSynchronize (device-to-host copy of " + count + " bytes)");
                    value = MemorySegment.ofArray(new byte[(int) count]);
                    MemorySegment.copy(b.segment(count), 0, value, 0, count);
                    giveBack(b);
                    ctx.settleChecks(checksBefore);
                }
                return value;
            }
        };
    }

    /**
     * An idle block of at least {@code count} bytes whose last copy is done (the smallest), else a new block, or,
     * once there are {@link #MAX_BLOCKS}, the oldest fitting idle one when its copy is done (the host waits then).
     */
    private Block take(long count) {
        Block chosen = null;
        synchronized (this) {
            for (Block b : idle)
                if (b.bytes >= count && (chosen == null || b.bytes < chosen.bytes) && cudart.cudaEventQuery(b.done) == cudart.cudaSuccess) chosen = b;
            if (chosen == null && blocks >= MAX_BLOCKS)
                for (Block b : idle)
                    if (b.bytes >= count) {
                        chosen = b;
                        break;
                    }
            if (chosen != null) idle.remove(chosen);
            else blocks++;
        }
        if (chosen == null) return new Block(Math.max(MIN_BLOCK, Long.highestOneBit(Math.max(1, count - 1)) << 1));
        Cuda.check(cudart.cudaEventSynchronize(chosen.done), "cudaEventSynchronize (pinned block reuse)");   // at once if it was ready
        return chosen;
    }

    private synchronized void giveBack(Block b) { idle.addLast(b); }
}
