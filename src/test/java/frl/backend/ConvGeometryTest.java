package frl.backend;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConvGeometryTest {
    @Test void outputSizesAndKernelsThatDoNotFit() {
        assertEquals(16, ConvGeometry.of(2, 1).outH(32, 4));
        assertEquals(4, ConvGeometry.of(1, 0).outW(4, 1));
        assertEquals(1, ConvGeometry.of(2, 0).outH(2, 2));
        // a kernel 1 larger than the padded input, stride 2: no window fits (truncating division said 1)
        var e = assertThrows(IllegalArgumentException.class, () -> ConvGeometry.of(2, 0).outH(1, 2));
        assertTrue(e.getMessage().contains("gives no output"), e.getMessage());
    }

    /** Every output pixel of a transposed conv belongs to exactly one sub-pixel phase. */
    @Test void subPixelPhasesTileTheOutput() {
        for (ConvGeometry g : new ConvGeometry[] {ConvGeometry.of(2, 1), ConvGeometry.of(3, 2), new ConvGeometry(2, 1, 0, 3)})
            for (int h : new int[] {1, 7, 32})
                for (int w : new int[] {2, 9}) {
                    Set<Integer> seen = new HashSet<>();
                    for (ConvGeometry.Phase p : g.subPixelPhases(h, w))
                        for (int a = 0; a < p.qh(); a++)
                            for (int b = 0; b < p.qw(); b++) {
                                int y = (p.qy0() + a) * g.strideH() + p.ry() - g.padH(), x = (p.qx0() + b) * g.strideW() + p.rx() - g.padW();
                                assertTrue(y >= 0 && y < h && x >= 0 && x < w, g + " " + h + "×" + w + ": pixel " + y + "," + x + " outside");
                                assertTrue(seen.add(y * w + x), g + " " + h + "×" + w + ": pixel " + y + "," + x + " twice");
                            }
                    assertEquals(h * w, seen.size(), g + " " + h + "×" + w + ": every pixel once");
                }
    }
}
