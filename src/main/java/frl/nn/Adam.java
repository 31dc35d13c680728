package frl.nn;

import frl.backend.Backend.AdamConfig;

import java.util.List;

/** torch.optim.Adam (weight decay added to the gradient, not decoupled). */
public final class Adam extends Optimizer {
    public Adam(List<Parameter> params, double lr) { this(params, new AdamConfig(lr, 0.9, 0.999, 1e-8, 0)); }

    public Adam(List<Parameter> params, AdamConfig config) { super(params, config); }

    @Override public String kind() { return "adam"; }

    @Override protected String secondName() { return "exp_avg_sq"; }

    @Override protected boolean infinityNorm() { return false; }
}
