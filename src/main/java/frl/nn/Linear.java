package frl.nn;

import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Rng;
import frl.tensor.Shape;

/** torch.nn.Linear: y = x·Wᵀ + b with W [out, in]. */
public final class Linear extends Layer {
    public final Parameter weight;
    public final Parameter bias;

    public Linear(Backend be, Rng rng, int in, int out, boolean bias) {
        weight = registerParameter("weight", Init.defaultWeight(be, Shape.of(out, in), in, rng));
        this.bias = bias ? registerParameter("bias", Init.defaultBias(be, out, in, rng)) : null;
    }

    @Override public Var forward(Var x) { return frl.autograd.Linear.linear(x, weight, bias); }
}
