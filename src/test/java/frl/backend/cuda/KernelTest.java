package frl.backend.cuda;

import frl.backend.Backends;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The typed launcher refuses a call that drifts from the kernel's signature before it touches the GPU, so
 * these checks run here too (every case below fails in the argument check, ahead of any CUDA call).
 */
class KernelTest {
    private static String refused(Kernel k, Object... args) {
        return assertThrows(IllegalArgumentException.class, () -> k.launch(1, 1, 1, 32, 1, 1, 0, args)).getMessage();
    }

    @Test void wrongArgumentCountIsNamed() {
        Kernel k = new Kernel("pointwise", "affine", "pplff");
        String m = refused(k, 0L, 0L, 5L, 1f);
        assertTrue(m.contains("affine") && m.contains("takes 5 arguments") && m.contains("got 4"), m);
    }

    @Test void wrongArgumentKindsAreNamedByPosition() {
        Kernel k = new Kernel("pointwise", "affine", "pplff");
        String m = refused(k, 0L, 0L, 5L, 1.0, 2f);
        assertTrue(m.contains("argument 3 must be a float") && m.contains("Double"), m);
        m = refused(k, 0L, 0L, 5, 1f, "x"); // an Integer is fine for a long, a String is no float
        assertTrue(m.contains("argument 4 must be a float"), m);
        Kernel i = new Kernel("pointwise", "fill", "pli");
        m = refused(i, 0L, 3L, 2L);
        assertTrue(m.contains("argument 2 must be an int"), m);
    }

    @Test void hostTensorsAndOversizedShapeArraysAreRefused() {
        try (Tensor host = Backends.cpu().empty(Shape.of(4))) {
            String m = refused(new Kernel("pointwise", "fill", "plf"), host, 4L, 1f);
            assertTrue(m.contains("argument 0 must be a cuda tensor") && m.contains("on cpu"), m);
        }
        String m = refused(new Kernel("reduce", "broadcast_to", "ppla"), 0L, 0L, 4L, new int[Kernel.MAX_INTS + 1]);
        assertTrue(m.contains("argument 3 must be an int[] of at most " + Kernel.MAX_INTS), m);
    }

    @Test void oversizedOrWrongTablesAreRefused() {
        Kernel k = new Kernel("optim", "adam_steps", "tiliddddp");
        String m = refused(k, new long[Kernel.MAX_LONGS + 1], 1, 0L, 0, 0.9, 0.999, 1e-8, 0.0, 0L);
        assertTrue(m.contains("argument 0 must be a long[] of at most " + Kernel.MAX_LONGS), m);
        m = refused(k, new int[7], 1, 0L, 0, 0.9, 0.999, 1e-8, 0.0, 0L);
        assertTrue(m.contains("argument 0 must be a long[]") && m.contains("int[]"), m);
    }

    /** A launch over planes whose int indices could wrap while they stride is refused before any CUDA call. */
    @Test void planeCountsThatCouldWrapAreRefused() {
        Kernel k = new Kernel("subpixel", "subpixel_gather", "ppiiiiiiiiiill");
        String m = assertThrows(IllegalArgumentException.class, () -> k.launchPlanes((1L << 30) + 1, 1)).getMessage();
        assertTrue(m.contains("subpixel_gather") && m.contains("at most 2^31 - 2^24 planes of 2^30"), m);
        m = assertThrows(IllegalArgumentException.class, () -> k.launchPlanes(256, Kernel.MAX_PLANES + 1)).getMessage();
        assertTrue(m.contains(Kernel.MAX_PLANES + 1 + " planes of 256 elements"), m);
    }

    /**
     * The grid of a launch over planes, {gx, gy, bx, by}: covers every element of every plane (gx·bx ≥ perPlane,
     * gy·by ≥ planes up to the grid's cap, where the kernels stride), with the largest plane index plus the kernels'
     * stride gy·by below 2^31.
     */
    @Test void planeGridsCoverEveryPlaneAndStrideInInt() {
        for (boolean packed : new boolean[] {false, true})
            for (long perPlane : new long[] {0, 1, 2, 3, 16, 17, 100, 255, 256, 257, 1024, 1L << 30})
                for (long planes : new long[] {0, 1, 15, 16, 17, 65535, 65536, 1L << 20, Kernel.MAX_PLANES}) {
                    int[] g = Kernel.planeGrid(perPlane, planes, packed);
                    String at = (packed ? "packed " : "one ") + perPlane + " × " + planes + ": " + Arrays.toString(g);
                    assertEquals(Kernel.BLOCK, g[2] * g[3], at);
                    assertTrue(g[0] >= 1 && (long) g[0] * g[2] >= perPlane, at);
                    assertTrue(g[1] >= 1 && g[1] <= 65535 && ((long) g[1] * g[3] >= planes || g[1] == 65535), at);
                    assertTrue(planes - 1 + (long) g[1] * g[3] <= Integer.MAX_VALUE, at);
                }
    }

    /** One plane per block row unless packed; packed, a short plane takes the next power of two, and no more rows than planes need. */
    @Test void packedGridsGiveShortPlanesRowsOfTheirSize() {
        assertArrayEquals(new int[] {1, 16384, 256, 1}, Kernel.planeGrid(16, 16384, false));
        assertArrayEquals(new int[] {1, 1024, 16, 16}, Kernel.planeGrid(16, 16384, true));
        assertArrayEquals(new int[] {1, 2, 32, 8}, Kernel.planeGrid(17, 9, true));
        assertArrayEquals(new int[] {4, 3, 256, 1}, Kernel.planeGrid(1024, 3, true));
        assertArrayEquals(new int[] {1, 65535, 1, 256}, Kernel.planeGrid(1, Kernel.MAX_PLANES, true));
    }
}
