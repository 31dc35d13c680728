package frl.backend.cuda;

import frl.backend.Backend.AdamConfig;
import frl.backend.Shapes;
import frl.tensor.Tensor;

/**
 * Fused in-place Adam and Adamax steps (src/main/cuda/optim.cu; CPU twin {@code CpuOptim}): one pass reads
 * param, grad and both moments once and writes param and the moments back. The bias corrections are computed
 * here in double exactly as the CPU does, and the kernels repeat the CPU's double arithmetic operation by
 * operation (no FMA contraction), so both backends produce the same floats.
 */
final class CudaOptim {
    private static final Kernel ADAM = new Kernel("optim", "adam_step", "ppppldddddd");
    private static final Kernel ADAMAX = new Kernel("optim", "adamax_step", "pppplddddd");

    private CudaOptim() {}

    static void adam(Tensor p, Tensor g, Tensor m, Tensor v, AdamConfig c, long step) {
        long n = check("adamStep", p, g, m, v, step);
        double stepSize = c.lr() / (1 - Math.pow(c.beta1(), step));
        double sqrtBc2 = Math.sqrt(1 - Math.pow(c.beta2(), step));
        if (n > 0) ADAM.launchN(n, p, g, m, v, n, c.beta1(), c.beta2(), c.eps(), c.weightDecay(), stepSize, sqrtBc2);
    }

    static void adamax(Tensor p, Tensor g, Tensor m, Tensor u, AdamConfig c, long step) {
        long n = check("adamaxStep", p, g, m, u, step);
        double stepSize = c.lr() / (1 - Math.pow(c.beta1(), step));
        if (n > 0) ADAMAX.launchN(n, p, g, m, u, n, c.beta1(), c.beta2(), c.eps(), c.weightDecay(), stepSize);
    }

    /** The CPU's checks and messages. */
    private static long check(String op, Tensor p, Tensor g, Tensor m, Tensor v, long step) {
        Shapes.requireSameShape(op + " (param vs grad)", p, g);
        Shapes.requireSameShape(op + " (param vs first moment)", p, m);
        Shapes.requireSameShape(op + " (param vs second moment)", p, v);
        if (step < 1) throw new IllegalArgumentException(op + ": step counts from 1, got " + step);
        return p.numel();
    }
}
