package frl.autograd;

import frl.backend.Backend;

/** Batch normalisation on Vars (training mode; eval mode is composed from broadcast ops by nn). */
public final class Norm {
    private Norm() {}

    /** Normalised output plus the batch statistics (constants) that the layer folds into its running stats. */
    public record Result(Var y, Var mean, Var var) {}

    public static Result batchNorm(Var x, Var gamma, Var beta, double eps) {
        Backend be = x.backend();
        Backend.BatchNormResult r = be.batchNorm(x.value(), gamma.value(), beta.value(), eps);
        Var y = Var.result(r.y(), "batchNorm", dy -> {
            Backend.BatchNormGrads g = be.batchNormBackward(x.value(), gamma.value(), r.mean(), r.var(), eps, dy);
            x.accumulate(g.dx());
            gamma.accumulate(g.dgamma());
            beta.accumulate(g.dbeta());
        }, x, gamma, beta);
        return new Result(y, Var.constant(r.mean()), Var.constant(r.var()));
    }
}
