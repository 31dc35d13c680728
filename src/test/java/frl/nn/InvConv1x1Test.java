package frl.nn;

import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.OpCase;
import frl.backend.OpHarness;
import frl.backend.Rng;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

public class InvConv1x1Test {
    private final Backend be = Backends.cpu();

    private Tensor gaussian(Shape s, long seed) {
        Random r = new Random(seed);
        double[] v = new double[(int) s.numel()];
        for (int i = 0; i < v.length; i++) v[i] = r.nextGaussian();
        return be.fromHost(s, v);
    }

    /** Moves every parameter off its initial value by N(0, scale²), as training would. */
    public static void perturb(Module m, Backend be, long seed, double scale) {
        Random r = new Random(seed);
        for (Parameter p : m.parameters()) {
            double[] v = p.value().toDoubles();
            for (int i = 0; i < v.length; i++) v[i] += scale * r.nextGaussian();
            be.copyInto(be.fromHost(p.shape(), v), p.value());
        }
    }

    @Test void startsAsARotation() {
        try (InvConv1x1 conv = new InvConv1x1(be, 12, new Rng(1)); Scope _ = Scope.open()) {
            double[][] w = conv.weightInDouble();
            double[] onDevice = conv.weight().value().toDoubles();
            for (int i = 0; i < 12; i++)
                for (int j = 0; j < 12; j++) {
                    double dot = 0;
                    for (int k = 0; k < 12; k++) dot += w[i][k] * w[j][k];
                    assertEquals(i == j ? 1 : 0, dot, 1e-6, "W·Wᵀ at " + i + "," + j);
                    assertEquals(w[i][j], onDevice[i * 12 + j], 1e-6);
                }
            assertEquals(0, conv.forward(Var.constant(gaussian(Shape.of(2, 12, 4, 4), 2))).logdet().value().item(), 1e-5);
        }
    }

    @Test void forwardMixesChannelsPerPixelAndLogdetIsHWTimesLogAbsDet() {
        try (InvConv1x1 conv = new InvConv1x1(be, 6, new Rng(3)); Scope _ = Scope.open()) {
            perturb(conv, be, 4, 0.3);
            Tensor x = gaussian(Shape.of(2, 6, 3, 5), 5);
            Flow.Result r = conv.forward(Var.constant(x));
            double[][] w = conv.weightInDouble();
            double[] xv = x.toDoubles(), yv = r.y().value().toDoubles();
            for (int n = 0; n < 2; n++)
                for (int o = 0; o < 6; o++)
                    for (int p = 0; p < 15; p++) {
                        double want = 0;
                        for (int c = 0; c < 6; c++) want += w[o][c] * xv[(n * 6 + c) * 15 + p];
                        assertEquals(want, yv[(n * 6 + o) * 15 + p], 1e-5);
                    }
            double logAbsDet = Lu.of(w).logAbsDet();
            assertNotEquals(0, logAbsDet, 1e-3, "the perturbation moved the determinant");
            assertEquals(15 * logAbsDet, r.logdet().value().item(), 1e-4 * (1 + Math.abs(15 * logAbsDet)));
        }
    }

    @Test void reverseUndoesForward() {
        try (InvConv1x1 conv = new InvConv1x1(be, 48, new Rng(6)); Scope _ = Scope.open()) {
            perturb(conv, be, 7, 0.05);   // 0.3 on 48² factors makes W ill-conditioned enough to amplify float32 rounding past 1e-4
            Tensor x = gaussian(Shape.of(3, 48, 4, 2), 8);
            assertArrayEquals(x.toDoubles(), conv.reverse(conv.forward(Var.constant(x)).y().value()).toDoubles(), 1e-4);
        }
    }

    /**
     * Gradients through W's LU composition and the 1×1 convolution, against finite differences in float64, and
     * the CPU against the reference: the same seed gives both layers the same permutation, signs and masks.
     */
    @Test void gradientCheckInFloat64AndCpuParity() {
        try (InvConv1x1 ref = new InvConv1x1(OpHarness.reference(), 5, new Rng(9)); InvConv1x1 cpu = new InvConv1x1(be, 5, new Rng(9))) {
            OpCase c = OpCase.named("invertible 1×1 through its LU factors").in(2, 5, 3, 4).in(5, 5).in(5, 5).in(5)
                    .of(v -> InvConv1x1.apply(v[0], (v[0].backend() == be ? cpu : ref).weight(v[1], v[2], v[3]), null));
            OpHarness.check(c, be);
        }
    }

    @Test void rejectsWrongChannels() {
        try (InvConv1x1 conv = new InvConv1x1(be, 4, new Rng(1)); Scope _ = Scope.open()) {
            var e = assertThrows(IllegalArgumentException.class, () -> conv.reverse(be.full(Shape.of(1, 3, 2, 2), 0)));
            assertTrue(e.getMessage().contains("[N,4,H,W]"), e.getMessage());
        }
    }
}
