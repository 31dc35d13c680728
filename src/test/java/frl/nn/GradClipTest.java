package frl.nn;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.tensor.Scope;
import frl.tensor.Shape;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Needs the cpu pointwise and reduction ops (pointwise branch). */
class GradClipTest {
    private final Backend be = Backends.cpu();

    /** Gradients (3, 4) and (12): total norm 13. */
    @Test void scalesAllGradientsTogether() {
        try (Scope _ = Scope.open()) {
            Parameter a = Parameter.of(be.full(Shape.of(2), 0)), b = Parameter.of(be.full(Shape.of(1, 1), 0)), none = Parameter.of(be.full(Shape.of(3), 0));
            try (a; b; none) {
                a.accumulate(be.fromHost(Shape.of(2), new double[] {3, 4}));
                b.accumulate(be.fromHost(Shape.of(1, 1), new double[] {12}));
                assertEquals(13, GradClip.clipGradNorm(List.of(a, b, none), 100), 1e-5);
                assertArrayEquals(new double[] {3, 4}, a.grad().toDoubles(), 1e-6, "below the limit nothing changes");
                assertEquals(13, GradClip.clipGradNorm(List.of(a, b, none), 6.5), 1e-5);
                double k = 6.5 / (13 + 1e-6);
                assertArrayEquals(new double[] {3 * k, 4 * k}, a.grad().toDoubles(), 1e-6);
                assertEquals(12 * k, b.grad().get(0), 1e-6);
                assertNull(none.grad());
                assertEquals(6.5, GradClip.clipGradNorm(List.of(a, b), 100), 1e-5);
            }
        }
    }
}
