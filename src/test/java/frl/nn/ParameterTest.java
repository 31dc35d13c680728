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

    /**
     * A parameter's first gradient of a pass reaches its buffer at the pass's end, copied with the others in one
     * Backend#copyAll: the buffers then hold the gradients, and the tensors they came from, made by the pass, are freed.
     */
    @Test void theFirstGradientsAreCopiedAtThePassesEndAndFreed() {
        try (Parameter a = Parameter.of(be.fromHost(Shape.of(2), new double[] {1, 2}));
             Parameter b = Parameter.of(be.fromHost(Shape.of(3), new double[] {3, 4, 5}));
             Scope _ = Scope.open()) {
            Tensor[] handed = new Tensor[2];
            var pa = frl.autograd.Var.result(a.value(), "seeA", dy -> { handed[0] = be.affine(dy, 2, 0); a.accumulate(handed[0]); }, a);
            var pb = frl.autograd.Var.result(b.value(), "seeB", dy -> { handed[1] = be.affine(dy, 3, 0); b.accumulate(handed[1]); }, b);
            Reduce.sumAll(Pointwise.add(Reduce.sumAll(pa), Reduce.sumAll(pb))).backward();
            assertArrayEquals(new double[] {2, 2}, a.grad().toDoubles());
            assertArrayEquals(new double[] {3, 3, 3}, b.grad().toDoubles());
            assertTrue(handed[0].storage().isFreed() && handed[1].storage().isFreed(), "the gradients the pass made are freed once copied");
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
