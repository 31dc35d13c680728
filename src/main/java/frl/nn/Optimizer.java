package frl.nn;

import frl.backend.Backend;
import frl.backend.Backend.AdamConfig;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Adam-family optimizers over a list of parameters, each step one fused backend call for all of them. A step is
 * {@link #prepare} (count the step, write every parameter's factors into one float64 tensor of the backend: one
 * copy) then {@link #apply} (the updates, which read their factors there), so a recorded step can hold the
 * updates while the host prepares each new step before replaying it.
 * The optimizer owns two moment tensors per parameter and a per-parameter step count (as torch: a
 * parameter without a gradient is skipped and its count does not advance). {@link #state()} exposes
 * them under torch's names ({@code 0.exp_avg}, {@code 0.exp_avg_sq} / {@code 0.exp_inf}) for checkpoints.
 */
public abstract sealed class Optimizer implements AutoCloseable permits Adam, Adamax {
    private final List<Parameter> params;
    private final Tensor[] first, second;
    private final long[] steps;
    /** Row i: the factors of parameter i's current step (float64 [n, 2] on the parameters' backend). */
    private final Tensor factors;
    private AdamConfig config;
    private boolean closed;

    protected Optimizer(List<Parameter> params, AdamConfig config) {
        Set<Parameter> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Parameter p : params) if (!seen.add(p)) throw new IllegalArgumentException(kind() + ": a parameter appears twice in the list");
        this.params = List.copyOf(params);
        this.config = config;
        int n = params.size();
        first = new Tensor[n];
        second = new Tensor[n];
        steps = new long[n];
        for (Parameter p : params)
            if (!p.value().device().equals(params.get(0).value().device()))
                throw new IllegalArgumentException(kind() + ": parameters on " + params.get(0).value().device() + " and " + p.value().device());
        factors = n == 0 ? null : Scope.unscoped(() -> params.get(0).backend().empty64(Shape.of(n, 2)));
        for (int i = 0; i < n; i++) {
            Backend be = params.get(i).backend();
            var shape = params.get(i).shape();
            first[i] = Scope.unscoped(() -> be.full(shape, 0));
            second[i] = Scope.unscoped(() -> be.full(shape, 0));
        }
    }

    /** "adam" or "adamax". */
    public abstract String kind();

    /** torch's name of the second state tensor. */
    protected abstract String secondName();

    /** Whether the second moment is Adamax's infinity norm (else Adam's squared gradients). */
    protected abstract boolean infinityNorm();

    /** Updates every parameter that has a gradient. */
    public void step() {
        prepare();
        apply();
    }

    /**
     * Counts a step for every parameter that has a gradient and writes its factors for {@link #apply}. Before the
     * replay of a recorded step, the parameters with a gradient are those the recorded {@code apply} updates, as
     * long as nothing between replays forgets gradients ({@code zeroGrad} belongs inside the recorded step).
     */
    public void prepare() {
        if (factors == null) return;
        double[] f = new double[2 * params.size()];
        for (int i = 0; i < params.size(); i++) {
            if (params.get(i).grad() == null) continue;
            double[] row = config.factors(kind(), ++steps[i]);
            f[2 * i] = row[0];
            f[2 * i + 1] = row[1];
        }
        factors.copyFrom(f);
    }

    /**
     * The updates of the step {@link #prepare} counted (call that first): device work only, so a recorded step may
     * hold it. One backend call for every parameter with a gradient (one launch on a GPU).
     */
    public void apply() {
        int n = 0;
        for (Parameter p : params) if (p.grad() != null) n++;
        if (n == 0) return;
        Tensor[] p = new Tensor[n], g = new Tensor[n], m = new Tensor[n], s = new Tensor[n];
        int[] rows = new int[n];
        for (int i = 0, k = 0; i < params.size(); i++) {
            if (params.get(i).grad() == null) continue;
            p[k] = params.get(i).value();
            g[k] = params.get(i).grad();
            m[k] = first[i];
            s[k] = second[i];
            rows[k++] = i;
        }
        params.get(0).backend().adamSteps(infinityNorm(), p, g, m, s, config, factors, rows);
    }

    public void zeroGrad() { for (Parameter p : params) p.zeroGrad(); }

    public List<Parameter> parameters() { return params; }

    public AdamConfig config() { return config; }

    public double lr() { return config.lr(); }

    public void setLr(double lr) { config = config.withLr(lr); }

    /** The live state tensors in parameter order: "i.exp_avg" and "i." + the second moment's name. */
    public Map<String, Tensor> state() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (int i = 0; i < params.size(); i++) {
            out.put(i + ".exp_avg", first[i]);
            out.put(i + "." + secondName(), second[i]);
        }
        return out;
    }

    /** Steps taken per parameter (a copy). */
    public long[] steps() { return steps.clone(); }

    /** Puts back step counts read by {@link #steps} (a replay that failed after {@link #prepare} counted it). */
    void setSteps(long[] counts) {
        if (counts.length != steps.length) throw new IllegalArgumentException(kind() + ": " + counts.length + " step counts for " + steps.length + " parameters");
        System.arraycopy(counts, 0, steps, 0, steps.length);
    }

    /** Restores state saved from an optimizer of the same kind over parameters of the same shapes. */
    public void loadState(Map<String, Tensor> state, long[] savedSteps, double lr) {
        if (savedSteps.length != params.size())
            throw new IllegalArgumentException(kind() + ": saved state has " + savedSteps.length + " parameters, this optimizer has " + params.size());
        Map<String, Tensor> own = state();
        for (var e : own.entrySet()) {
            Tensor src = state.get(e.getKey());
            if (src == null) throw new IllegalArgumentException(kind() + ": saved state lacks '" + e.getKey() + "' (was it saved by another optimizer kind?)");
            if (!src.shape().equals(e.getValue().shape()))
                throw new IllegalArgumentException(kind() + ": state '" + e.getKey() + "' has shape " + src.shape() + ", expected " + e.getValue().shape());
        }
        for (String k : state.keySet()) if (!own.containsKey(k)) throw new IllegalArgumentException(kind() + ": unexpected saved state '" + k + "'");
        for (long s : savedSteps) if (s < 0) throw new IllegalArgumentException(kind() + ": negative step count " + s + " in saved state");
        own.forEach((k, dst) -> Module.copyValues(state.get(k), dst));
        System.arraycopy(savedSteps, 0, steps, 0, steps.length);
        setLr(lr);
    }

    /** Frees the moment tensors (the parameters belong to their module). */
    @Override public void close() {
        if (closed) return;
        closed = true;
        for (int i = 0; i < params.size(); i++) { first[i].close(); second[i].close(); }
        if (factors != null) factors.close();
    }
}
