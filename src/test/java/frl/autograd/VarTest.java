package frl.autograd;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.tensor.Scope;
import frl.tensor.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The tape's rules: shared inputs accumulate, no-grad and detach cut the tape, backward needs a scalar or a seed. */
class VarTest {
    private final Backend be = Backends.cpu();

    @Test void aVarUsedTwiceGetsBothContributions() {
        try (Scope s = Scope.open()) {
            Var x = Var.leaf(be.fromHost(Shape.of(3), new float[] {1, -2, 3}));
            Var y = Reduce.sumAll(Pointwise.add(Pointwise.mul(x, x), x));   // Σ x² + x → 2x + 1
            y.backward();
            assertArrayEquals(new float[] {3, -3, 7}, x.grad().toFloats());
        }
    }

    @Test void noGradAndDetachCutTheTape() {
        try (Scope s = Scope.open()) {
            Var x = Var.leaf(be.fromHost(Shape.of(2), new float[] {1, 2}));
            try (Var.NoGrad ng = Var.noGrad()) {
                assertFalse(Pointwise.square(x).requiresGrad());
            }
            Var y = Reduce.sumAll(Pointwise.mul(x, Pointwise.square(x).detach()));  // gradient x² only, not 3x²
            y.backward();
            assertArrayEquals(new float[] {1, 4}, x.grad().toFloats());
            Var c = Var.constant(be.fromHost(Shape.of(1), new float[] {5}));
            assertThrows(IllegalStateException.class, c::backward);
            assertNull(c.grad());
        }
    }

    @Test void backwardOfANonScalarNeedsASeed() {
        try (Scope s = Scope.open()) {
            Var x = Var.leaf(be.fromHost(Shape.of(2), new float[] {1, 2}));
            Var y = Pointwise.square(x);
            assertThrows(IllegalStateException.class, y::backward);
            y.backward(be.fromHost(Shape.of(2), new float[] {1, 10}));
            assertArrayEquals(new float[] {2, 40}, x.grad().toFloats());
        }
    }
}
