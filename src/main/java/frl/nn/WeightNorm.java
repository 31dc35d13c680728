package frl.nn;

import frl.autograd.Norm;
import frl.autograd.Pointwise;
import frl.autograd.Reduce;
import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Rng;
import frl.backend.Shapes;
import frl.tensor.Scope;
import frl.tensor.Shape;

/**
 * Weight normalisation (Salimans & Kingma 2016) as torch.nn.utils.weight_norm with dim 0: w = g · v/‖v‖, the norm
 * over every axis but the first. A layer registers {@code weight_v} and {@code weight_g} (torch's names) and
 * calls {@link #weight} in its forward.
 */
public final class WeightNorm {
    private WeightNorm() {}

    /** w from v [d0, ...] and g [d0, 1, ...]: one op where the backend fuses it (a GPU), else its ops (the CPU's bits). */
    public static Var weight(Var v, Var g) {
        return v.backend().fusesWeightNorm() ? Norm.weightNorm(v, g) : Pointwise.mul(v, Pointwise.div(g, norm(v)));
    }

    /** ‖v‖ over every axis but the first, shape [d0, 1, ...]. */
    static Var norm(Var v) {
        return Pointwise.sqrt(Reduce.sumTo(Pointwise.square(v), Shapes.along(v.shape(), 0)));
    }

    /** Registers v, drawn as PyTorch's default conv weight (U(±1/√fan_in)), and g = ‖v‖, so that w starts as v. */
    static Parameter[] register(Module m, Backend be, Shape shape, long fanIn, Rng rng) {
        Parameter v = m.registerParameter("weight_v", Init.defaultWeight(be, shape, fanIn, rng));
        try (Var.NoGrad _ = Var.noGrad(); Scope _ = Scope.open()) {   // the norm's intermediates freed; g taken out of the scope
            return new Parameter[] {v, m.registerParameter("weight_g", Parameter.of(norm(Var.constant(v.value())).value()))};
        }
    }
}
