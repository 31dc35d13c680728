package frl.autograd;

import frl.backend.Backend;
import frl.tensor.DType;
import frl.tensor.Scope;
import frl.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/**
 * Compares the tape's gradients with central finite differences, in float64. The scalar checked is
 * Σ f(x)·R for a fixed random R, so every output element takes part. An element passes when
 * |a−n|/(|a|+|n|) ≤ relTol or |a−n| < absTol.
 */
public final class GradCheck {
    private GradCheck() {}

    public record Mismatch(int input, int element, double analytic, double numeric) {
        @Override public String toString() { return "input " + input + "[" + element + "]: tape " + analytic + ", finite difference " + numeric; }
    }

    public record Result(int checked, double worstRelative, List<Mismatch> mismatches) {
        public boolean passed() { return mismatches.isEmpty(); }
    }

    /**
     * @param f           the function under test
     * @param inputs      float64 tensors; those with {@code wrt[i]} false are constants (targets)
     * @param perInput    how many elements of each input to perturb (a random subset when larger)
     */
    public static Result check(Function<Var[], Var> f, Tensor[] inputs, boolean[] wrt, int perInput, double eps,
                               double relTol, double absTol, long seed) {
        for (Tensor t : inputs) if (t.dtype() != DType.F64) throw new IllegalArgumentException("gradient checks need F64 inputs, got " + t);
        Random random = new Random(seed);
        List<Mismatch> bad = new ArrayList<>();
        double worst = 0;
        int checked = 0;
        try (Scope scope = Scope.open()) {
            Var[] vars = new Var[inputs.length];
            for (int i = 0; i < inputs.length; i++) vars[i] = wrt[i] ? Var.leaf(inputs[i]) : Var.constant(inputs[i]);
            Var out = f.apply(vars);
            Backend be = out.backend();
            double[] r = new double[(int) out.value().numel()];
            for (int i = 0; i < r.length; i++) r[i] = random.nextGaussian();
            out.backward(be.fromHost(out.shape(), r));
            for (int i = 0; i < inputs.length; i++) {
                if (!wrt[i]) continue;
                double[] x = inputs[i].toDoubles();
                double[] analytic = vars[i].grad() == null ? new double[x.length] : vars[i].grad().toDoubles();
                for (int e : sample(x.length, perInput, random)) {
                    double keep = x[e];
                    x[e] = keep + eps;
                    double plus = projected(f, inputs, i, x, r);
                    x[e] = keep - eps;
                    double minus = projected(f, inputs, i, x, r);
                    x[e] = keep;
                    inputs[i].copyFrom(x);
                    double numeric = (plus - minus) / (2 * eps), a = analytic[e], diff = Math.abs(a - numeric);
                    double rel = diff / (Math.abs(a) + Math.abs(numeric) + 1e-300);
                    checked++;
                    if (diff >= absTol) {
                        worst = Math.max(worst, rel);
                        if (rel > relTol) bad.add(new Mismatch(i, e, a, numeric));
                    }
                }
            }
        }
        return new Result(checked, worst, bad);
    }

    private static double projected(Function<Var[], Var> f, Tensor[] inputs, int which, double[] x, double[] r) {
        inputs[which].copyFrom(x);
        try (Scope scope = Scope.open(); Var.NoGrad ng = Var.noGrad()) {
            Var[] vars = new Var[inputs.length];
            for (int i = 0; i < inputs.length; i++) vars[i] = Var.constant(inputs[i]);
            double[] y = f.apply(vars).value().toDoubles();
            double s = 0;
            for (int k = 0; k < y.length; k++) s += y[k] * r[k];
            return s;
        }
    }

    private static int[] sample(int n, int k, Random random) {
        if (n <= k) return java.util.stream.IntStream.range(0, n).toArray();
        return random.ints(0, n).distinct().limit(k).toArray();
    }
}
