package frl.autograd;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.tensor.HostStorage;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a backward pass frees as it goes: the gradients it made, once no Var holds them; never a leaf's, a value or a constant. */
class GradientLedgerTest {
    private final Backend be = Backends.cpu();

    private Var leaf(float... v) { return Var.leaf(be.fromHost(Shape.of(v.length), v)); }

    /** An op with x's value whose backward hands its gradient to x uncopied, and shows it to the test. */
    private static Var passOn(Var x, Tensor[] seen) {
        return Var.result(x.value(), "passOn", dy -> { seen[0] = dy; x.accumulate(dy); }, x);
    }

    @Test void aGradientPassedOnLivesUntilItsLastHolderIsDone() {
        try (Scope s = Scope.open()) {
            Var x = leaf(1, 2), y = Pointwise.exp(x);
            Tensor[] seen = new Tensor[1];
            Var z = Pointwise.scale(passOn(y, seen), 3);
            Reduce.sumAll(z).backward();
            assertTrue(seen[0].storage().isFreed(), "3·1 reached exp uncopied and was freed after exp's backward");
            assertArrayEquals(new float[] {(float) (3 * Math.E), (float) (3 * Math.exp(2))}, x.grad().toFloats(), 1e-5f);
            assertNull(z.grad(), "an op's result drops its gradient once passed on");
        }
    }

    @Test void aLeafKeepsTheGradientItWasHanded() {
        try (Scope s = Scope.open()) {
            Var x = leaf(1, 2);
            Tensor[] seen = new Tensor[1];
            Reduce.sumAll(Pointwise.scale(passOn(x, seen), 2)).backward();
            assertFalse(seen[0].storage().isFreed());
            assertArrayEquals(new float[] {2, 2}, x.grad().toFloats());
        }
    }

    @Test void aForwardValueHandedOnAsAGradientIsNotFreed() {
        try (Scope s = Scope.open()) {
            Var x = leaf(1, 2), w = Pointwise.exp(leaf(0, 0));
            Var y = Var.result(x.value(), "valueAsGradient", dy -> x.accumulate(w.value()), x);
            Var z = Pointwise.add(Pointwise.scale(y, 1), Pointwise.scale(x, 1));   // x's second gradient is summed with w
            Reduce.sumAll(z).backward();
            assertFalse(w.value().storage().isFreed());
            assertArrayEquals(new float[] {1, 1}, w.value().toFloats());
            assertArrayEquals(new float[] {2, 2}, x.grad().toFloats());
        }
    }

    @Test void aTensorHandedToTwoParentsIsThereForTheSecond() {
        try (Scope s = Scope.open()) {
            Var a = leaf(1, 2), b = leaf(3, 4);
            Var ab = Var.result(a.value(), "both", dy -> {
                Tensor g = be.affine(dy, 2, 0);
                a.accumulate(g);   // a already has a gradient from below, so g is summed in and no Var holds it...
                b.accumulate(g);   // ...but it is freed only after this op's backward returns
            }, a, b);
            Reduce.sumAll(Pointwise.add(ab, a)).backward();
            assertArrayEquals(new float[] {3, 3}, a.grad().toFloats());
            assertArrayEquals(new float[] {2, 2}, b.grad().toFloats());
        }
    }

    @Test void aLongChainHoldsAFewGradientsAtOnceNotOnePerOp() {
        int n = 1 << 18, ops = 40;   // 1 MiB a tensor
        try (Scope s = Scope.open()) {
            Var v = Var.leaf(be.full(Shape.of(n), 0.5));
            for (int i = 0; i < ops; i++) v = Pointwise.scale(Pointwise.exp(Pointwise.neg(v)), 1);
            Var loss = Reduce.sumAll(v);
            long before = HostStorage.liveBytes();
            HostStorage.resetPeak();
            loss.backward();
            long grown = HostStorage.peakBytes() - before, tensor = 4L * n;
            assertTrue(grown <= 6 * tensor, "backward through " + 3 * ops + " ops grew host memory by " + grown / tensor + " tensors");
        }
    }
}
