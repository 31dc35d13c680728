package frl.backend;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HostMemoryTest {
    @Test void readsMemTotalInBytes() {
        assertEquals(24576000L * 1024, HostMemory.parse("MemFree:  100 kB\nMemTotal:       24576000 kB\nBuffers: 5 kB\n"));
        assertEquals(Long.MAX_VALUE, HostMemory.parse("MemFree:  100 kB\n"), "no MemTotal: unknown, so nothing is refused");
        assertTrue(HostMemory.totalBytes() > 1L << 30, "this machine has more than 1 GiB: " + HostMemory.totalBytes());
    }
}
