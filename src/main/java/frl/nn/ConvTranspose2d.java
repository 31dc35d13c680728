package frl.nn;

import frl.autograd.Linear;
import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.ConvGeometry;
import frl.backend.Rng;
import frl.tensor.Shape;

/**
 * torch.nn.ConvTranspose2d with a square kernel: weight [in, out, k, k], bias [out]; the output is
 * (H−1)·stride − 2·padding + k + outputPadding high. PyTorch computes fan_in from weight dim 1, so the
 * default init uses out·k² here.
 */
public final class ConvTranspose2d extends Layer {
    public final Parameter weight;
    public final Parameter bias;
    private final ConvGeometry geometry;
    private final int outputPadding;

    public ConvTranspose2d(Backend be, Rng rng, int in, int out, int kernel, int stride, int padding, int outputPadding, boolean bias) {
        geometry = ConvGeometry.of(stride, padding);
        if (outputPadding < 0 || outputPadding >= stride)
            throw new IllegalArgumentException("ConvTranspose2d: output padding " + outputPadding + " must be in [0, stride " + stride + ")");
        this.outputPadding = outputPadding;
        long fanIn = (long) out * kernel * kernel;
        weight = registerParameter("weight", Init.defaultWeight(be, Shape.of(in, out, kernel, kernel), fanIn, rng));
        this.bias = bias ? registerParameter("bias", Init.defaultBias(be, out, fanIn, rng)) : null;
    }

    @Override public Var forward(Var x) { return Linear.convTranspose2d(x, weight, bias, geometry, outputPadding, outputPadding); }

    public ConvGeometry geometry() { return geometry; }
}
