package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.ConvGeometry;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Random;

import static frl.backend.cuda.CudaShiftedConvTest.close;
import static frl.backend.cuda.CudaShiftedConvTest.gauss;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The small-channel 1×1 kernels against the CPU backend's conv2d and its backward ops, NMSE ≤ 1e-7: Glow's sizes
 * (batch 64; C = 12, 24, 48 after the squeezes; 16×16 and 8×8) and awkward ones (1 and 64 channels, C ≠ K on
 * either side of the 16/32/64 kernel variants, batch 1, one pixel, H ≠ W).
 */
@Tag("gpu")
class CudaConv1x1Test {
    private static final ConvGeometry ONE = ConvGeometry.of(1, 0);

    record Case(int n, int c, int h, int w, int k) {
        Shape x() { return Shape.of(n, c, h, w); }

        Shape wt() { return Shape.of(k, c, 1, 1); }

        Shape y() { return Shape.of(n, k, h, w); }

        @Override public String toString() { return "x" + x() + " w" + wt(); }
    }

    static List<Case> cases() {
        return List.of(
                new Case(64, 12, 16, 16, 12), new Case(64, 24, 16, 16, 24), new Case(64, 48, 16, 16, 48),
                new Case(64, 12, 8, 8, 12), new Case(64, 24, 8, 8, 24), new Case(64, 48, 8, 8, 48),
                new Case(64, 48, 4, 4, 48),
                new Case(1, 1, 1, 1, 1), new Case(3, 17, 5, 7, 33), new Case(2, 64, 3, 3, 64), new Case(5, 64, 4, 6, 2),
                new Case(2, 2, 9, 9, 64), new Case(1, 16, 13, 1, 17), new Case(7, 33, 2, 5, 16), new Case(2, 32, 31, 33, 32));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesTheCpuConvolution(Case c) {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        assertTrue(CudaConv1x1.applies(c.x(), c.wt(), ONE), c.toString());
        Random r = new Random(c.hashCode());
        float[] x = gauss(r, c.x()), w = gauss(r, c.wt()), dy = gauss(r, c.y());
        try (Scope scope = Scope.open()) {
            Tensor xc = cpu.fromHost(c.x(), x), wc = cpu.fromHost(c.wt(), w), dyc = cpu.fromHost(c.y(), dy);
            Tensor xg = cuda.fromHost(c.x(), x), wg = cuda.fromHost(c.wt(), w), dyg = cuda.fromHost(c.y(), dy);
            Tensor y = CudaConv1x1.forward(xg, wg);
            assertEquals(c.y(), y.shape());
            close(c + " forward", y.toDoubles(), cpu.conv2d(xc, wc, ONE).toDoubles());
            close(c + " backward input", CudaConv1x1.backwardInput(dyg, wg, c.x()).toDoubles(), cpu.conv2dBackwardInput(dyc, wc, c.x(), ONE).toDoubles());
            Tensor dw = CudaConv1x1.backwardWeight(xg, dyg, c.wt());
            assertEquals(c.wt(), dw.shape());
            close(c + " backward weight", dw.toDoubles(), cpu.conv2dBackwardWeight(xc, dyc, c.wt(), ONE).toDoubles());
            assertTrue(java.util.Arrays.equals(dw.toFloats(), CudaConv1x1.backwardWeight(xg, dyg, c.wt()).toFloats()),
                    c + ": the weight gradient changed between runs");
        }
    }

    @Test
    void appliesOnlyToSmallUnpaddedStride1OneByOne() {
        GpuTests.cudaOrSkip();
        Shape x = Shape.of(2, 12, 8, 8);
        assertTrue(CudaConv1x1.applies(x, Shape.of(12, 12, 1, 1), ONE));
        assertFalse(CudaConv1x1.applies(x, Shape.of(12, 12, 3, 3), ONE));
        assertFalse(CudaConv1x1.applies(x, Shape.of(12, 12, 1, 1), ConvGeometry.of(2, 0)));
        assertFalse(CudaConv1x1.applies(x, Shape.of(12, 12, 1, 1), ConvGeometry.of(1, 1)));
        assertFalse(CudaConv1x1.applies(x, Shape.of(65, 12, 1, 1), ONE));
        assertFalse(CudaConv1x1.applies(Shape.of(2, 65, 8, 8), Shape.of(12, 65, 1, 1), ONE));
        assertFalse(CudaConv1x1.applies(x, Shape.of(12, 13, 1, 1), ONE));
        Backend cuda = GpuTests.cudaOrSkip();
        try (Scope scope = Scope.open()) {
            var e = assertThrows(IllegalArgumentException.class, () -> CudaConv1x1.forward(cuda.empty(Shape.of(1, 65, 2, 2)), cuda.empty(Shape.of(3, 65, 1, 1))));
            assertTrue(e.getMessage().contains("1 to 64"), e.getMessage());
        }
    }
}
