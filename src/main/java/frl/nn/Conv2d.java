package frl.nn;

import frl.autograd.Linear;
import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.ConvGeometry;
import frl.backend.Rng;
import frl.tensor.Shape;

/** torch.nn.Conv2d with a square kernel: weight [out, in, k, k], bias [out]. */
public final class Conv2d extends Layer {
    public final Parameter weight;
    public final Parameter bias;
    private final ConvGeometry geometry;

    public Conv2d(Backend be, Rng rng, int in, int out, int kernel, int stride, int padding, boolean bias) {
        geometry = ConvGeometry.of(stride, padding);
        long fanIn = (long) in * kernel * kernel;
        weight = registerParameter("weight", Init.defaultWeight(be, Shape.of(out, in, kernel, kernel), fanIn, rng));
        this.bias = bias ? registerParameter("bias", Init.defaultBias(be, out, fanIn, rng)) : null;
    }

    @Override public Var forward(Var x) { return Linear.conv2d(x, weight, bias, geometry); }
}
