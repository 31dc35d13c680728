package frl.tensor;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Freed blocks kept by size for the next allocation of that size. A training step asks for the same sizes every
 * step, so it is served without new page faults; but the cache never makes the process bigger than its tensors
 * once were: live plus cached bytes stay within the high-water mark of live bytes (and within a cap), and a block
 * that must be newly allocated first evicts cached blocks of other sizes to keep it so.
 */
final class BlockCache {
    private final long cap;
    private final Consumer<MemorySegment> release;
    private final Map<Long, ArrayDeque<MemorySegment>> bySize = new HashMap<>();
    private long cached;

    /** {@code cap}: the most bytes cached at once; {@code release} gives an evicted block back to its allocator. */
    BlockCache(long cap, Consumer<MemorySegment> release) {
        this.cap = cap;
        this.release = release;
    }

    /** A cached block of exactly {@code size} bytes, or null. */
    synchronized MemorySegment take(long size) {
        ArrayDeque<MemorySegment> q = bySize.get(size);
        if (q == null || q.isEmpty()) return null;
        cached -= size;
        return q.pop();
    }

    /** Keeps a freed block if live + cached + it stay within {@code highWater} and the cap; false: the caller frees it. */
    synchronized boolean keep(MemorySegment block, long size, long live, long highWater) {
        if (cached + size > cap || live + cached + size > highWater) return false;
        bySize.computeIfAbsent(size, k -> new ArrayDeque<>()).push(block);
        cached += size;
        return true;
    }

    /** Before a new block of {@code size}: evicts cached blocks until live + cached + size fit within {@code highWater}. */
    synchronized void makeRoom(long size, long live, long highWater) {
        long room = Math.max(highWater - live - size, 0);
        for (var it = bySize.entrySet().iterator(); it.hasNext() && cached > room; ) {
            var sized = it.next();
            while (!sized.getValue().isEmpty() && cached > room) {
                release.accept(sized.getValue().pop());
                cached -= sized.getKey();
            }
            if (sized.getValue().isEmpty()) it.remove();
        }
    }

    /** Gives every cached block back. */
    synchronized void clear() { makeRoom(0, 0, 0); }

    synchronized long cachedBytes() { return cached; }
}
