package frl.nn;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.Rng;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class InitTest {
    private final Backend be = Backends.cpu();

    /** kaiming_uniform(a=√5) is U(±1/√fan_in): every value inside, variance bound²/3. */
    @Test void convWeightsAndBiasesFollowTorchDefaults() {
        try (Conv2d c = new Conv2d(be, new Rng(5), 64, 64, 3, 1, 1, true)) {
            checkUniform(c.weight.value(), 1 / Math.sqrt(64 * 9));
            checkUniform(c.bias.value(), 1 / Math.sqrt(64 * 9));
        }
    }

    /** torch computes a transposed conv's fan_in from weight dim 1 (the output channels). */
    @Test void transposedConvUsesOutputChannelsAsFanIn() {
        try (ConvTranspose2d c = new ConvTranspose2d(be, new Rng(6), 16, 128, 4, 2, 1, 0, false)) {
            checkUniform(c.weight.value(), 1 / Math.sqrt(128 * 16));
            assertNull(c.bias);
        }
    }

    @Test void linearAndSeeding() {
        try (Linear a = new Linear(be, new Rng(7), 300, 200, true); Linear b = new Linear(be, new Rng(7), 300, 200, true)) {
            checkUniform(a.weight.value(), 1 / Math.sqrt(300));
            assertArrayEquals(a.weight.value().toFloats(), b.weight.value().toFloats());
            assertArrayEquals(a.bias.value().toFloats(), b.bias.value().toFloats());
        }
        assertEquals(1 / Math.sqrt(10), Init.kaimingUniformBound(Math.sqrt(5), 10), 1e-15);
        assertEquals(Math.sqrt(6.0 / 10), Init.kaimingUniformBound(0, 10), 1e-15);
    }

    private static void checkUniform(Tensor t, double bound) {
        float[] v = t.toFloats();
        double sum = 0, sq = 0, lo = 0, hi = 0;
        for (float x : v) {
            assertTrue(Math.abs(x) <= bound, x + " outside ±" + bound);
            sum += x;
            sq += x * x;
            lo = Math.min(lo, x);
            hi = Math.max(hi, x);
        }
        int n = v.length;
        if (n < 1000) return;
        double var = sq / n - (sum / n) * (sum / n), want = bound * bound / 3;
        assertEquals(want, var, 6 * want * Math.sqrt(0.8 / n), "variance of U(±" + bound + ")");
        assertTrue(hi > 0.99 * bound && lo < -0.99 * bound, "the whole range is used");
    }
}
