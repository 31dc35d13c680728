package frl.backend.cpu;

import frl.backend.Backend.AdamConfig;
import frl.backend.Shapes;
import frl.tensor.Tensor;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Fused in-place Adam and Adamax steps with the semantics of torch.optim.Adam / Adamax (no amsgrad, not
 * maximising): weight decay is added to the gradient, the moments are bias-corrected. One pass reads
 * param, grad and both moments once and writes param and moments back; the arithmetic of each element is
 * done in double and rounded once per stored value.
 */
final class CpuOptim {
    private static final int GRAIN = 1 << 14;

    private CpuOptim() {}

    /**
     * g ← grad + wd·p; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
     * p ← p − lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + eps).
     */
    static void adam(Tensor p, Tensor g, Tensor m, Tensor v, AdamConfig c, Tensor factors, int row) {
        int n = check("adamStep", p, g, m, v, factors, row);
        double b1 = c.beta1(), b2 = c.beta2(), wd = c.weightDecay(), eps = c.eps();
        double stepSize = factors.segment().getAtIndex(JAVA_DOUBLE, 2L * row);
        double sqrtBc2 = factors.segment().getAtIndex(JAVA_DOUBLE, 2L * row + 1);
        MemorySegment ps = p.segment(), gs = g.segment(), ms = m.segment(), vs = v.segment();
        Kernels k = Kernels.active();
        Kernels.AdamFactors f = new Kernels.AdamFactors(b1, b2, wd, eps, stepSize, sqrtBc2);
        Parallel.forRange(n, GRAIN, (from, to) -> k.adam(ps, gs, ms, vs, from, to - from, f));
    }

    /** g ← grad + wd·p; m ← β1·m + (1−β1)·g; u ← max(β2·u, |g| + eps); p ← p − lr/(1−β1ᵗ) · m / u. */
    static void adamax(Tensor p, Tensor g, Tensor m, Tensor u, AdamConfig c, Tensor factors, int row) {
        int n = check("adamaxStep", p, g, m, u, factors, row);
        double b1 = c.beta1(), b2 = c.beta2(), wd = c.weightDecay(), eps = c.eps();
        double stepSize = factors.segment().getAtIndex(JAVA_DOUBLE, 2L * row);
        MemorySegment ps = p.segment(), gs = g.segment(), ms = m.segment(), us = u.segment();
        Parallel.forRange(n, GRAIN, (from, to) -> {
            for (int i = from; i < to; i++) {
                double pi = ps.getAtIndex(JAVA_FLOAT, i);
                double gi = gs.getAtIndex(JAVA_FLOAT, i) + wd * pi;
                double mi = b1 * ms.getAtIndex(JAVA_FLOAT, i) + (1 - b1) * gi;
                double ui = Math.max(b2 * us.getAtIndex(JAVA_FLOAT, i), Math.abs(gi) + eps);
                ms.setAtIndex(JAVA_FLOAT, i, (float) mi);
                us.setAtIndex(JAVA_FLOAT, i, (float) ui);
                ps.setAtIndex(JAVA_FLOAT, i, (float) (pi - stepSize * mi / ui));
            }
        });
    }

    private static int check(String op, Tensor p, Tensor g, Tensor m, Tensor v, Tensor factors, int row) {
        Shapes.requireOptimizerStep(op, p, g, m, v, factors, row);
        if (p.numel() > Integer.MAX_VALUE) throw new IllegalArgumentException(op + ": " + p.shape() + " exceeds 2^31 − 1 elements");
        return (int) p.numel();
    }
}
