package frl.backend.cpu;

import frl.backend.Backend;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** Batch norm against a float64 implementation: forward by NMSE, backward by central finite differences. */
class CpuNormTest {
    private static final double EPS = 1e-5;
    private final Backend be = CpuBackend.instance();
    private Scope scope;

    @BeforeEach void open() { scope = Scope.open(); }

    @AfterEach void close() { scope.close(); }

    /** Float32-representable values, so the backend and the reference see the same input. */
    private static double[] random(int n, double offset, double spread, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = (float) (offset + r.nextDouble(-spread, spread));
        return v;
    }

    /** The float64 reference: y, mean and biased variance over every axis but 1 of x of shape s. */
    private static double[][] reference(Shape s, double[] x, double[] gamma, double[] beta) {
        int n = s.dim(0), c = s.dim(1), inner = (int) s.size(2, s.rank()), m = n * inner;
        double[] y = new double[x.length], mean = new double[c], var = new double[c];
        for (int ch = 0; ch < c; ch++) {
            for (int b = 0; b < n; b++) for (int k = 0; k < inner; k++) mean[ch] += x[(b * c + ch) * inner + k] / m;
            for (int b = 0; b < n; b++) for (int k = 0; k < inner; k++) var[ch] += Math.pow(x[(b * c + ch) * inner + k] - mean[ch], 2) / m;
            for (int b = 0; b < n; b++)
                for (int k = 0; k < inner; k++) {
                    int i = (b * c + ch) * inner + k;
                    y[i] = (x[i] - mean[ch]) / Math.sqrt(var[ch] + EPS) * gamma[ch] + beta[ch];
                }
        }
        return new double[][] {y, mean, var};
    }

    /** A tensor filled with one value (from the host, so the test needs no other op). */
    private Tensor constant(Shape s, double value) {
        double[] v = new double[(int) s.numel()];
        java.util.Arrays.fill(v, value);
        return be.fromHost(s, v);
    }

    private static double nmse(double[] expected, double[] actual) {
        double err = 0, ref = 0;
        for (int i = 0; i < expected.length; i++) { err += Math.pow(actual[i] - expected[i], 2); ref += expected[i] * expected[i]; }
        return err / Math.max(ref, 1e-300);
    }

    private static final int[][] SHAPES = {{1, 3, 17, 33}, {2, 1, 5, 3}, {17, 3}, {5, 1}, {3, 33, 1, 17}, {8, 16, 32, 32}};

    @Test void forwardMatchesFloat64() {
        for (int[] dims : SHAPES) {
            Shape s = Shape.of(dims);
            int c = s.dim(1);
            // an offset far larger than the spread checks that the variance keeps its digits
            double[] x = random((int) s.numel(), 100, 3, 1), gamma = random(c, 1, 0.5, 2), beta = random(c, 0, 1, 3);
            Backend.BatchNormResult r = be.batchNorm(be.fromHost(s, x), be.fromHost(Shape.of(c), gamma), be.fromHost(Shape.of(c), beta), EPS);
            double[][] ref = reference(s, x, gamma, beta);
            assertEquals(s, r.y().shape());
            assertEquals(Shape.of(c), r.mean().shape());
            assertEquals(Shape.of(c), r.var().shape());
            assertTrue(nmse(ref[0], r.y().toDoubles()) <= 1e-7, () -> "y of " + s + ": NMSE " + nmse(ref[0], r.y().toDoubles()));
            assertTrue(nmse(ref[1], r.mean().toDoubles()) <= 1e-7, "mean of " + s);
            assertTrue(nmse(ref[2], r.var().toDoubles()) <= 1e-7, () -> "var of " + s + ": NMSE " + nmse(ref[2], r.var().toDoubles()));
        }
    }

    /** L = Σ y·w for fixed weights w, so dL/dy = w. */
    private static double loss(Shape s, double[] x, double[] gamma, double[] beta, double[] w) {
        double[] y = reference(s, x, gamma, beta)[0];
        double l = 0;
        for (int i = 0; i < y.length; i++) l += y[i] * w[i];
        return l;
    }

    /** Central differences of the loss in each element of {@code p} (eps 1e-6, in double). */
    private static double[] numericGradient(double[] p, java.util.function.DoubleSupplier loss) {
        double h = 1e-6;
        double[] g = new double[p.length];
        for (int i = 0; i < p.length; i++) {
            double keep = p[i];
            p[i] = keep + h;
            double up = loss.getAsDouble();
            p[i] = keep - h;
            double down = loss.getAsDouble();
            p[i] = keep;
            g[i] = (up - down) / (2 * h);
        }
        return g;
    }

    private static void assertGradClose(String what, double[] numeric, Tensor analytic) {
        double[] a = analytic.toDoubles();
        assertEquals(numeric.length, a.length, what + " size");
        for (int i = 0; i < a.length; i++) {
            double diff = Math.abs(a[i] - numeric[i]);
            if (diff >= 1e-7 && diff / (Math.abs(a[i]) + Math.abs(numeric[i])) > 1e-5)
                fail(what + "[" + i + "]: analytic " + a[i] + ", numeric " + numeric[i]);
        }
    }

    @Test void backwardMatchesFiniteDifferences() {
        for (int[] dims : new int[][] {{1, 3, 2, 5}, {2, 1, 3, 1}, {4, 3}, {3, 2, 1, 4}}) {
            Shape s = Shape.of(dims);
            int c = s.dim(1);
            double[] x = random((int) s.numel(), 0.5, 2, 4), gamma = random(c, 1, 0.5, 5), beta = random(c, 0, 1, 6);
            double[] w = random((int) s.numel(), 0, 1, 7);
            Shape cs = Shape.of(c);
            Tensor xt = be.fromHost(s, x), gt = be.fromHost(cs, gamma);
            Backend.BatchNormResult r = be.batchNorm(xt, gt, be.fromHost(cs, beta), EPS);
            Backend.BatchNormGrads g = be.batchNormBackward(xt, gt, r.mean(), r.var(), EPS, be.fromHost(s, w));
            assertEquals(s, g.dx().shape());
            assertEquals(cs, g.dgamma().shape());
            assertEquals(cs, g.dbeta().shape());
            assertGradClose("dx of " + s, numericGradient(x, () -> loss(s, x, gamma, beta, w)), g.dx());
            assertGradClose("dgamma of " + s, numericGradient(gamma, () -> loss(s, x, gamma, beta, w)), g.dgamma());
            assertGradClose("dbeta of " + s, numericGradient(beta, () -> loss(s, x, gamma, beta, w)), g.dbeta());
        }
    }

    @Test void backwardOnALargeTensorMatchesFloat64Formula() {
        Shape s = Shape.of(8, 16, 32, 32); // enough work per channel chunk to run on several threads
        int c = 16, m = 8 * 32 * 32, inner = 32 * 32;
        double[] x = random((int) s.numel(), -2, 3, 8), gamma = random(c, 1, 0.5, 9), dy = random((int) s.numel(), 0, 1, 10);
        Tensor xt = be.fromHost(s, x), gt = be.fromHost(Shape.of(c), gamma);
        Backend.BatchNormResult r = be.batchNorm(xt, gt, constant(Shape.of(c), 0), EPS);
        Backend.BatchNormGrads g = be.batchNormBackward(xt, gt, r.mean(), r.var(), EPS, be.fromHost(s, dy));
        double[][] ref = reference(s, x, gamma, new double[c]);
        double[] dx = new double[x.length], dgamma = new double[c], dbeta = new double[c];
        for (int ch = 0; ch < c; ch++) {
            double invstd = 1 / Math.sqrt(ref[2][ch] + EPS);
            for (int b = 0; b < 8; b++)
                for (int k = 0; k < inner; k++) {
                    int i = (b * c + ch) * inner + k;
                    dbeta[ch] += dy[i];
                    dgamma[ch] += dy[i] * (x[i] - ref[1][ch]) * invstd;
                }
            for (int b = 0; b < 8; b++)
                for (int k = 0; k < inner; k++) {
                    int i = (b * c + ch) * inner + k;
                    double xhat = (x[i] - ref[1][ch]) * invstd;
                    dx[i] = gamma[ch] * invstd / m * (m * dy[i] - dbeta[ch] - xhat * dgamma[ch]);
                }
        }
        assertTrue(nmse(dx, g.dx().toDoubles()) <= 1e-7, "dx NMSE " + nmse(dx, g.dx().toDoubles()));
        assertTrue(nmse(dgamma, g.dgamma().toDoubles()) <= 1e-7, "dgamma NMSE " + nmse(dgamma, g.dgamma().toDoubles()));
        assertTrue(nmse(dbeta, g.dbeta().toDoubles()) <= 1e-7, "dbeta NMSE " + nmse(dbeta, g.dbeta().toDoubles()));
    }

    private static void assertRejects(String messagePart, Runnable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        assertTrue(e.getMessage().contains(messagePart), () -> "message \"" + e.getMessage() + "\" should mention " + messagePart);
    }

    @Test void badArgumentsAreRejectedClearly() {
        Tensor x = constant(Shape.of(2, 3, 4, 5), 1), c3 = constant(Shape.of(3), 1), c2 = constant(Shape.of(2), 1);
        assertRejects("batchNorm: 3 channels", () -> be.batchNorm(x, c2, c3, EPS));
        assertRejects("batchNorm: need [N,C,...]", () -> be.batchNorm(constant(Shape.of(3), 1), c3, c3, EPS));
        assertRejects("eps", () -> be.batchNorm(x, c3, c3, -1));
        assertRejects("eps", () -> be.batchNorm(x, c3, c3, Double.NaN));
        assertRejects("no elements per channel", () -> be.batchNorm(be.empty(Shape.of(0, 3)), c3, c3, EPS));
        assertRejects("batchNormBackward (x vs dy)", () -> be.batchNormBackward(x, c3, c3, c3, EPS, constant(Shape.of(2, 3, 5, 4), 1)));
        assertRejects("var has shape [2]", () -> be.batchNormBackward(x, c3, c3, c2, EPS, x));
        assertRejects("gamma has shape [2]", () -> be.batchNormBackward(x, c2, c3, c3, EPS, x));
    }

    /** batchNormRunningStats: r ← r − 0.1·r + 0.1·batch (the variance's batch term scaled), count + 1; shapes checked first. */
    @Test void runningStatsBlendAndCount() {
        Tensor rm = be.fromHost(Shape.of(2), new double[] {1, -2}), rv = be.fromHost(Shape.of(2), new double[] {4, 0.25});
        Tensor count = be.fromHost(Shape.of(), new double[] {7});
        Tensor m = be.fromHost(Shape.of(2), new double[] {3, 0}), v = be.fromHost(Shape.of(2), new double[] {1, 2});
        be.batchNormRunningStats(rm, rv, count, m, v, 0.1, 2.0);
        assertArrayEquals(new double[] {1.2, -1.8}, rm.toDoubles(), 1e-6);
        assertArrayEquals(new double[] {3.8, 0.625}, rv.toDoubles(), 1e-6);
        assertEquals(8.0, count.item());
        var e = assertThrows(IllegalArgumentException.class,
                () -> be.batchNormRunningStats(rm, rv, count, be.fromHost(Shape.of(3), new double[3]), v, 0.1, 1));
        assertEquals("batchNormRunningStats: running mean is [2] but batch mean is [3]", e.getMessage());
        assertArrayEquals(new double[] {1.2, -1.8}, rm.toDoubles(), 1e-6, "a bad call changes nothing");
        e = assertThrows(IllegalArgumentException.class, () -> be.batchNormRunningStats(rm, rv, m, m, v, 0.1, 1));
        assertEquals("batchNormRunningStats: the count must be one value, got [2]", e.getMessage());
    }
}
