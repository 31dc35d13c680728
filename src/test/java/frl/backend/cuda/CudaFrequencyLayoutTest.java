package frl.backend.cuda;

import static org.junit.jupiter.api.Assertions.*;

import frl.freq.FilterSpec;
import org.junit.jupiter.api.Test;

/** CPU-side arithmetic of the GPU HF paths (no GPU needed): taps packing, shared-memory sizes, the half gain. */
class CudaFrequencyLayoutTest {
    @Test
    void tapBitsAreTheDoublesInMemoryOrder() {
        double[] taps = FilterSpec.gaussian(15).taps();
        int[] v = CudaFrequency.tapBits(taps);
        assertEquals(32, v.length);
        for (int i = 0; i < 16; i++) {
            double back = Double.longBitsToDouble((v[2 * i] & 0xFFFFFFFFL) | ((long) v[2 * i + 1] << 32));
            assertEquals(i < taps.length ? taps[i] : 0.0, back, 0.0, "tap " + i);
        }
        assertThrows(IllegalArgumentException.class, () -> CudaFrequency.tapBits(new double[17]));
    }

    @Test
    void sharedMemoryLayout() {
        // gT [32 + 4][33] and ts [32 + 4][33] doubles for a 32x32 image and k = 5
        assertEquals(8L * (36 * 33 + 36 * 33), CudaFrequency.sharedBytes(32, 32, 5));
        assertEquals(8L * ((28 + 2) * 29 + (28 + 2) * 29), CudaFrequency.sharedBytes(28, 28, 3));
        assertTrue(CudaFrequency.sharedPath(32, 32, 5));
        assertTrue(CudaFrequency.sharedPath(32, 32, 15));
        assertTrue(CudaFrequency.sharedPath(1, 1, 1));
        assertFalse(CudaFrequency.sharedPath(32, 32, 17), "k > 15: the global passes");
        assertFalse(CudaFrequency.sharedPath(64, 64, 5), "64x64 needs more than 48 KiB");
        for (int k = 1; k <= 15; k += 2)
            for (int h = 1; h <= 60; h++)
                for (int w = 1; w <= 60; w++)
                    if (CudaFrequency.sharedPath(h, w, k)) assertTrue(CudaFrequency.sharedBytes(h, w, k) <= CudaFrequency.SHARED_LIMIT);
    }

    @Test
    void halfGainIsTheTransferScaled() {
        FilterSpec f = FilterSpec.butterworth(0.2, 2, 3);
        int hp = 10, wp = 7, wc = wp / 2 + 1;
        double[] full = f.transfer(hp, wp), half = CudaFrequency.halfGain(f, hp, wp);
        assertEquals(hp * wc, half.length);
        for (int u = 0; u < hp; u++)
            for (int v = 0; v < wc; v++) assertEquals(full[u * wp + v] / (hp * wp), half[u * wc + v], 1e-16);
    }
}
