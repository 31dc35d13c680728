package frl.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * The caching allocator's bookkeeping: size classes, reuse, and the pools of CUDA graphs. The blocks come from a
 * counter here (this machine has no GPU; on one they come from cudaMalloc, and CudaGraphTest checks the same).
 */
class DeviceAllocatorTest {
    /** Distinct fake addresses within a memory of {@code capacity} bytes; what was handed back to the "driver". */
    private static final class Counter implements DeviceAllocator.Blocks {
        long next = 1 << 20, capacity = Long.MAX_VALUE, used, waits;
        final List<Long> released = new ArrayList<>();
        final java.util.Map<Long, Long> sizes = new java.util.HashMap<>();

        @Override public long malloc(long bytes) {
            if (used + bytes > capacity) return 0;
            long p = next;
            next += bytes;
            used += bytes;
            sizes.put(p, bytes);
            return p;
        }

        @Override public void free(long address) {
            released.add(address);
            used -= sizes.remove(address);
        }

        @Override public void waitIdle() { waits++; }
    }

    @Test void freedBlocksAreReusedBySize() {
        Counter c = new Counter();
        DeviceAllocator a = new DeviceAllocator(c);
        long p = a.allocate(1000), q = a.allocate(1000);
        a.free(p, 1000);
        assertEquals(p, a.allocate(900), "same size class: the cached block");
        assertNotEquals(p, a.allocate(5000), "another size class: a new block");
        assertEquals(3, a.mallocs());
        assertEquals(0, a.cachedBytes());
        a.free(q, 1000);
        assertEquals(1024, a.cachedBytes());
        a.releaseCache();
        assertEquals(List.of(q), c.released);
    }

    /** Out of memory, the cache goes back to the driver (after a wait for the stream) and the allocation is tried again. */
    @Test void outOfMemoryReturnsTheCacheAndTriesAgain() {
        Counter c = new Counter();
        c.capacity = 8 << 20;
        DeviceAllocator a = new DeviceAllocator(c);
        long small = a.allocate(4 << 20);
        a.free(small, 4 << 20);
        long big = a.allocate(6 << 20);
        assertEquals(1, c.waits);
        assertEquals(List.of(small), c.released);
        assertEquals(6 << 20, a.liveBytes());
        var e = org.junit.jupiter.api.Assertions.assertThrows(CudaException.class, () -> a.allocate((3 << 20) + 1));   // 4 MiB rounded
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("out of device memory"), e.getMessage());
        assertEquals(2, c.waits, "waited once more before failing");
        a.beginCapture();   // while a graph is recorded nothing may wait: out of memory fails at once
        org.junit.jupiter.api.Assertions.assertThrows(CudaException.class, () -> a.allocate(4 << 20));
        assertEquals(2, c.waits);
        a.endCapture();
        a.free(big, 6 << 20);
    }

    /** What a graph's step frees stays the graph's until the graph closes; then the cache has it again. */
    @Test void aGraphKeepsTheBlocksItsStepUsed() {
        DeviceAllocator a = new DeviceAllocator(new Counter());
        long input = a.allocate(4096), cachedBefore = a.allocate(2048);
        a.free(cachedBefore, 2048);
        DeviceAllocator.Pool pool = a.beginCapture();
        long temp = a.allocate(2048);
        assertEquals(cachedBefore, temp, "the capture takes a cached block into its pool");
        a.free(temp, 2048);
        assertEquals(temp, a.allocate(2048), "reused within the capture");
        a.free(temp, 2048);
        a.free(input, 4096);   // freed during the capture: the graph may read it
        a.endCapture();
        assertEquals(0, a.cachedBytes(), "nothing of the graph's is in the cache");
        long other = a.allocate(2048), other2 = a.allocate(4096);
        assertNotEquals(temp, other);
        assertNotEquals(input, other2);
        pool.close();
        assertEquals(2048 + 4096, a.cachedBytes());
        assertEquals(temp, a.allocate(2048), "back in the cache once the graph closed");
        assertEquals(input, a.allocate(4096));
    }

    /** A check flag recorded in a graph is preset once, outside it: no temporary the step freed may hold it. */
    @Test void aBlockApartIsNoneOfTheCapturedStepsTemporaries() {
        DeviceAllocator a = new DeviceAllocator(new Counter());
        DeviceAllocator.Pool pool = a.beginCapture();
        long temp = a.allocate(8);
        a.free(temp, 8);
        long flag = a.allocateApart(8);
        assertNotEquals(temp, flag, "a replay writes the temporary before the check reads its flag");
        assertEquals(temp, a.allocate(8), "other allocations still reuse the step's temporaries");
        a.endCapture();
        assertNotEquals(flag, a.allocate(8), "the graph keeps the flag's block");
        a.free(flag, 8);
        pool.close();
        assertEquals(flag, a.allocate(8), "back in the cache once the graph closed");
    }

    @Test void aBlockStillLiveWhenItsGraphClosesGoesToTheCacheWhenFreed() {
        DeviceAllocator a = new DeviceAllocator(new Counter());
        DeviceAllocator.Pool pool = a.beginCapture();
        long kept = a.allocate(512);   // an output the caller keeps
        a.endCapture();
        pool.close();
        assertEquals(0, a.cachedBytes());
        a.free(kept, 512);
        assertEquals(512, a.cachedBytes());
        assertEquals(kept, a.allocate(512));
        assertEquals(512, a.liveBytes());
    }

    /**
     * A block of graph A freed while graph B is recorded belongs to B: A closing does not hand it out, whether B's
     * step left it free or took it again (then freed after A has closed).
     */
    @Test void aBlockFreedWhileAnotherGraphIsRecordedBelongsToThatGraph() {
        for (boolean takenAgain : new boolean[] {false, true}) {
            DeviceAllocator a = new DeviceAllocator(new Counter());
            DeviceAllocator.Pool first = a.beginCapture();
            long kept = a.allocate(512);
            a.endCapture();
            DeviceAllocator.Pool second = a.beginCapture();
            a.free(kept, 512);
            if (takenAgain) assertEquals(kept, a.allocate(512), "reused within the second recording");
            a.endCapture();
            first.close();
            if (takenAgain) a.free(kept, 512);
            assertEquals(0, a.cachedBytes(), "still the second graph's (taken again: " + takenAgain + ")");
            assertNotEquals(kept, a.allocate(512));
            second.close();
            assertEquals(512, a.cachedBytes());
            assertEquals(kept, a.allocate(512));
        }
    }

    @Test void smallBlocksIn512ByteStepsLargeOnesIn2MiB() {
        assertEquals(512, DeviceAllocator.rounded(0));
        assertEquals(512, DeviceAllocator.rounded(1));
        assertEquals(512, DeviceAllocator.rounded(512));
        assertEquals(1024, DeviceAllocator.rounded(513));
        assertEquals(1 << 20, DeviceAllocator.rounded((1 << 20) - 100));
        assertEquals(2 << 20, DeviceAllocator.rounded(1 << 20));
        assertEquals(2 << 20, DeviceAllocator.rounded((2 << 20) - 1));
        assertEquals(4 << 20, DeviceAllocator.rounded((2 << 20) + 1));
        assertEquals(268L << 20, DeviceAllocator.rounded(267L << 20));
    }
}
