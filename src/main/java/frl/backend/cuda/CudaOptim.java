package frl.backend.cuda;

import frl.backend.Backend.AdamConfig;
import frl.backend.Shapes;
import frl.tensor.Tensor;

/**
 * Fused in-place Adam and Adamax steps (src/main/cuda/optim.cu; CPU twin {@code CpuOptim}): one pass reads
 * param, grad and both moments once and writes param and the moments back. The step's factors (bias corrections,
 * computed in double on the host as the CPU's) are read from a float64 row on the device, so a recorded graph
 * replays the update with each new step's factors; the kernels repeat the CPU's double arithmetic operation by
 * operation (no FMA contraction), so both backends produce the same floats.
 */
final class CudaOptim {
    private static final Kernel ADAM = new Kernel("optim", "adam_step", "pppplddddp");
    private static final Kernel ADAMAX = new Kernel("optim", "adamax_step", "pppplddddp");

    private CudaOptim() {}

    static void adam(Tensor p, Tensor g, Tensor m, Tensor v, AdamConfig c, Tensor factors, int row) {
        Shapes.requireOptimizerStep("adamStep", p, g, m, v, factors, row);
        long n = p.numel();
        if (n > 0) ADAM.launchN(n, p, g, m, v, n, c.beta1(), c.beta2(), c.eps(), c.weightDecay(), rowAddress(factors, row));
    }

    static void adamax(Tensor p, Tensor g, Tensor m, Tensor u, AdamConfig c, Tensor factors, int row) {
        Shapes.requireOptimizerStep("adamaxStep", p, g, m, u, factors, row);
        long n = p.numel();
        if (n > 0) ADAMAX.launchN(n, p, g, m, u, n, c.beta1(), c.beta2(), c.eps(), c.weightDecay(), rowAddress(factors, row));
    }

    private static long rowAddress(Tensor factors, int row) { return factors.storage().address() + 16L * row; }
}
