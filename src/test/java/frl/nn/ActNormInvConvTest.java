package frl.nn;

import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.OpCase;
import frl.backend.OpHarness;
import frl.backend.Rng;
import frl.backend.cuda.GpuTests;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class ActNormInvConvTest {
    private static final Shape X = Shape.of(8, 12, 6, 5);

    private static double[] gaussian(int n, long seed) {
        Random r = new Random(seed);
        double[] v = new double[n];
        for (int i = 0; i < v.length; i++) v[i] = 2 + 3 * r.nextGaussian();
        return v;
    }

    /** The fold as an op case: x [n, c, h, w], w [c, c], bias and logs [1, c, 1, 1]. */
    private static OpCase fold(int n, int c, int h, int w) {
        return OpCase.named("actnorm folded into a 1×1 convolution").in(n, c, h, w).in(c, c).in(1, c, 1, 1).in(1, c, 1, 1)
                .of(v -> ActNormInvConv.fold(v[0], v[1], v[2], v[3]));
    }

    /** The folded layer's algebra against finite differences in float64, and the CPU against the reference. */
    @Test void foldGradientCheck() { OpHarness.check(fold(2, 4, 3, 5), Backends.cpu()); }

    /** Output, log-determinant, then the gradients of x and of every parameter. */
    private static List<double[]> forwardBackward(Backend be, ActNormInvConv m, boolean fused) {
        List<double[]> out = new ArrayList<>();
        try (Scope _ = Scope.open()) {
            Var x = Var.leaf(be.fromHost(X, gaussian((int) X.numel(), 2)));
            Flow.Result r = fused ? m.forward(x) : m.forwardUnfused(x);
            out.add(r.y().value().toDoubles());
            out.add(r.logdet().value().toDoubles());
            m.zeroGrad();
            r.y().backward(be.fromHost(X, gaussian((int) X.numel(), 3)));
            out.add(x.grad().toDoubles());
            for (Parameter p : m.parameters()) out.add(p.grad().toDoubles());
        }
        return out;
    }

    private static ActNormInvConv trained(Backend be) {
        ActNormInvConv m = new ActNormInvConv(be, 12, new Rng(1));
        try (Scope _ = Scope.open()) {
            m.forward(Var.constant(be.fromHost(X, gaussian((int) X.numel(), 1))));   // data-dependent init
        }
        InvConv1x1Test.perturb(m, be, 4, 0.3);
        return m;
    }

    @Test void fusedEqualsActNormThenInvConv() {
        Backend be = Backends.cpu();
        try (ActNormInvConv m = trained(be)) {
            assertTrue(m.actnorm.isInitialized());
            List<double[]> fused = forwardBackward(be, m, true), plain = forwardBackward(be, m, false);
            assertEquals(2 + 1 + 5, fused.size(), "y, logdet, dx and five parameters");
            for (int i = 0; i < fused.size(); i++) assertTrue(OpHarness.nmse(fused.get(i), plain.get(i)) < 1e-11, "entry " + i);
        }
    }

    @Test void reverseUndoesForwardAndStateDictNamesBothLayers() {
        Backend be = Backends.cpu();
        try (ActNormInvConv m = trained(be); Scope _ = Scope.open()) {
            Tensor x = be.fromHost(X, gaussian((int) X.numel(), 5));
            assertArrayEquals(x.toDoubles(), m.reverse(m.forward(Var.constant(x)).y().value()).toDoubles(), 1e-4);
            assertEquals(List.of("actnorm.bias", "actnorm.logs", "actnorm.initialized", "invconv.w_l", "invconv.w_s", "invconv.w_u",
                    "invconv.w_p", "invconv.s_sign", "invconv.l_mask", "invconv.u_mask", "invconv.l_eye"), List.copyOf(m.stateDict().keySet()));
        }
    }

    @Tag("gpu")
    @Test void matchesTheCpuOnCuda() {
        Backend cuda = GpuTests.cudaOrSkip();
        OpHarness.check(fold(4, 12, 9, 7), cuda);
        try (ActNormInvConv a = trained(Backends.cpu()); ActNormInvConv b = trained(cuda)) {
            List<double[]> onCpu = forwardBackward(Backends.cpu(), a, true), onCuda = forwardBackward(cuda, b, true);
            for (int i = 0; i < onCpu.size(); i++) assertTrue(OpHarness.nmse(onCuda.get(i), onCpu.get(i)) <= 1e-7, "entry " + i);
            try (Scope _ = Scope.open()) {
                Tensor y = cuda.fromHost(X, gaussian((int) X.numel(), 6));
                assertTrue(OpHarness.nmse(b.reverse(y).toDoubles(), a.reverse(Backends.cpu().fromHost(X, gaussian((int) X.numel(), 6))).toDoubles()) <= 1e-7);
            }
        }
    }
}
