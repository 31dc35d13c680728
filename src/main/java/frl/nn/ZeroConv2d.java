package frl.nn;

import frl.autograd.Linear;
import frl.autograd.Pointwise;
import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.ConvGeometry;
import frl.tensor.Shape;

/**
 * Glow's Conv2dZeros: a 3×3 convolution (padding 1) with bias whose output is scaled per channel by exp(3·logs).
 * Weight, bias and logs start at zero, so a coupling starts as the identity and a prior as N(0, 1); the factor 3
 * lets the scale move faster than the other parameters.
 */
public final class ZeroConv2d extends Layer {
    private static final double LOGSCALE_FACTOR = 3;
    private static final ConvGeometry SAME = ConvGeometry.of(1, 1);
    public final Parameter weight, bias, logs;

    public ZeroConv2d(Backend be, int in, int out) {
        weight = registerParameter("weight", Parameter.full(be, Shape.of(out, in, 3, 3), 0));
        bias = registerParameter("bias", Parameter.full(be, Shape.of(out), 0));
        logs = registerParameter("logs", Parameter.full(be, Shape.of(1, out, 1, 1), 0));
    }

    @Override public Var forward(Var x) {
        return Pointwise.mul(Linear.conv2d(x, weight, bias, SAME), Pointwise.exp(Pointwise.scale(logs, LOGSCALE_FACTOR)));
    }
}
