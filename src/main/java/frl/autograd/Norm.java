package frl.autograd;

import frl.backend.Backend;
import frl.tensor.Tensor;

import java.util.function.Function;

/** Batch normalisation on Vars (training mode; eval mode is composed from broadcast ops by nn), and weight normalisation as one op. */
public final class Norm {
    private Norm() {}

    /** Normalised output plus the batch statistics (constants) that the layer folds into its running stats. */
    public record Result(Var y, Var mean, Var var) {}

    public static Result batchNorm(Var x, Var gamma, Var beta, double eps) {
        Backend be = x.backend();
        Backend.BatchNormResult r = be.batchNorm(x.value(), gamma.value(), beta.value(), eps);
        return result("batchNorm", r, x, gamma, beta, dy -> be.batchNormBackward(x.value(), gamma.value(), r.mean(), r.var(), eps, dy));
    }

    /** relu(batchNorm(x)) as one op (Backend#batchNormRelu): the values and gradients of the two, bit for bit on the CPU. */
    public static Result batchNormRelu(Var x, Var gamma, Var beta, double eps) {
        Backend be = x.backend();
        Backend.BatchNormResult r = be.batchNormRelu(x.value(), gamma.value(), beta.value(), eps);
        return result("batchNormRelu", r, x, gamma, beta,
                dy -> be.batchNormReluBackward(x.value(), gamma.value(), r.mean(), r.var(), eps, r.y(), dy));
    }

    /** The op's output Var, whose backward hands x, gamma and beta their gradients, and its statistics as constants. */
    private static Result result(String op, Backend.BatchNormResult r, Var x, Var gamma, Var beta,
                                 Function<Tensor, Backend.BatchNormGrads> grads) {
        Var y = Var.result(r.y(), op, dy -> {
            Backend.BatchNormGrads g = grads.apply(dy);
            x.accumulate(g.dx());
            gamma.accumulate(g.dgamma());
            beta.accumulate(g.dbeta());
        }, x, gamma, beta);
        return new Result(y, Var.constant(r.mean()), Var.constant(r.var()));
    }

    /** w = g·v/‖v‖ per row of v (Backend#weightNorm) as one op each way; nn's WeightNorm takes it where the backend fuses it. */
    public static Var weightNorm(Var v, Var g) {
        Backend be = v.backend();
        return Var.result(be.weightNorm(v.value(), g.value()), "weightNorm", dw -> {
            Tensor[] d = be.weightNormBackward(v.value(), g.value(), dw);
            v.accumulate(d[0]);
            g.accumulate(d[1]);
        }, v, g);
    }
}
