package frl.nn;

import frl.backend.Backend.AdamConfig;

import java.util.List;

/** torch.optim.Adamax (infinity-norm second moment; weight decay added to the gradient). */
public final class Adamax extends Optimizer {
    public Adamax(List<Parameter> params, double lr) { this(params, new AdamConfig(lr, 0.9, 0.999, 1e-8, 0)); }

    public Adamax(List<Parameter> params, AdamConfig config) { super(params, config); }

    @Override public String kind() { return "adamax"; }

    @Override protected String secondName() { return "exp_inf"; }

    @Override protected boolean infinityNorm() { return true; }
}
