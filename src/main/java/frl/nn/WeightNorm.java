package frl.nn;

import frl.autograd.Pointwise;
import frl.autograd.Reduce;
import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Rng;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/**
 * Weight normalisation (Salimans & Kingma 2016) as torch.nn.utils.weight_norm with dim 0: w = g · v/‖v‖, the norm
 * over every axis but the first. A layer registers {@code weight_v} and {@code weight_g} (torch's names) and
 * calls {@link #weight} in its forward.
 */
public final class WeightNorm {
    private WeightNorm() {}

    /** w from v [d0, ...] and g [d0, 1, ...]. */
    public static Var weight(Var v, Var g) {
        Shape s = v.shape();
        int[] perRow = new int[s.rank()];
        java.util.Arrays.fill(perRow, 1);
        perRow[0] = s.dim(0);
        Var norm = Pointwise.sqrt(Reduce.sumTo(Pointwise.square(v), Shape.of(perRow)));
        return Pointwise.mul(v, Pointwise.div(g, norm));
    }

    /** Registers v, drawn as PyTorch's default conv weight (U(±1/√fan_in)), and g = ‖v‖, so that w starts as v. */
    static Parameter[] register(Module m, Backend be, Shape shape, long fanIn, Rng rng) {
        Parameter v = m.registerParameter("weight_v", Init.defaultWeight(be, shape, fanIn, rng));
        int[] perRow = new int[shape.rank()];
        java.util.Arrays.fill(perRow, 1);
        perRow[0] = shape.dim(0);
        Tensor norm = Scope.unscoped(() -> be.unary(frl.backend.UnaryOp.SQRT, be.sumTo(be.unary(frl.backend.UnaryOp.SQUARE, v.value(), 0, 0), Shape.of(perRow)), 0, 0));
        Parameter g = m.registerParameter("weight_g", Parameter.of(norm));
        return new Parameter[] {v, g};
    }
}
