package frl.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The size classes of the caching allocator (pure arithmetic; the allocation itself needs a GPU). */
class DeviceAllocatorTest {
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
