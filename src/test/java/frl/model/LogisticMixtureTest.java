package frl.model;

import frl.autograd.Pointwise;
import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.OpCase;
import frl.backend.OpHarness;
import frl.tensor.Scope;
import frl.tensor.Shape;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class LogisticMixtureTest {
    private final Backend be = Backends.cpu();

    private static double sigmoid(double v) { return 1 / (1 + Math.exp(-v)); }

    @Test void parameterChannelsCountLogitsMeansScalesAndCoefficients() {
        assertEquals(3 * 10, LogisticMixture.parameterChannels(1, 10));
        assertEquals(10 * 10, LogisticMixture.parameterChannels(3, 10), "PixelCNN++'s 100 for RGB");
        assertEquals(5 * (1 + 8 + 6), LogisticMixture.parameterChannels(4, 5), "RGB + HF: six coefficients");
    }

    /** Against finite differences in float64 (bytes drawn anywhere in 0..255), and the CPU against the reference. */
    @Test void gradientCheck() {
        int m = 3;
        OpHarness.check(OpCase.named("logistic mixture NLL").classes(256, 2, 2, 3, 4).in(2, LogisticMixture.parameterChannels(2, m), 3, 4)
                .of(v -> LogisticMixture.nll(Pointwise.affine(v[0], 1 / 127.5, -1), v[1], m)), be);
    }

    /** Every pair of bytes of a 2-channel pixel: their probabilities (tails at 0 and 255, bins between) sum to one. */
    @Test void theProbabilitiesOfAllBytesSumToOne() {
        int m = 3, p = LogisticMixture.parameterChannels(2, m), n = 256 * 256;
        Random r = new Random(3);
        double[] one = new double[p];
        for (int i = 0; i < p; i++) one[i] = i >= m * 3 && i < m * 5 ? -2 + r.nextDouble() : r.nextGaussian() * 0.5;   // log-scales in [−2, −1]
        double[] params = new double[n * p], x = new double[n * 2];
        for (int i = 0; i < n; i++) {
            System.arraycopy(one, 0, params, i * p, p);
            x[2 * i] = (i >> 8) / 127.5 - 1;
            x[2 * i + 1] = (i & 255) / 127.5 - 1;
        }
        try (Scope _ = Scope.open()) {
            double[] nll = LogisticMixture.nll(Var.constant(be.fromHost(Shape.of(n, 2, 1, 1), x)), Var.constant(be.fromHost(Shape.of(n, p, 1, 1), params)), m)
                    .value().toDoubles();
            double sum = 0;
            for (double v : nll) sum += Math.exp(-v);
            assertEquals(1, sum, 1e-4);
        }
    }

    /** One channel, one component: each branch against its formula written out (scale e^s, bin half-width 1/255). */
    @Test void edgeCasesBranchByBranch() {
        double[] bytes = {0, 255, 100, 100, 100, 100};
        double[] mean = {0.3, -0.2, 0.1, 0.9, 0.1, 0.1};
        double[] logScale = {-1, -1.5, 0, -7, -9, -7};
        double[] want = new double[bytes.length];
        String[] branch = new String[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            double x = bytes[i] / 127.5 - 1, s = Math.max(logScale[i], -7), c = x - mean[i];
            double plus = (c + 1 / 255.0) / Math.exp(s), minus = (c - 1 / 255.0) / Math.exp(s), mid = c / Math.exp(s);
            double mass = sigmoid(plus) - sigmoid(minus);
            if (bytes[i] == 0) { want[i] = Math.log(sigmoid(plus)); branch[i] = "left tail"; }
            else if (bytes[i] == 255) { want[i] = Math.log(1 - sigmoid(minus)); branch[i] = "right tail"; }
            else if (mass > 1e-5) { want[i] = Math.log(mass); branch[i] = "bin"; }
            else { want[i] = mid - s - 2 * Math.log1p(Math.exp(mid)) - Math.log(127.5); branch[i] = "density"; }   // density · bin width
        }
        assertArrayEquals(new String[] {"left tail", "right tail", "bin", "density", "density", "density"}, branch, "every branch");
        try (Scope _ = Scope.open()) {
            double[] params = new double[bytes.length * 3], x = new double[bytes.length];
            for (int i = 0; i < bytes.length; i++) {
                x[i] = bytes[i] / 127.5 - 1;
                params[3 * i] = 0.7;   // the only component's logit: log π = 0 whatever it is
                params[3 * i + 1] = mean[i];
                params[3 * i + 2] = logScale[i];
            }
            var backends = new Backend[] {be, OpHarness.reference()};
            for (Backend b : backends) {
                double[] nll = LogisticMixture.nll(Var.constant(b.fromHost(Shape.of(bytes.length, 1, 1, 1), x)),
                        Var.constant(b.fromHost(Shape.of(bytes.length, 3, 1, 1), params)), 1).value().toDoubles();
                for (int i = 0; i < bytes.length; i++) assertEquals(want[i], -nll[i], 1e-4 * Math.max(1, Math.abs(want[i])), b.name() + " case " + i);
            }
            assertNotEquals(want[0], want[1]);
            assertEquals(want[5], want[4], "a log-scale of −9 counts as −7");
        }
    }

    @Test void refusesParametersOfTheWrongShape() {
        try (Scope _ = Scope.open()) {
            var e = assertThrows(IllegalArgumentException.class, () -> LogisticMixture.nll(Var.constant(be.full(Shape.of(2, 3, 4, 4), 0)),
                    Var.constant(be.full(Shape.of(2, 90, 4, 4), 0)), 10));
            assertTrue(e.getMessage().contains("needs parameters [2, 100, 4, 4], got [2, 90, 4, 4]"), e.getMessage());
        }
    }
}
