package frl.backend.cuda;

import frl.backend.Backend;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static frl.backend.cuda.CudaVsCpu.CPU;
import static frl.backend.cuda.CudaVsCpu.assertClose;
import static frl.backend.cuda.CudaVsCpu.assertExact;
import static frl.backend.cuda.CudaVsCpu.shape;
import static frl.backend.cuda.CudaVsCpu.uniform;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * CUDA sumTo, broadcastTo and logSumExp against the CPU backend, on both kernel paths of each: sumTo with a
 * block per output (summed innermost runs) and with chunked partial sums (kept innermost axis), logSumExp with
 * a block per position (long or contiguous class axes) and a thread per position.
 */
@Tag("gpu")
class CudaReduceTest {
    private Backend cuda;
    private Scope scope;

    @BeforeEach void open() {
        cuda = GpuTests.cudaOrSkip();
        scope = Scope.open();
    }

    @AfterEach void close() { if (scope != null) scope.close(); }

    private static final Shape[][] SUMS = {   // {big, small}
            {shape(2, 3, 4, 5), shape(3, 1, 5)}, {shape(2, 3, 4, 5), shape(1, 3, 1, 1)}, {shape(2, 3, 4, 5), shape(1)},
            {shape(2, 3, 4, 5), shape(5)}, {shape(2, 3, 4, 5), shape(2, 3, 4, 5)}, {shape(2, 3, 4, 5), shape(2, 1, 4, 1)},
            {shape(33, 17), shape(33, 1)}, {shape(33, 17), shape()}, {shape(1, 3, 17, 33), shape(3, 1, 1)}, {shape(3, 4, 5), shape(4, 1)},
            {shape(17), shape(1)}, {shape(64, 4, 32, 32), shape(1, 4, 1, 1)}, {shape(64, 4, 32, 32), shape(4, 1, 1)},   // VAE channels
            {shape(64, 4, 32, 32), shape(64, 1, 1, 1)}, {shape(64, 4, 32, 32), shape(1, 4, 32, 32)}, {shape(64, 256), shape(256)},
            {shape(64, 256), shape(64, 1)}, {shape(100000), shape(1)}, {shape(100003, 3), shape(3)}, {shape(3, 70001), shape(1, 70001)},
            {shape(2, 3, 17, 33), shape(3, 1, 33)}, {shape(0, 3), shape(1, 3)}, {shape(2, 1, 3, 1, 2, 1, 3, 1, 2), shape(3, 1, 1, 1, 3, 1, 1)}};

    @Test void sumToAndBroadcastToMatchTheCpu() {
        Random r = new Random(5);
        for (Shape[] c : SUMS) {
            Shape big = c[0], small = c[1];
            float[] x = uniform(r, big.numel(), -2, 2), y = uniform(r, small.numel(), -2, 2);
            assertClose("sumTo " + big + " → " + small, cuda.sumTo(cuda.fromHost(big, x), small), CPU.sumTo(CPU.fromHost(big, x), small));
            assertExact("broadcastTo " + small + " → " + big, cuda.broadcastTo(cuda.fromHost(small, y), big), CPU.broadcastTo(CPU.fromHost(small, y), big));
        }
    }

    /** 2^20 copies of 0.1f: a float accumulator drifts by about 1%; double sums (exact here in any order) do not. */
    @Test void largeSumsStayAccurate() {
        int n = 1 << 20;
        float[] x = new float[n];
        Arrays.fill(x, 0.1f);
        assertEquals((float) (n * (double) 0.1f), (float) cuda.sumTo(cuda.fromHost(shape(n), x), shape(1)).item(), "one block");
        float[] cols = cuda.sumTo(cuda.fromHost(shape(n / 8, 8), x), shape(1, 8)).toFloats();
        for (float c : cols) assertEquals((float) (n / 8 * (double) 0.1f), c, "partial sums");
    }

    /** No atomics: the same sums twice give the same bits, on both paths. */
    @Test void sumsAreDeterministic() {
        Random r = new Random(6);
        for (Shape[] c : new Shape[][] {{shape(64, 4, 32, 32), shape(1, 4, 1, 1)}, {shape(100003, 3), shape(3)}, {shape(300000), shape()}}) {
            Tensor x = cuda.fromHost(c[0], uniform(r, c[0].numel(), -1e3, 1e3));
            assertArrayEquals(cuda.sumTo(x, c[1]).toFloats(), cuda.sumTo(x, c[1]).toFloats(), "sumTo " + c[0] + " → " + c[1]);
        }
        Tensor x = cuda.fromHost(shape(64, 10000), uniform(r, 640000, -50, 50));
        assertArrayEquals(cuda.logSumExp(x, 1).toFloats(), cuda.logSumExp(x, 1).toFloats(), "logSumExp");
    }

    @Test void logSumExpMatchesTheCpu() {
        Object[][] cases = {   // shape, axis: short and long class axes, inner sizes 1, 3, 600, 1024, 10000
                {shape(2, 7, 3), 1}, {shape(4, 20), -1}, {shape(2, 5, 600), 1}, {shape(1, 1000), 1}, {shape(17), 0},
                {shape(3, 33, 1, 17), 0}, {shape(2, 1, 5), 1}, {shape(16, 256, 32, 32), 1}, {shape(64, 256), 1},
                {shape(8, 10000), 1}, {shape(64, 10000), 0}, {shape(5000, 4), 1}, {shape(2, 3, 40000), -1}, {shape(64, 4, 32, 32), 1}};
        Random r = new Random(7);
        for (Object[] c : cases) {
            Shape sh = (Shape) c[0];
            int axis = (int) c[1];
            float[] x = uniform(r, sh.numel(), -50, 50);
            assertClose("logSumExp " + sh + " axis " + axis, cuda.logSumExp(cuda.fromHost(sh, x), axis), CPU.logSumExp(CPU.fromHost(sh, x), axis));
        }
    }

    /** Rows of all −∞, of −∞ but two 2s, with one +∞: on a block per row, a block per strided position, and a thread per position. */
    @Test void logSumExpWithInfinities() {
        float ninf = Float.NEGATIVE_INFINITY, pinf = Float.POSITIVE_INFINITY;
        for (int[] layout : new int[][] {{3, 20, 1}, {1, 20, 3}, {1, 20, 4096}}) {   // outer, classes, inner
            int classes = layout[1], inner = layout[2];
            float[] x = uniform(new Random(8), (long) classes * (inner == 1 ? 3 : inner), -5, 5);
            for (int c = 0; c < classes; c++) {
                float second = c == 7 || c == 11 ? 2 : ninf, third = c == 5 ? pinf : second;
                if (inner == 1) {
                    x[c] = ninf;
                    x[classes + c] = second;
                    x[2 * classes + c] = third;
                } else {
                    x[c * inner] = ninf;
                    x[c * inner + 1] = second;
                    x[c * inner + 2] = third;
                }
            }
            Shape sh = inner == 1 ? shape(3, classes) : shape(classes, inner);
            int axis = inner == 1 ? 1 : 0;
            float[] out = cuda.logSumExp(cuda.fromHost(sh, x), axis).toFloats();
            String what = "logSumExp " + sh + " axis " + axis;
            assertEquals(ninf, out[0], what + ": all −∞");
            assertEquals((float) (2 + Math.log(2)), out[1], 1e-6, what + ": −∞ entries ignored");
            assertEquals(pinf, out[2], what + ": +∞ wins");
            assertClose(what, cuda.logSumExp(cuda.fromHost(sh, x), axis), CPU.logSumExp(CPU.fromHost(sh, x), axis));
        }
    }

    @Test void badArgumentsFailAsOnTheCpu() {
        Tensor x = cuda.full(shape(2, 3), 1), cx = CPU.full(shape(2, 3), 1);
        assertEquals(assertThrows(IllegalArgumentException.class, () -> CPU.sumTo(cx, shape(2))).getMessage(),
                assertThrows(IllegalArgumentException.class, () -> cuda.sumTo(x, shape(2))).getMessage());
        assertEquals(assertThrows(IllegalArgumentException.class, () -> CPU.broadcastTo(cx, shape(3, 3))).getMessage(),
                assertThrows(IllegalArgumentException.class, () -> cuda.broadcastTo(x, shape(3, 3))).getMessage());
        assertEquals(assertThrows(IllegalArgumentException.class, () -> CPU.logSumExp(cx, 2)).getMessage(),
                assertThrows(IllegalArgumentException.class, () -> cuda.logSumExp(x, 2)).getMessage());
    }
}
