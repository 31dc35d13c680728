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

import static frl.backend.cuda.CudaShiftedConvTest.gauss;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Convolutions whose kernel covers the input, as one GEMM, against the CPU backend's conv2d and its backward ops
 * (NMSE ≤ 1e-7): the VAE's heads and first decoder layer, and awkward sizes. Directly, and through the backend with
 * -Dfrl.cuda.dense forced to the GEMM.
 */
class CudaDenseConvTest {
    record Case(int n, int c, int h, int w, int k, ConvGeometry g) {
        Shape x() { return Shape.of(n, c, h, w); }

        Shape wt() { return Shape.of(k, c, h, w); }

        Shape y() { return Shape.of(n, k, 1, 1); }

        @Override public String toString() { return "x" + x() + " w" + wt() + " " + g; }
    }

    static List<Case> cases() {
        return List.of(
                new Case(64, 256, 4, 4, 200, ConvGeometry.of(1, 0)),   // cifar's heads (ngf 64): 4×4 top → nz
                new Case(64, 512, 4, 4, 200, ConvGeometry.of(1, 0)),   // cifar's first decoder layer, as its conv
                new Case(64, 128, 4, 4, 200, ConvGeometry.of(1, 0)),   // fmnist's heads (ngf 32)
                new Case(1, 3, 5, 2, 7, ConvGeometry.of(1, 0)),        // batch 1, H ≠ W
                new Case(3, 5, 3, 3, 1, new ConvGeometry(2, 3, 0, 0)),  // one output channel, strides that never step
                new Case(2, 70, 1, 1, 65, ConvGeometry.of(1, 0)));      // 1×1 over more channels than CudaConv1x1 takes
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    @Tag("gpu")
    void matchesTheCpuConvolution(Case c) {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        Random r = new Random(c.hashCode());
        float[] x = gauss(r, c.x()), w = gauss(r, c.wt()), dy = gauss(r, c.y());
        try (Scope scope = Scope.open()) {
            Tensor xc = cpu.fromHost(c.x(), x), wc = cpu.fromHost(c.wt(), w), dyc = cpu.fromHost(c.y(), dy);
            Tensor xg = cuda.fromHost(c.x(), x), wg = cuda.fromHost(c.wt(), w), dyg = cuda.fromHost(c.y(), dy);
            Tensor y = cpu.conv2d(xc, wc, c.g()), dx = cpu.conv2dBackwardInput(dyc, wc, c.x(), c.g()), dw = cpu.conv2dBackwardWeight(xc, dyc, c.wt(), c.g());
            Tensor gy = CudaDenseConv.conv2d(xg, wg, c.g());
            assertEquals(c.y(), gy.shape());
            CudaVsCpu.assertClose(c + " forward", gy, y);
            CudaVsCpu.assertClose(c + " backward input", CudaDenseConv.backwardInput(dyg, wg, c.x(), c.g()), dx);
            CudaVsCpu.assertClose(c + " backward weight", CudaDenseConv.backwardWeight(xg, dyg, c.wt(), c.g()), dw);
            for (String mode : new String[] {"kernel", "auto"})
                Switches.with("frl.cuda.dense", mode, () -> {
                    CudaVsCpu.assertClose(c + " " + mode + " backend forward", cuda.conv2d(xg, wg, c.g()), y);
                    CudaVsCpu.assertClose(c + " " + mode + " backend backward input", cuda.conv2dBackwardInput(dyg, wg, c.x(), c.g()), dx);
                    CudaVsCpu.assertClose(c + " " + mode + " backend backward weight", cuda.conv2dBackwardWeight(xg, dyg, c.wt(), c.g()), dw);
                });
            // auto timed both paths for each op: the backend did reach CudaDenseConv
            String shapes = " x" + c.x() + " w" + c.wt() + " " + c.g();
            for (String op : new String[] {"conv2d", "conv2dBackwardInput", "conv2dBackwardWeight"})
                assertTrue(CudaConv.denseChoices().containsKey(op + shapes), op + shapes + " not timed: " + CudaConv.denseChoices());
        }
    }

    @Test
    void appliesWhereTheKernelCoversTheUnpaddedInput() {
        Shape x = Shape.of(2, 12, 4, 4);
        assertTrue(CudaDenseConv.applies(x, Shape.of(7, 12, 4, 4), ConvGeometry.of(1, 0)));
        assertTrue(CudaDenseConv.applies(x, Shape.of(7, 12, 4, 4), ConvGeometry.of(2, 0)), "the stride never steps");
        assertFalse(CudaDenseConv.applies(x, Shape.of(7, 12, 4, 4), ConvGeometry.of(1, 1)), "padded: 3×3 outputs");
        assertFalse(CudaDenseConv.applies(x, Shape.of(7, 12, 3, 4), ConvGeometry.of(1, 0)), "a smaller kernel slides");
        assertFalse(CudaDenseConv.applies(x, Shape.of(7, 11, 4, 4), ConvGeometry.of(1, 0)), "channels differ");
        assertFalse(CudaDenseConv.applies(Shape.of(0, 12, 4, 4), Shape.of(7, 12, 4, 4), ConvGeometry.of(1, 0)), "empty batch");
    }
}
