package frl.nn;

import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class ActNormTest {
    private final Backend be = Backends.cpu();
    private static final Shape SHAPE = Shape.of(4, 3, 5, 6);

    /** Channel c is offset by 3c and scaled by c + 1, so every channel needs its own bias and scale. */
    private Tensor input(long seed) {
        Random r = new Random(seed);
        double[] v = new double[(int) SHAPE.numel()];
        for (int i = 0; i < v.length; i++) {
            int c = (i / 30) % 3;
            v[i] = 3 * c + (c + 1) * r.nextGaussian();
        }
        return be.fromHost(SHAPE, v);
    }

    private static double[][] channelMeanAndVariance(double[] y) {
        double[][] mv = new double[2][3];
        for (int i = 0; i < y.length; i++) mv[0][(i / 30) % 3] += y[i] / 120;
        for (int i = 0; i < y.length; i++) { int c = (i / 30) % 3; mv[1][c] += Math.pow(y[i] - mv[0][c], 2) / 120; }
        return mv;
    }

    @Test void firstForwardNormalisesEachChannelThenKeepsItsParameters() {
        try (ActNorm an = new ActNorm(be, 3); Scope _ = Scope.open()) {
            assertFalse(an.isInitialized());
            Tensor x = input(1);
            Flow.Result r = an.forward(Var.constant(x));
            assertTrue(an.isInitialized());
            double[][] mv = channelMeanAndVariance(r.y().value().toDoubles());
            assertArrayEquals(new double[3], mv[0], 1e-5);
            assertArrayEquals(new double[] {1, 1, 1}, mv[1], 1e-4);
            double[][] xs = channelMeanAndVariance(x.toDoubles());
            double[] logs = an.logs.value().toDoubles();
            for (int c = 0; c < 3; c++) assertEquals(-Math.log(Math.sqrt(xs[1][c]) + 1e-6), logs[c], 1e-5);
            assertEquals(30 * (logs[0] + logs[1] + logs[2]), r.logdet().value().item(), 1e-4);
            assertEquals(Shape.of(1), r.logdet().shape());

            double[] bias = an.bias.value().toDoubles();
            an.forward(Var.constant(input(2)));
            assertArrayEquals(bias, an.bias.value().toDoubles(), 0, "a second batch does not re-initialise");
            assertArrayEquals(logs, an.logs.value().toDoubles(), 0);
        }
    }

    @Test void reverseUndoesForward() {
        try (ActNorm an = new ActNorm(be, 3); Scope _ = Scope.open()) {
            an.forward(Var.constant(input(1)));
            Tensor x = input(3);
            assertArrayEquals(x.toDoubles(), an.reverse(an.forward(Var.constant(x)).y().value()).toDoubles(), 1e-5);
        }
    }

    @Test void aLoadedCheckpointIsNotReinitialised() {
        try (ActNorm trained = new ActNorm(be, 3); ActNorm loaded = new ActNorm(be, 3); Scope _ = Scope.open()) {
            trained.forward(Var.constant(input(1)));
            loaded.loadStateDict(trained.stateDict(), true);
            loaded.forward(Var.constant(input(2)));
            assertArrayEquals(trained.bias.value().toDoubles(), loaded.bias.value().toDoubles(), 0);
            assertArrayEquals(trained.logs.value().toDoubles(), loaded.logs.value().toDoubles(), 0);
        }
    }

    /** With dy = 1: ∂/∂bias_c = Σ exp(logs_c) over the 120 values of channel c, ∂/∂logs_c = Σ y over them. */
    @Test void gradientsReachBiasAndLogs() {
        try (ActNorm an = new ActNorm(be, 3); Scope _ = Scope.open()) {
            an.forward(Var.constant(input(1)));
            Var y = an.forward(Var.constant(input(4))).y();
            y.backward(be.full(y.shape(), 1));
            double[] logs = an.logs.value().toDoubles(), yv = y.value().toDoubles(), sums = new double[3];
            for (int i = 0; i < yv.length; i++) sums[(i / 30) % 3] += yv[i];
            for (int c = 0; c < 3; c++) {
                assertEquals(120 * Math.exp(logs[c]), an.bias.grad().get(c), 1e-3 * Math.exp(logs[c]));
                assertEquals(sums[c], an.logs.grad().get(c), 1e-3);
            }
        }
    }

    @Test void rejectsWrongChannels() {
        try (ActNorm an = new ActNorm(be, 3); Scope _ = Scope.open()) {
            var e = assertThrows(IllegalArgumentException.class, () -> an.forward(Var.constant(be.full(Shape.of(2, 4, 2, 2), 0))));
            assertTrue(e.getMessage().contains("[N,3,H,W]"), e.getMessage());
            assertFalse(an.isInitialized());
        }
    }
}
