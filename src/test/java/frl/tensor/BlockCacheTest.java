package frl.tensor;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bookkeeping of freed host blocks, on made-up addresses: what is kept, what is handed back, what is evicted. */
class BlockCacheTest {
    private static final long MB = 1 << 20;
    private final List<MemorySegment> released = new ArrayList<>();
    private final BlockCache cache = new BlockCache(Long.MAX_VALUE, released::add);

    private static MemorySegment block(long address) { return MemorySegment.ofAddress(address); }

    @Test void aStepsBlocksComeBackBySize() {
        MemorySegment a = block(0x1000), b = block(0x2000);
        // a step's peak was 10 MB; it frees a 4 MB and a 2 MB block down to nothing live
        assertTrue(cache.keep(a, 4 * MB, 2 * MB, 10 * MB));
        assertTrue(cache.keep(b, 2 * MB, 0, 10 * MB));
        assertEquals(6 * MB, cache.cachedBytes());
        assertNull(cache.take(3 * MB), "only the same size is reused");
        assertSame(b, cache.take(2 * MB));
        assertSame(a, cache.take(4 * MB));
        assertEquals(0, cache.cachedBytes());
        assertTrue(released.isEmpty());
    }

    @Test void liveAndCachedStayWithinTheHighWaterMark() {
        assertTrue(cache.keep(block(0x1000), 4 * MB, 4 * MB, 10 * MB));
        assertFalse(cache.keep(block(0x2000), 4 * MB, 4 * MB, 10 * MB), "4 live + 4 cached + 4 would pass the 10 once live");
        assertTrue(cache.keep(block(0x3000), 2 * MB, 4 * MB, 10 * MB), "4 + 4 + 2 fits exactly");
    }

    @Test void aNewBlockEvictsOtherSizesUntilItFits() {
        cache.keep(block(0x1000), 4 * MB, 0, 10 * MB);
        cache.keep(block(0x2000), 4 * MB, 0, 10 * MB);
        cache.keep(block(0x3000), 2 * MB, 0, 10 * MB);
        cache.makeRoom(3 * MB, 2 * MB, 10 * MB);   // 2 live + 3 new leave room for 5 cached of the 10
        assertTrue(cache.cachedBytes() <= 5 * MB, "cached " + cache.cachedBytes());
        assertEquals(2, released.size(), "two of the three blocks go back, whichever come first");
        cache.makeRoom(1 * MB, 2 * MB, 10 * MB);
        assertEquals(2, released.size(), "nothing more once it fits");
    }

    @Test void theCapHoldsWhateverTheHighWaterMark() {
        BlockCache capped = new BlockCache(5 * MB, released::add);
        assertTrue(capped.keep(block(0x1000), 4 * MB, 0, 100 * MB));
        assertFalse(capped.keep(block(0x2000), 2 * MB, 0, 100 * MB));
    }

    @Test void clearGivesEverythingBack() {
        cache.keep(block(0x1000), 4 * MB, 0, 10 * MB);
        cache.keep(block(0x2000), 2 * MB, 0, 10 * MB);
        cache.clear();
        assertEquals(0, cache.cachedBytes());
        assertEquals(2, released.size());
        assertNull(cache.take(4 * MB));
    }
}
