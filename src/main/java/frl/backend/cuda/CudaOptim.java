package frl.backend.cuda;

import frl.backend.Backend.AdamConfig;
import frl.backend.Shapes;
import frl.tensor.Tensor;

import java.util.HashSet;
import java.util.Set;

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
    private static final Kernel STEPS = new Kernel("optim", "adam_steps", "tiliddddp");
    /** Table rows per launch: (param, grad, first, second, n, factor row, start) each. */
    static final int ROWS_PER_LAUNCH = Kernel.MAX_LONGS / 7;

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

    /**
     * Backend#adamSteps: the parameters' elements as one range in one launch (of up to {@link #ROWS_PER_LAUNCH}
     * parameters; more take more), each element computed as adam_step or adamax_step computes it.
     */
    static void steps(boolean max, Tensor[] p, Tensor[] g, Tensor[] m, Tensor[] s, AdamConfig c, Tensor factors, int[] rows) {
        String op = max ? "adamaxSteps" : "adamSteps";
        Shapes.requireOptimizerSteps(op, p, g, m, s, factors, rows);
        Set<Long> seen = new HashSet<>(); // one launch updates them all at once: two parameters in one storage (tied weights) would race
        for (int i = 0; i < p.length; i++)
            if (p[i].numel() > 0 && !seen.add(p[i].storage().address()))
                throw new IllegalArgumentException(op + ": parameter " + i + " shares its memory with an earlier one; update tied weights once");
        for (int from = 0; from < p.length; from += ROWS_PER_LAUNCH) {
            int count = Math.min(ROWS_PER_LAUNCH, p.length - from);
            long[] table = new long[7 * count];
            long total = 0;
            for (int k = 0; k < count; k++) {
                int i = from + k;
                long[] row = {at(p[i]), at(g[i]), at(m[i]), at(s[i]), p[i].numel(), rows[i], total};
                System.arraycopy(row, 0, table, 7 * k, 7);
                total += p[i].numel();
            }
            launchSteps(table, count, total, max, c, factors);
        }
    }

    /** One adam_steps launch over a table of rows (param, grad, first, second, n, factor row, start) of device addresses. */
    static void launchSteps(long[] table, int count, long total, boolean max, AdamConfig c, Object factors) {
        if (total > 0) STEPS.launchN(total, table, count, total, max ? 1 : 0, c.beta1(), c.beta2(), c.eps(), c.weightDecay(), factors);
    }

    private static long at(Tensor t) { return t.storage().address(); }

    private static long rowAddress(Tensor factors, int row) { return factors.storage().address() + 16L * row; }
}
