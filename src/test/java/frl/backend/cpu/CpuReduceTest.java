package frl.backend.cpu;

import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.Random;

import static frl.backend.cpu.CpuTesting.CPU;
import static frl.backend.cpu.CpuTesting.REF;
import static frl.backend.cpu.CpuTesting.assertClose;
import static frl.backend.cpu.CpuTesting.cpu;
import static frl.backend.cpu.CpuTesting.ref;
import static frl.backend.cpu.CpuTesting.shape;
import static frl.backend.cpu.CpuTesting.uniform;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** sumTo, broadcastTo and logSumExp against the float64 reference, under each kernel implementation. */
class CpuReduceTest {
    @ParameterizedTest(name = "{0}")
    @MethodSource("frl.backend.cpu.CpuTesting#kernels")
    void sumToAndBroadcastToMatchFloat64(Kernels k) {
        int[][][] cases = {   // {big, small}
                {{2, 3, 4, 5}, {3, 1, 5}}, {{2, 3, 4, 5}, {1, 3, 1, 1}}, {{2, 3, 4, 5}, {1}}, {{2, 3, 4, 5}, {5}},
                {{2, 3, 4, 5}, {2, 3, 4, 5}}, {{2, 3, 4, 5}, {2, 1, 4, 1}}, {{33, 17}, {33, 1}}, {{33, 17}, {}},
                {{1, 3, 17, 33}, {3, 1, 1}}, {{3, 4, 5}, {4, 1}}, {{17}, {1}}};
        Random r = new Random(5);
        try (var on = CpuTesting.use(k); Scope s = Scope.open()) {
            for (int[][] c : cases) {
                Shape big = shape(c[0]), small = shape(c[1]);
                float[] x = uniform(r, big.numel(), -2, 2), y = uniform(r, small.numel(), -2, 2);
                assertClose("sumTo " + big + " → " + small + " on " + k, CPU.sumTo(cpu(big, x), small), REF.sumTo(ref(big, x), small));
                assertClose("broadcastTo " + small + " → " + big + " on " + k, CPU.broadcastTo(cpu(small, y), big), REF.broadcastTo(ref(small, y), big));
            }
        }
    }

    /** Big enough to be split over threads, with chunk boundaries inside a channel's run; checked against direct sums. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("frl.backend.cpu.CpuTesting#kernels")
    void channelSumsAndBroadcastsSplitMidRow(Kernels k) {
        Shape big = shape(3, 13, 41, 43), channel = shape(1, 13, 1, 1);
        int plane = 41 * 43;
        Random r = new Random(7);
        float[] x = uniform(r, big.numel(), -2, 2), c = uniform(r, 13, -2, 2);
        double[] want = new double[13];
        for (int i = 0; i < x.length; i++) want[i / plane % 13] += x[i];
        try (var on = CpuTesting.use(k); Scope s = Scope.open()) {
            float[] sums = CPU.sumTo(cpu(big, x), channel).toFloats(), spread = CPU.broadcastTo(cpu(channel, c), big).toFloats();
            for (int ch = 0; ch < 13; ch++) assertEquals((float) want[ch], sums[ch], "channel " + ch);
            for (int i = 0; i < x.length; i++) assertEquals(c[i / plane % 13], spread[i], "broadcast at " + i);
        }
    }

    /** A million copies of 0.1f: a float accumulator drifts by about 1%; the result must be the float nearest the exact sum. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("frl.backend.cpu.CpuTesting#kernels")
    void largeSumsStayAccurate(Kernels k) {
        int n = 1 << 20;
        float[] x = new float[n];
        Arrays.fill(x, 0.1f);
        try (var on = CpuTesting.use(k); Scope s = Scope.open()) {
            float all = (float) CPU.sumTo(cpu(shape(n), x), shape(1)).item();
            assertEquals((float) (n * (double) 0.1f), all);
            float[] cols = CPU.sumTo(cpu(shape(n / 8, 8), x), shape(1, 8)).toFloats();
            for (float c : cols) assertEquals((float) (n / 8 * (double) 0.1f), c);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("frl.backend.cpu.CpuTesting#kernels")
    void logSumExpMatchesFloat64(Kernels k) {
        Object[][] cases = {   // shape, axis: inner sizes 1, 3, 600 (three blocks, the last partial), one long row
                {shape(2, 7, 3), 1}, {shape(4, 20), -1}, {shape(2, 5, 600), 1}, {shape(1, 1000), 1}, {shape(17), 0},
                {shape(3, 33, 1, 17), 0}, {shape(2, 1, 5), 1}};
        Random r = new Random(6);
        try (var on = CpuTesting.use(k); Scope s = Scope.open()) {
            for (Object[] c : cases) {
                Shape sh = (Shape) c[0];
                int axis = (int) c[1];
                float[] x = uniform(r, sh.numel(), -50, 50);
                assertClose("logSumExp " + sh + " axis " + axis + " on " + k, CPU.logSumExp(cpu(sh, x), axis), REF.logSumExp(ref(sh, x), axis));
            }
        }
    }

    /** −∞ entries drop out; all −∞ gives −∞; a +∞ gives +∞; on both the row (inner 1) and the lanes path. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("frl.backend.cpu.CpuTesting#kernels")
    void logSumExpWithInfinities(Kernels k) {
        float ninf = Float.NEGATIVE_INFINITY, pinf = Float.POSITIVE_INFINITY;
        float[] row = new float[20];
        try (var on = CpuTesting.use(k); Scope s = Scope.open()) {
            for (int axis : new int[] {1, 0}) {   // [3, 20] over axis 1 (inner 1) and [20, 3] over axis 0 (inner 3)
                float[][] rows = new float[3][];
                Arrays.fill(row, ninf);
                rows[0] = row.clone();
                row[7] = 2;
                row[11] = 2;
                rows[1] = row.clone();            // log(e² + e²) = 2 + log 2
                row[5] = pinf;
                rows[2] = row.clone();
                float[] x = new float[60];
                for (int i = 0; i < 3; i++) for (int j = 0; j < 20; j++) x[axis == 1 ? i * 20 + j : j * 3 + i] = rows[i][j];
                float[] out = CPU.logSumExp(cpu(axis == 1 ? shape(3, 20) : shape(20, 3), x), axis).toFloats();
                assertEquals(ninf, out[0], "all −∞");
                assertEquals((float) (2 + Math.log(2)), out[1], 1e-6, "−∞ entries ignored");
                assertEquals(pinf, out[2], "+∞ wins");
            }
        }
    }

    @Test
    void shapesThatDoNotBroadcastAreRejected() {
        try (Scope s = Scope.open()) {
            Tensor x = CPU.full(shape(2, 3), 1);
            var e = assertThrows(IllegalArgumentException.class, () -> CPU.sumTo(x, shape(2)));
            assertTrue(e.getMessage().startsWith("sumTo: shape [2]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> CPU.broadcastTo(x, shape(3, 3)));
            assertTrue(e.getMessage().startsWith("broadcastTo: shape [2, 3]"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> CPU.logSumExp(x, 2));
        }
    }
}
