package frl.backend.cuda;

import frl.backend.Backend;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static frl.backend.cuda.CudaVsCpu.CPU;
import static frl.backend.cuda.CudaVsCpu.assertClose;
import static frl.backend.cuda.CudaVsCpu.assertSameFloats;
import static frl.backend.cuda.CudaVsCpu.floats;
import static frl.backend.cuda.CudaVsCpu.shape;
import static frl.backend.cuda.CudaVsCpu.uniform;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Training-mode batch norm (norm.cu) against the CPU backend. Both sum in double, so beyond the contract
 * (NMSE ≤ 1e-7) the results must agree to NMSE ≤ 1e-12: a float accumulation over 65,536 values with an
 * offset of 100 would miss that by orders of magnitude.
 */
@Tag("gpu")
class CudaNormTest {
    private static final double EPS = 1e-5, TOL = 1e-7, DOUBLE_TOL = 1e-12;

    /**
     * The VAE's batch-norm sizes at batch 64 (up to N·H·W = 65,536 per channel) and awkward ones: one channel,
     * one element per channel, channels above the 1024-block target, sizes not multiples of 32 or of the
     * per-block range.
     */
    private static final int[][] SHAPES = {
            {64, 32, 32, 32}, {64, 64, 16, 16}, {64, 128, 8, 8}, {64, 256, 4, 4}, {64, 4, 32, 32},
            {1, 3, 17, 33}, {2, 1, 5, 3}, {17, 3}, {5, 1}, {3, 33, 1, 17}, {1, 1, 1}, {1, 2}, {64, 3, 1000},
            {7, 2000, 3}, {33, 17, 65}};

    @Test void forwardAndBackwardMatchTheCpu() {
        Backend cuda = GpuTests.cudaOrSkip();
        Random r = new Random(1);
        for (int[] dims : SHAPES) {
            Shape s = Shape.of(dims);
            int c = s.dim(1);
            String what = s + " grid " + Arrays.toString(CudaNorm.grid(s));
            // an offset far larger than the spread: the variance must keep its digits (two passes, double sums)
            float[] x = uniform(r, s.numel(), 97, 103), gamma = uniform(r, c, 0.5, 1.5), beta = uniform(r, c, -1, 1);
            float[] dy = uniform(r, s.numel(), -1, 1);
            try (Scope sc = Scope.open()) {
                Tensor xc = cuda.fromHost(s, x), gc = cuda.fromHost(shape(c), gamma), bc = cuda.fromHost(shape(c), beta);
                Tensor xh = CPU.fromHost(s, x), gh = CPU.fromHost(shape(c), gamma), bh = CPU.fromHost(shape(c), beta);
                Backend.BatchNormResult got = cuda.batchNorm(xc, gc, bc, EPS), want = CPU.batchNorm(xh, gh, bh, EPS);
                assertEquals(shape(c), got.mean().shape(), what);
                assertEquals(shape(c), got.var().shape(), what);
                double e = Math.max(assertClose(what + " y", got.y(), want.y(), TOL),
                        Math.max(assertClose(what + " mean", got.mean(), want.mean(), TOL), assertClose(what + " var", got.var(), want.var(), TOL)));
                assertTrue(e <= DOUBLE_TOL, what + ": forward NMSE " + e + " > " + DOUBLE_TOL + " (sums not in double?)");

                // backward from the same statistics on both sides (the CPU's, uploaded)
                float[] mean = floats(want.mean()), var = floats(want.var());
                Backend.BatchNormGrads gg = cuda.batchNormBackward(xc, gc, cuda.fromHost(shape(c), mean), cuda.fromHost(shape(c), var), EPS, cuda.fromHost(s, dy));
                Backend.BatchNormGrads gw = CPU.batchNormBackward(xh, gh, CPU.fromHost(shape(c), mean), CPU.fromHost(shape(c), var), EPS, CPU.fromHost(s, dy));
                e = Math.max(assertClose(what + " dx", gg.dx(), gw.dx(), TOL),
                        Math.max(assertClose(what + " dgamma", gg.dgamma(), gw.dgamma(), TOL), assertClose(what + " dbeta", gg.dbeta(), gw.dbeta(), TOL)));
                assertTrue(e <= DOUBLE_TOL, what + ": backward NMSE " + e + " > " + DOUBLE_TOL + " (sums not in double?)");
            }
        }
    }

    /** No atomics: the same inputs give the same bits, run after run. */
    @Test void deterministic() {
        Backend cuda = GpuTests.cudaOrSkip();
        Random r = new Random(2);
        Shape s = shape(64, 32, 32, 32);
        try (Scope sc = Scope.open()) {
            Tensor x = cuda.fromHost(s, uniform(r, s.numel(), -2, 5)), gamma = cuda.fromHost(shape(32), uniform(r, 32, 0.5, 1.5));
            Tensor beta = cuda.fromHost(shape(32), uniform(r, 32, -1, 1)), dy = cuda.fromHost(s, uniform(r, s.numel(), -1, 1));
            Backend.BatchNormResult a = cuda.batchNorm(x, gamma, beta, EPS), b = cuda.batchNorm(x, gamma, beta, EPS);
            assertSameFloats("y", floats(b.y()), floats(a.y()));
            assertSameFloats("mean", floats(b.mean()), floats(a.mean()));
            assertSameFloats("var", floats(b.var()), floats(a.var()));
            Backend.BatchNormGrads ga = cuda.batchNormBackward(x, gamma, a.mean(), a.var(), EPS, dy);
            Backend.BatchNormGrads gb = cuda.batchNormBackward(x, gamma, a.mean(), a.var(), EPS, dy);
            assertSameFloats("dx", floats(gb.dx()), floats(ga.dx()));
            assertSameFloats("dgamma", floats(gb.dgamma()), floats(ga.dgamma()));
            assertSameFloats("dbeta", floats(gb.dbeta()), floats(ga.dbeta()));
        }
    }

    /** -Dfrl.cuda.bnLoads=batched adds the same terms in the same order: the plain kernels' bits, on every shape. */
    @Test void batchedLoadsGiveThePlainBits() {
        Backend cuda = GpuTests.cudaOrSkip();
        // a kernel not yet run on a GPU could poison the context of the verified suite: only where it is switched on
        assumeTrue(CudaNorm.batchedLoads(), "runs with -Dfrl.cuda.bnLoads=batched on (bench/gpu/check.sh's NEW_PATHS)");
        Random r = new Random(4);
        for (int[] dims : SHAPES) {
            Shape s = Shape.of(dims);
            int c = s.dim(1);
            float[] x = uniform(r, s.numel(), -2, 5), gamma = uniform(r, c, 0.5, 1.5), beta = uniform(r, c, -1, 1), dy = uniform(r, s.numel(), -1, 1);
            float[][] plain = normBits(cuda, s, x, gamma, beta, dy, "plain"), batched = normBits(cuda, s, x, gamma, beta, dy, "batched");
            String[] names = {"y", "mean", "var", "dx", "dgamma", "dbeta"};
            for (int i = 0; i < names.length; i++) assertSameFloats(s + " " + names[i], batched[i], plain[i]);
        }
    }

    /**
     * Batch norm with its ReLU in one op (norm.cu's relu flag and act mask) gives the bits of the two ops on the GPU, y
     * and the three gradients, with either load pattern. Runs always: the fused op is only reached through it.
     */
    @Test void fusedReluGivesTheBitsOfTheTwoOps() {
        Backend cuda = GpuTests.cudaOrSkip();
        Random r = new Random(5);
        for (int[] dims : SHAPES) {
            Shape s = Shape.of(dims);
            int c = s.dim(1);
            float[] x = uniform(r, s.numel(), -2, 5), gamma = uniform(r, c, -1.5, 1.5), beta = uniform(r, c, -1, 1), dy = uniform(r, s.numel(), -1, 1);
            for (String loads : new String[] {"plain", "batched"}) {
                if (loads.equals("batched") && !CudaNorm.batchedLoads()) continue; // not yet run on a GPU: only where switched on
                Switches.with("frl.cuda.bnLoads", loads, () -> {
                    try (Scope sc = Scope.open()) {
                        Tensor xc = cuda.fromHost(s, x), gc = cuda.fromHost(shape(c), gamma), bc = cuda.fromHost(shape(c), beta), dyc = cuda.fromHost(s, dy);
                        Backend.BatchNormResult two = cuda.batchNorm(xc, gc, bc, EPS), one = cuda.batchNormRelu(xc, gc, bc, EPS);
                        Tensor y = cuda.unary(frl.backend.UnaryOp.RELU, two.y(), 0, 0);
                        assertSameFloats(s + " " + loads + " y", floats(one.y()), floats(y));
                        Backend.BatchNormGrads apart = cuda.batchNormBackward(xc, gc, two.mean(), two.var(), EPS,
                                cuda.unaryBackward(frl.backend.UnaryOp.RELU, two.y(), y, dyc, 0, 0));
                        Backend.BatchNormGrads fused = cuda.batchNormReluBackward(xc, gc, one.mean(), one.var(), EPS, one.y(), dyc);
                        assertSameFloats(s + " " + loads + " dx", floats(fused.dx()), floats(apart.dx()));
                        assertSameFloats(s + " " + loads + " dgamma", floats(fused.dgamma()), floats(apart.dgamma()));
                        assertSameFloats(s + " " + loads + " dbeta", floats(fused.dbeta()), floats(apart.dbeta()));
                    }
                });
            }
        }
    }

    /** y, mean, var, dx, dgamma, dbeta with -Dfrl.cuda.bnLoads set to loads. */
    private static float[][] normBits(Backend cuda, Shape s, float[] x, float[] gamma, float[] beta, float[] dy, String loads) {
        return Switches.with("frl.cuda.bnLoads", loads, () -> {
            try (Scope sc = Scope.open()) {
                int c = s.dim(1);
                Tensor xc = cuda.fromHost(s, x), gc = cuda.fromHost(shape(c), gamma);
                Backend.BatchNormResult f = cuda.batchNorm(xc, gc, cuda.fromHost(shape(c), beta), EPS);
                Backend.BatchNormGrads g = cuda.batchNormBackward(xc, gc, f.mean(), f.var(), EPS, cuda.fromHost(s, dy));
                return new float[][] {floats(f.y()), floats(f.mean()), floats(f.var()), floats(g.dx()), floats(g.dgamma()), floats(g.dbeta())};
            }
        });
    }

    /** A constant channel has variance 0: y = beta exactly, as on the CPU. */
    @Test void constantChannel() {
        Backend cuda = GpuTests.cudaOrSkip();
        Shape s = shape(8, 2, 9, 9);
        float[] x = new float[Math.toIntExact(s.numel())];
        Arrays.fill(x, 3.25f);
        try (Scope sc = Scope.open()) {
            Backend.BatchNormResult got = cuda.batchNorm(cuda.fromHost(s, x), cuda.fromHost(shape(2), new float[] {2, 3}), cuda.fromHost(shape(2), new float[] {0.5f, -1}), EPS);
            Backend.BatchNormResult want = CPU.batchNorm(CPU.fromHost(s, x), CPU.fromHost(shape(2), new float[] {2, 3}), CPU.fromHost(shape(2), new float[] {0.5f, -1}), EPS);
            assertSameFloats("y", floats(got.y()), floats(want.y()));
            assertSameFloats("var", floats(got.var()), floats(want.var()));
        }
    }

    @Test void sameErrorsAsTheCpu() {
        Backend cuda = GpuTests.cudaOrSkip();
        try (Scope sc = Scope.open()) {
            Tensor x = cuda.fromHost(shape(2, 3, 4), new float[24]), g3 = cuda.fromHost(shape(3), new float[3]), g2 = cuda.fromHost(shape(2), new float[2]);
            assertTrue(assertThrows(IllegalArgumentException.class, () -> cuda.batchNorm(x, g2, g3, EPS)).getMessage().startsWith("batchNorm: 3 channels"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> cuda.batchNorm(x, g3, g3, -1)).getMessage().contains("eps must be finite"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> cuda.batchNormBackward(x, g3, g2, g3, EPS, x)).getMessage()
                    .contains("mean has shape [2]"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> cuda.batchNorm(cuda.empty(shape(0, 3, 4)), g3, g3, EPS))
                    .getMessage().contains("no elements per channel"));
        }
    }

    /**
     * Backend#batchNormRunningStats in one launch (-Dfrl.cuda.bnstats=one-launch): bit for bit the CUDA axpys it
     * replaces, and within NMSE 1e-7 of the CPU's (which rounds through double); one channel, the VAE's widths, a
     * width not a multiple of the block.
     */
    @Test void runningStatsInOneLaunchMatchTheAxpys() {
        Backend cuda = GpuTests.cudaOrSkip();
        Random r = new Random(11);
        String[] names = {"running mean", "running var", "count"};
        for (int c : new int[] {1, 64, 256, 1000}) {
            float[] rm = uniform(r, c, -1, 1), rv = uniform(r, c, 0.5, 2), m = uniform(r, c, -3, 3), v = uniform(r, c, 0, 4);
            float[][] cpu = runningStats(CPU, rm, rv, m, v);
            float[][] perOp = Switches.with("frl.cuda.bnstats", "per-op", () -> runningStats(cuda, rm, rv, m, v));
            float[][] oneLaunch = Switches.with("frl.cuda.bnstats", "one-launch", () -> runningStats(cuda, rm, rv, m, v));
            for (int i = 0; i < 3; i++) {
                assertSameFloats("C=" + c + " " + names[i] + ": one launch vs the axpys", oneLaunch[i], perOp[i]);
                assertClose("C=" + c + " " + names[i] + ": one launch vs the CPU", oneLaunch[i], cpu[i], TOL);
            }
            assertEquals(43f, oneLaunch[2][0], "counted twice");
        }
    }

    /** Two updates (momentum 0.1, n = 64·16·16) from the given state: the running mean, var and count after them. */
    private static float[][] runningStats(Backend be, float[] rm, float[] rv, float[] m, float[] v) {
        Shape s = shape(rm.length);
        try (Scope sc = Scope.open()) {
            Tensor runMean = be.fromHost(s, rm), runVar = be.fromHost(s, rv), count = be.fromHost(shape(), new float[] {41});
            for (int i = 0; i < 2; i++)
                be.batchNormRunningStats(runMean, runVar, count, be.fromHost(s, m), be.fromHost(s, v), 0.1, 16384 / 16383.0);
            return new float[][] {floats(runMean), floats(runVar), floats(count)};
        }
    }
}
