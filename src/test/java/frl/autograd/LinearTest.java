package frl.autograd;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.ConvGeometry;
import frl.backend.Rng;
import frl.tensor.HostStorage;
import frl.tensor.Scope;
import frl.tensor.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A biased convolution frees its output before the bias at once, and its values and gradients are those of the two ops. */
class LinearTest {
    private final Backend be = Backends.cpu();

    /** A shifted conv of a concat-ELU: off the tape, one backend op (its CPU default: the two ops' bits); on it, the two ops' gradients. */
    @Test void aShiftedConvOfAConcatEluIsTheTwoOps() {
        try (Scope s = Scope.open()) {
            Var x = Var.leaf(be.uniform(Shape.of(2, 3, 6, 7), -2, 2, new Rng(5)));
            Var w = Var.leaf(be.uniform(Shape.of(4, 6, 2, 3), -1, 1, new Rng(6)));
            Var b = Var.leaf(be.uniform(Shape.of(4), -1, 1, new Rng(7)));
            Var two = Linear.shiftedConv2d(Pointwise.concatElu(x), w, b, frl.backend.Shift.DOWN);
            try (Var.NoGrad _ = Var.noGrad()) {
                Var one = Linear.shiftedConv2dOfConcatElu(x, w, b, frl.backend.Shift.DOWN);
                assertArrayEquals(two.value().toFloats(), one.value().toFloats());
                assertTrue(!one.requiresGrad(), "off the tape");
            }
            Var onTape = Linear.shiftedConv2dOfConcatElu(x, w, b, frl.backend.Shift.DOWN);
            assertArrayEquals(two.value().toFloats(), onTape.value().toFloats());
            Reduce.sumAll(Pointwise.mul(onTape, onTape)).backward();
            float[] gx = x.grad().toFloats(), gw = w.grad().toFloats();
            Var x2 = Var.leaf(x.value()), w2 = Var.leaf(w.value());
            Var two2 = Linear.shiftedConv2d(Pointwise.concatElu(x2), w2, b, frl.backend.Shift.DOWN);
            Reduce.sumAll(Pointwise.mul(two2, two2)).backward();
            assertArrayEquals(x2.grad().toFloats(), gx);
            assertArrayEquals(w2.grad().toFloats(), gw);
        }
    }

    @Test void aBiasedConvKeepsOneOutputAndTheGradientsOfTwoOps() {
        ConvGeometry g = ConvGeometry.of(1, 1);
        try (Scope s = Scope.open()) {
            Var x = Var.leaf(be.uniform(Shape.of(4, 3, 32, 32), -1, 1, new Rng(1)));
            Var w = Var.leaf(be.uniform(Shape.of(16, 3, 3, 3), -1, 1, new Rng(2)));
            Var b = Var.leaf(be.uniform(Shape.of(16), -1, 1, new Rng(3)));
            long before = HostStorage.liveBytes();
            Var y = Linear.conv2d(x, w, b, g);
            long grown = HostStorage.liveBytes() - before, output = 4L * y.value().numel();
            assertTrue(grown < output * 5 / 4, "a biased conv left " + grown + " bytes live for an output of " + output);

            Var x2 = Var.leaf(x.value()), w2 = Var.leaf(w.value()), b2 = Var.leaf(b.value());
            Var y2 = Linear.addChannelBias(Linear.conv2d(x2, w2, null, g), b2);
            assertArrayEquals(y2.value().toFloats(), y.value().toFloats());
            Var weights = Var.constant(be.uniform(y.shape(), -1, 1, new Rng(4)));
            Reduce.sumAll(Pointwise.mul(y, weights)).backward();
            Reduce.sumAll(Pointwise.mul(y2, weights)).backward();
            assertArrayEquals(x2.grad().toFloats(), x.grad().toFloats());
            assertArrayEquals(w2.grad().toFloats(), w.grad().toFloats());
            assertArrayEquals(b2.grad().toFloats(), b.grad().toFloats());
        }
    }
}
