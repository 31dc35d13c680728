package frl.nn;

import frl.autograd.Pointwise;
import frl.autograd.Reduce;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Needs the cpu pointwise ops (axpy) from the pointwise branch. */
class ParameterTest {
    private final Backend be = Backends.cpu();

    @Test void outlivesScopesAndAccumulatesIntoItsBuffer() {
        Parameter p;
        try (Scope s = Scope.open()) {
            p = Parameter.of(be.fromHost(Shape.of(3), new double[] {1, 2, 3}));
            assertEquals(0, s.size(), "the parameter's tensors must not belong to the scope");
            assertNull(p.grad(), "no gradient before a backward pass");
            p.accumulate(be.fromHost(Shape.of(3), new double[] {0.5, -1, 2}));
            p.accumulate(be.fromHost(Shape.of(3), new double[] {1, 1, 1}));
        }
        try {
            assertArrayEquals(new double[] {1.5, 0, 3}, p.grad().toDoubles());
            assertArrayEquals(new double[] {1, 2, 3}, p.value().toDoubles());
            Tensor buffer = p.grad();
            p.zeroGrad();
            assertNull(p.grad());
            try (Scope _ = Scope.open()) {
                p.accumulate(be.fromHost(Shape.of(3), new double[] {7, 8, 9}));
            }
            assertSame(buffer, p.grad(), "the buffer is reused across steps");
            assertArrayEquals(new double[] {7, 8, 9}, p.grad().toDoubles(), "the first contribution after zeroGrad replaces the old gradient");
            var e = assertThrows(IllegalStateException.class, () -> p.accumulate(be.fromHost(Shape.of(2), new double[2])));
            assertTrue(e.getMessage().contains("[2]") && e.getMessage().contains("[3]"), e.getMessage());
        } finally {
            p.close();
        }
        assertTrue(p.value().storage().isFreed());
    }

    /** Through the tape: loss = Σ p², so each backward adds 2p into the buffer until zeroGrad. */
    @Test void backwardPassesAccumulateAcrossCalls() {
        try (Parameter p = Parameter.of(be.fromHost(Shape.of(2, 2), new double[] {1, -2, 0.5, 3}))) {
            for (int i = 0; i < 2; i++) {
                try (Scope _ = Scope.open()) {
                    Reduce.sumAll(Pointwise.mul(p, p)).backward();
                }
            }
            assertArrayEquals(new double[] {4, -8, 2, 12}, p.grad().toDoubles(), 1e-6);
            p.zeroGrad();
            try (Scope _ = Scope.open()) {
                Reduce.sumAll(Pointwise.scale(p, 3)).backward();
            }
            assertArrayEquals(new double[] {3, 3, 3, 3}, p.grad().toDoubles(), 1e-6);
        }
    }

    /** loss = Σ a·b: with b frozen only a gets a gradient; with both frozen the loss is off the tape; thawed, b learns again. */
    @Test void aFrozenParameterTakesNoGradient() {
        try (Parameter a = Parameter.of(be.fromHost(Shape.of(2), new double[] {1, 2}));
             Parameter b = Parameter.of(be.fromHost(Shape.of(2), new double[] {3, 4}));
             Scope _ = Scope.open()) {
            b.freeze(true);
            Reduce.sumAll(Pointwise.mul(a, b)).backward();
            assertArrayEquals(new double[] {3, 4}, a.grad().toDoubles());
            assertNull(b.grad(), "frozen: no gradient");
            a.freeze(true);
            assertFalse(Reduce.sumAll(Pointwise.mul(a, b)).requiresGrad(), "nothing on the tape needs a gradient");
            a.freeze(false);
            b.freeze(false);
            a.zeroGrad();
            Reduce.sumAll(Pointwise.mul(a, b)).backward();
            assertArrayEquals(new double[] {1, 2}, b.grad().toDoubles(), "thawed, it learns again");
        }
    }
}
