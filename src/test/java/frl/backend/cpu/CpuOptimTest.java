package frl.backend.cpu;

import frl.backend.Backend;
import frl.backend.Backend.AdamConfig;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class CpuOptimTest {
    private final Backend be = CpuBackend.instance();
    private static final double[] P0 = {0.5, -1.0, 2.0};
    private static final double[][] GRADS = {{0.1, -0.2, 0.3}, {-0.4, 0.05, 0.0}};

    /*
     * Expected values follow torch.optim.Adam / Adamax step by step in float64 (weight decay added to the
     * gradient). Adam, step 1, element 0: g = 0.1 + 0.1·0.5 = 0.15, m = 0.015, v = 2.25e-5,
     * p = 0.5 − 0.01/0.1 · 0.015 / (√2.25e-5/√0.001 + 1e-8) = 0.49000000067.
     */
    @Test void adamTwoStepsWithWeightDecay() {
        double[][] expectP = {{0.4900000006666666, -0.9900000003333334, 1.9900000002},
                {0.49421122910693693, -0.9821870199993421, 1.981021888843838}};
        double[][] expectM = {{0.015, -0.03, 0.05}, {-0.021599999993333327, -0.03190000000333333, 0.064900000002}};
        double[][] expectV = {{2.25e-5, 9.0e-5, 2.5e-4}, {1.4567849995320017e-4, 9.231100000326677e-5, 2.893510000079603e-4}};
        runTwoSteps(false, new AdamConfig(0.01, 0.9, 0.999, 1e-8, 0.1), expectP, expectM, expectV);
    }

    /* Adamax, step 1, element 0: g = 0.15, m = 0.015, u = max(0, 0.15 + 1e-3) = 0.151, p = 0.5 − 0.002/0.1 · 0.015/0.151. */
    @Test void adamaxTwoStepsWithWeightDecay() {
        double[][] expectP = {{0.49801324503311256, -0.9980066445182725, 1.998003992015968},
                {0.49865825008973785, -0.996887145356751, 1.9966373550792065}};
        double[][] expectM = {{0.015, -0.03, 0.05}, {-0.02151986754966887, -0.031980066445182725, 0.06498003992015966}};
        double[][] expectU = {{0.151, 0.301, 0.501}, {0.35119867549668876, 0.300699, 0.500499}};
        runTwoSteps(true, new AdamConfig(0.002, 0.9, 0.999, 1e-3, 0.1), expectP, expectM, expectU);
    }

    private void runTwoSteps(boolean adamax, AdamConfig c, double[][] expectP, double[][] expectM, double[][] expectS) {
        try (Scope _ = Scope.open()) {
            Tensor p = be.fromHost(Shape.of(3), P0), m = be.fromHost(Shape.of(3), new double[3]), v = be.fromHost(Shape.of(3), new double[3]);
            for (int t = 0; t < 2; t++) {
                Tensor g = be.fromHost(Shape.of(3), GRADS[t]);
                if (adamax) be.adamaxStep(p, g, m, v, c, t + 1);
                else be.adamStep(p, g, m, v, c, t + 1);
                assertClose(expectP[t], p, "param after step " + (t + 1));
                assertClose(expectM[t], m, "first moment after step " + (t + 1));
                assertClose(expectS[t], v, "second moment after step " + (t + 1));
            }
        }
    }

    /** Many elements (several parallel chunks) against a float64 loop of the same rule. */
    @Test void largeAdamMatchesFloat64() {
        int n = 100_003;
        Random r = new Random(7);
        double[] p = new double[n], g = new double[n], m = new double[n], v = new double[n];
        for (int i = 0; i < n; i++) { p[i] = (float) r.nextGaussian(); g[i] = (float) r.nextGaussian(); m[i] = (float) (0.1 * r.nextGaussian()); v[i] = (float) r.nextDouble(); }
        AdamConfig c = new AdamConfig(1e-3, 0.9, 0.999, 1e-8, 0.01);
        try (Scope _ = Scope.open()) {
            Tensor pt = be.fromHost(Shape.of(n), p), gt = be.fromHost(Shape.of(n), g), mt = be.fromHost(Shape.of(n), m), vt = be.fromHost(Shape.of(n), v);
            be.adamStep(pt, gt, mt, vt, c, 5);
            double bc1 = 1 - Math.pow(0.9, 5), bc2 = 1 - Math.pow(0.999, 5);
            double[] got = pt.toDoubles(), want = new double[n];
            for (int i = 0; i < n; i++) {
                double gi = g[i] + 0.01 * p[i], mi = 0.9 * m[i] + 0.1 * gi, vi = 0.999 * v[i] + 0.001 * gi * gi;
                want[i] = p[i] - 1e-3 / bc1 * mi / (Math.sqrt(vi / bc2) + 1e-8);
            }
            double err = 0, ref = 0;
            for (int i = 0; i < n; i++) { err += (got[i] - want[i]) * (got[i] - want[i]); ref += want[i] * want[i]; }
            assertTrue(err / ref <= 1e-7, "NMSE " + err / ref);
        }
    }

    /** Adam rounds alike in both kernel implementations, bit for bit: training on the CPU stays repeatable whichever runs. */
    @Test void adamKernelsAgreeBitForBit() {
        int n = 100_003;
        Random r = new Random(9);
        float[][] start = new float[4][n];   // p, g, m, v over several magnitudes, with zeros of both signs
        for (int i = 0; i < n; i++) {
            double scale = Math.pow(10, r.nextInt(9) - 6);
            start[0][i] = (float) (scale * r.nextGaussian());
            start[1][i] = i % 97 == 0 ? -0f : (float) (scale * r.nextGaussian());
            start[2][i] = i % 89 == 0 ? -0f : (float) (0.1 * scale * r.nextGaussian());
            start[3][i] = (float) (scale * scale * r.nextDouble());
        }
        AdamConfig c = new AdamConfig(1e-3, 0.9, 0.999, 1e-8, 5e-5);
        float[][] want = null;
        for (Kernels k : CpuTesting.kernels()) {
            try (CpuTesting.Active _ = CpuTesting.use(k); Scope _ = Scope.open()) {
                Tensor[] t = new Tensor[4];
                for (int j = 0; j < 4; j++) t[j] = be.fromHost(Shape.of(n), start[j]);
                for (int step = 1; step <= 3; step++) be.adamStep(t[0], t[1], t[2], t[3], c, step);
                float[][] got = {t[0].toFloats(), t[2].toFloats(), t[3].toFloats()};
                if (want == null) want = got;
                else for (int j = 0; j < 3; j++) assertArrayEquals(want[j], got[j], k + ": tensor " + j + " (p, m, v)");
            }
        }
    }

    /** The update reads its factors from a row of a float64 tensor: row 1 of two steps' rows is step 2 exactly. */
    @Test void factorsFromARowAreThoseOfTheStepCount() {
        try (Scope _ = Scope.open()) {
            AdamConfig c = new AdamConfig(0.01, 0.9, 0.999, 1e-8, 0.1);
            Tensor f = be.empty64(Shape.of(2, 2));
            double[] one = c.factors("adamStep", 1), two = c.factors("adamStep", 2);
            f.copyFrom(new double[] {one[0], one[1], two[0], two[1]});
            for (boolean adamax : new boolean[] {false, true}) {
                Tensor p1 = be.fromHost(Shape.of(3), P0), m1 = be.fromHost(Shape.of(3), new double[] {0.1, 0.2, 0.3}), v1 = be.fromHost(Shape.of(3), new double[] {1, 2, 3});
                Tensor p2 = be.fromHost(Shape.of(3), P0), m2 = be.fromHost(Shape.of(3), new double[] {0.1, 0.2, 0.3}), v2 = be.fromHost(Shape.of(3), new double[] {1, 2, 3});
                Tensor g = be.fromHost(Shape.of(3), GRADS[0]);
                if (adamax) {
                    be.adamaxStep(p1, g, m1, v1, c, 2);
                    be.adamaxStep(p2, g, m2, v2, c, f, 1);
                } else {
                    be.adamStep(p1, g, m1, v1, c, 2);
                    be.adamStep(p2, g, m2, v2, c, f, 1);
                }
                org.junit.jupiter.api.Assertions.assertArrayEquals(p1.toFloats(), p2.toFloats(), adamax ? "adamax" : "adam");
                org.junit.jupiter.api.Assertions.assertArrayEquals(v1.toFloats(), v2.toFloats(), adamax ? "adamax" : "adam");
            }
            Tensor p = be.fromHost(Shape.of(3), P0), z = be.fromHost(Shape.of(3), new double[3]);
            assertTrue(assertThrows(IllegalArgumentException.class, () -> be.adamStep(p, z, z, z, c, f, 2)).getMessage().contains("factor row 2 outside [0, 2)"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> be.adamStep(p, z, z, z, c, be.empty(Shape.of(1, 2)), 0)).getMessage().contains("(factors): expected F64"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> be.adamaxStep(p, z, z, z, c, be.empty64(Shape.of(2)), 0)).getMessage().contains("factors must be [rows, 2]"));
        }
    }

    @Test void rejectsBadArguments() {
        try (Scope _ = Scope.open()) {
            Tensor p = be.fromHost(Shape.of(3), P0), g2 = be.fromHost(Shape.of(2), new double[2]), z = be.fromHost(Shape.of(3), new double[3]);
            AdamConfig c = new AdamConfig(0.01, 0.9, 0.999, 1e-8, 0);
            var e = assertThrows(IllegalArgumentException.class, () -> be.adamStep(p, g2, z, z, c, 1));
            assertTrue(e.getMessage().contains("adamStep"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> be.adamaxStep(p, z, z, z, c, 0));
            assertThrows(IllegalArgumentException.class, () -> be.adamStep(p, z, z, z, new AdamConfig(0.01, 1.0, 0.999, 1e-8, 0), 1));
        }
    }

    private static void assertClose(double[] want, Tensor got, String what) {
        double[] g = got.toDoubles();
        for (int i = 0; i < want.length; i++)
            assertEquals(want[i], g[i], 2e-7 * Math.max(1e-3, Math.abs(want[i])) + 1e-12, what + " [" + i + "]");
    }

    /** Backend.adamSteps: the parameters in turn, as adamStep each; one bad argument anywhere updates none. */
    @Test void manyStepsAreTheOneByOneStepsAndCheckedFirst() {
        AdamConfig c = new AdamConfig(0.01, 0.9, 0.999, 1e-8, 0.1);
        try (Scope s = Scope.open()) {
            Tensor f = be.empty64(Shape.of(2, 2)).copyFrom(new double[] {c.factors("adamStep", 1)[0], c.factors("adamStep", 1)[1],
                    c.factors("adamStep", 3)[0], c.factors("adamStep", 3)[1]});
            Tensor[] p = {be.fromHost(Shape.of(3), new float[] {0.5f, -1, 2}), be.fromHost(Shape.of(2), new float[] {1, 3})};
            Tensor[] g = {be.fromHost(Shape.of(3), new float[] {0.1f, -0.2f, 0.3f}), be.fromHost(Shape.of(2), new float[] {-1, 0.5f})};
            Tensor[] m = {be.full(Shape.of(3), 0), be.full(Shape.of(2), 0.1)}, v = {be.full(Shape.of(3), 0), be.full(Shape.of(2), 0.2)};
            Tensor[] p2 = copies(p), m2 = copies(m), v2 = copies(v);
            be.adamSteps(false, p, g, m, v, c, f, new int[] {1, 0});
            be.adamStep(p2[0], g[0], m2[0], v2[0], c, f, 1);
            be.adamStep(p2[1], g[1], m2[1], v2[1], c, f, 0);
            for (int i = 0; i < 2; i++) {
                assertArrayEquals(p2[i].toFloats(), p[i].toFloats());
                assertArrayEquals(v2[i].toFloats(), v[i].toFloats());
            }
            float[] before = p[0].toFloats();
            Tensor[] badGrads = {g[0], be.full(Shape.of(5), 0)};
            var e = assertThrows(IllegalArgumentException.class, () -> be.adamSteps(false, p, badGrads, m, v, c, f, new int[] {1, 0}));
            assertTrue(e.getMessage().contains("param vs grad"), e.getMessage());
            assertArrayEquals(before, p[0].toFloats(), "the first parameter was not updated");
        }
    }

    private Tensor[] copies(Tensor[] ts) {
        Tensor[] out = new Tensor[ts.length];
        for (int i = 0; i < ts.length; i++) out[i] = be.fromHost(ts[i].shape(), ts[i].toFloats());
        return out;
    }
}
