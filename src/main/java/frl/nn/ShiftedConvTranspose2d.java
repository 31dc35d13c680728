package frl.nn;

import frl.autograd.Layout;
import frl.autograd.Linear;
import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.ConvGeometry;
import frl.backend.Rng;
import frl.backend.Shift;
import frl.tensor.Shape;

/**
 * PixelCNN++'s down_shifted_deconv2d ({@link Shift#DOWN}, 2×3) and down_right_shifted_deconv2d ({@link Shift#DOWN_RIGHT},
 * 2×2): a weight-normalised stride-2 transposed convolution (output padding 1, as the reference) cropped back to
 * twice the input's size so that no output pixel depends on an input below it (or right of it). The weight is
 * [in, out, kh, kw] and its norm is taken per input channel, as torch's weight_norm of a ConvTranspose2d does.
 */
public final class ShiftedConvTranspose2d extends Layer {
    private static final ConvGeometry STRIDE_2 = ConvGeometry.of(2, 0);
    private final Parameter v, g, bias;
    private final Shift shift;
    private final int kh, kw;

    public ShiftedConvTranspose2d(Backend be, Rng rng, int in, int out, int kh, int kw, Shift shift) {
        this.shift = shift;
        this.kh = kh;
        this.kw = kw;
        long fanIn = (long) out * kh * kw;   // torch's ConvTranspose2d init takes fan_in from weight dim 1
        Parameter[] vg = WeightNorm.register(this, be, Shape.of(in, out, kh, kw), fanIn, rng);
        v = vg[0];
        g = vg[1];
        bias = registerParameter("bias", Init.defaultBias(be, out, fanIn, rng));
    }

    @Override public Var forward(Var x) {
        int h = x.shape().dim(2), w = x.shape().dim(3);
        Var y = Linear.convTranspose2d(x, WeightNorm.weight(v, g), bias, STRIDE_2, 1, 1);   // [N, out, 2h + kh − 1, 2w + kw − 1]
        y = Layout.narrow(y, 2, 0, 2 * h);
        return Layout.narrow(y, 3, shift == Shift.DOWN ? (kw - 1) / 2 : 0, 2 * w);   // centred, or flush left
    }
}
