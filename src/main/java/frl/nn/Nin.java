package frl.nn;

import frl.autograd.Linear;
import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.ConvGeometry;
import frl.backend.Rng;
import frl.tensor.Shape;

/** PixelCNN++'s nin ("network in network"): a weight-normalised linear map of each pixel's channels, with bias (a 1×1 convolution). */
public final class Nin extends Layer implements Biased {
    private static final ConvGeometry ONE_BY_ONE = ConvGeometry.of(1, 0);
    private final Parameter v, g, bias;

    public Nin(Backend be, Rng rng, int in, int out) {
        Parameter[] vg = WeightNorm.register(this, be, Shape.of(out, in, 1, 1), in, rng);
        v = vg[0];
        g = vg[1];
        bias = registerParameter("bias", Init.defaultBias(be, out, in, rng));
    }

    @Override public Var forward(Var x) { return map(x, bias); }

    @Override public Var unbiased(Var x) { return map(x, null); }

    private Var map(Var x, Var b) { return Linear.conv2d(x, WeightNorm.weight(v, g), b, ONE_BY_ONE); }

    @Override public Parameter bias() { return bias; }
}
