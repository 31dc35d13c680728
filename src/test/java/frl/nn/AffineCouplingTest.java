package frl.nn;

import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.ConvGeometry;
import frl.backend.OpCase;
import frl.backend.OpHarness;
import frl.backend.Rng;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class AffineCouplingTest {
    private final Backend be = Backends.cpu();

    private static double[] gaussian(int n, long seed) {
        Random r = new Random(seed);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = r.nextGaussian();
        return v;
    }

    /** The map y_b = (x_b + t)·sigmoid(r + 2) and its log-determinant, each against finite differences in float64. */
    @Test void affineMapAndLogdetGradientCheck() {
        OpHarness.check(OpCase.named("affine coupling map").in(2, 3, 4, 5).in(2, 6, 4, 5).of(v -> AffineCoupling.affine(v[0], v[1]).y()), be);
        OpHarness.check(OpCase.named("affine coupling logdet").in(2, 3, 4, 5).in(2, 6, 4, 5).of(v -> AffineCoupling.affine(v[0], v[1]).logdet()), be);
    }

    /** Its zero-initialised last conv makes t = 0 and r = 0: each second-half value is scaled by sigmoid(2). */
    @Test void startsAsAFixedScaleOfTheSecondHalf() {
        Shape s = Shape.of(2, 4, 3, 5);
        try (AffineCoupling c = new AffineCoupling(be, 4, 8, new Rng(1)); Scope _ = Scope.open()) {
            double[] x = gaussian((int) s.numel(), 2);
            Flow.Result r = c.forward(Var.constant(be.fromHost(s, x)));
            double[] y = r.y().value().toDoubles();
            double scale = 1 / (1 + Math.exp(-2));
            for (int i = 0; i < x.length; i++) assertEquals((i / 15) % 4 < 2 ? x[i] : scale * x[i], y[i], 1e-6, "element " + i);
            assertArrayEquals(new double[] {2 * 15 * Math.log(scale), 2 * 15 * Math.log(scale)}, r.logdet().value().toDoubles(), 1e-4);
        }
    }

    @Test void reverseUndoesForward() {
        Shape s = Shape.of(3, 6, 5, 4);
        try (AffineCoupling c = new AffineCoupling(be, 6, 16, new Rng(3)); Scope _ = Scope.open()) {
            Tensor x = be.fromHost(s, gaussian((int) s.numel(), 4));
            c.forward(Var.constant(x));   // the actnorms' data-dependent init
            InvConv1x1Test.perturb(c, be, 5, 0.2);   // a network that is not the identity
            Tensor y = c.forward(Var.constant(x)).y().value();
            assertTrue(OpHarness.nmse(y.toDoubles(), x.toDoubles()) > 1e-3, "the coupling changed x");
            assertArrayEquals(x.toDoubles(), c.reverse(y).toDoubles(), 1e-4);
        }
    }

    /** The folded conv + actnorm + ReLU gives the values and gradients of the convolution, the actnorm and the ReLU. */
    @Test void convActNormReluIsTheConvolutionThenTheActnormThenTheRelu() {
        Shape xs = Shape.of(3, 4, 6, 5), ws = Shape.of(8, 4, 3, 3);
        ConvGeometry g = ConvGeometry.of(1, 1);
        try (ActNorm norm = new ActNorm(be, 8); Scope _ = Scope.open()) {
            Tensor x = be.fromHost(xs, gaussian((int) xs.numel(), 7)), w = be.fromHost(ws, gaussian((int) ws.numel(), 8));
            AffineCoupling.convActNormRelu(Var.constant(x), Var.constant(w), norm, g);   // the init sees the unfolded output
            assertTrue(norm.isInitialized());
            InvConv1x1Test.perturb(norm, be, 9, 0.3);
            double[][] got = new double[5][], want = new double[5][];
            for (int fused = 0; fused < 2; fused++) {
                norm.zeroGrad();
                Var xv = Var.leaf(x), wv = Var.leaf(w);
                Var y = fused == 1 ? AffineCoupling.convActNormRelu(xv, wv, norm, g)
                        : frl.autograd.Pointwise.relu(norm.forward(frl.autograd.Linear.conv2d(xv, wv, null, g)).y());
                y.backward(be.fromHost(y.shape(), gaussian((int) y.value().numel(), 10)));
                double[][] r = fused == 1 ? got : want;
                r[0] = y.value().toDoubles();
                r[1] = xv.grad().toDoubles();
                r[2] = wv.grad().toDoubles();
                r[3] = norm.bias.grad().toDoubles();
                r[4] = norm.logs.grad().toDoubles();
            }
            for (int k = 0; k < 5; k++) assertTrue(OpHarness.nmse(got[k], want[k]) < 1e-11, "entry " + k + ": NMSE " + OpHarness.nmse(got[k], want[k]));
        }
    }

    @Test void refusesAnOddChannelCountAndOtherShapes() {
        assertThrows(IllegalArgumentException.class, () -> new AffineCoupling(be, 3, 8, new Rng(1)));
        try (AffineCoupling c = new AffineCoupling(be, 4, 8, new Rng(1)); Scope _ = Scope.open()) {
            var e = assertThrows(IllegalArgumentException.class, () -> c.forward(Var.constant(be.full(Shape.of(1, 6, 2, 2), 0))));
            assertTrue(e.getMessage().contains("expected [N,4,H,W], got [1, 6, 2, 2]"), e.getMessage());
        }
    }
}
