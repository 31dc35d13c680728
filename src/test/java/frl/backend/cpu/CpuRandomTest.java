package frl.backend.cpu;

import frl.backend.Backend;
import frl.backend.Rng;
import frl.tensor.Scope;
import frl.tensor.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class CpuRandomTest {
    private final Backend be = CpuBackend.instance();

    @Test void sameSeedSameDrawsAndTheStreamMovesOn() {
        try (Scope _ = Scope.open()) {
            Rng a = new Rng(42), b = new Rng(42);
            float[] u1 = be.uniform(Shape.of(1000), 0, 1, a).toFloats();
            assertArrayEquals(u1, be.uniform(Shape.of(1000), 0, 1, b).toFloats());
            assertEquals(1000, a.counter());
            float[] u2 = be.uniform(Shape.of(1000), 0, 1, a).toFloats();
            assertFalse(java.util.Arrays.equals(u1, u2), "a second draw must continue the stream");
            assertArrayEquals(be.normal(Shape.of(77), 0, 1, a).toFloats(), be.normal(Shape.of(77), 0, 1, new Rng(42, 2000)).toFloats());
            assertFalse(java.util.Arrays.equals(u1, be.uniform(Shape.of(1000), 0, 1, new Rng(43)).toFloats()));
        }
    }

    /** The documented contract that other backends reproduce: value i is a pure function of (seed, counter). */
    @Test void valuesFollowTheCounterContract() {
        try (Scope _ = Scope.open()) {
            Rng rng = new Rng(9, 5);
            float[] u = be.uniform(Shape.of(3, 4), -2, 3, rng).toFloats();
            for (int i = 0; i < u.length; i++) assertEquals((float) (-2 + 5 * Rng.uniform(9, 5 + i)), u[i]);
            // counter is now 17 (odd): the normal draw starts at pair k = 9 (counters 18, 19) and ends at counter 42
            float[] z = be.normal(Shape.of(12), 1, 2, rng).toFloats();
            assertEquals(42, rng.counter());
            for (int i = 0; i < z.length; i++) assertEquals((float) (1 + 2 * Rng.normal(9, 9 + i)), z[i]);
            // even start: counter 42 → pairs start at k = 21
            float[] z2 = be.normal(Shape.of(5), 0, 1, rng).toFloats();
            for (int i = 0; i < z2.length; i++) assertEquals((float) Rng.normal(9, 21 + i), z2[i]);
            assertEquals(52, rng.counter());
        }
    }

    /** Parallel chunks give exactly the serial values. */
    @Test void largeDrawMatchesTheScalarFormulaEverywhere() {
        try (Scope _ = Scope.open()) {
            int n = 200_001;
            float[] z = be.normal(Shape.of(n), 0, 1, new Rng(3)).toFloats();
            for (int i = 0; i < n; i += 997) assertEquals((float) Rng.normal(3, i), z[i]);
            assertEquals((float) Rng.normal(3, n - 1), z[n - 1]);
        }
    }

    @Test void uniformMoments() {
        try (Scope _ = Scope.open()) {
            int n = 400_000;
            float[] u = be.uniform(Shape.of(n), -1, 3, new Rng(1)).toFloats();
            double mean = 0, m2 = 0, lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE;
            for (float x : u) { mean += x; lo = Math.min(lo, x); hi = Math.max(hi, x); }
            mean /= n;
            for (float x : u) m2 += (x - mean) * (x - mean);
            double var = m2 / n;
            // U(-1,3): mean 1, variance 16/12; standard errors 0.0018 and 0.0021
            assertEquals(1.0, mean, 0.01);
            assertEquals(16.0 / 12, var, 0.012);
            assertTrue(lo >= -1 && hi < 3, "range [" + lo + ", " + hi + "]");
        }
    }

    @Test void normalMoments() {
        try (Scope _ = Scope.open()) {
            int n = 400_000;
            float[] z = be.normal(Shape.of(n), 2, 0.5, new Rng(11)).toFloats();
            double mean = 0;
            for (float x : z) mean += x;
            mean /= n;
            double m2 = 0, m3 = 0, m4 = 0;
            for (float x : z) { double d = (x - mean) / 0.5; m2 += d * d; m3 += d * d * d; m4 += d * d * d * d; }
            m2 /= n; m3 /= n; m4 /= n;
            assertEquals(2.0, mean, 0.004);
            assertEquals(1.0, m2, 0.01);
            assertEquals(0.0, m3, 0.02);
            assertEquals(3.0, m4, 0.06);
        }
    }

    @Test void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> be.uniform(Shape.of(2), 1, 0, new Rng(0)));
        assertThrows(IllegalArgumentException.class, () -> be.normal(Shape.of(2), 0, -1, new Rng(0)));
    }
}
