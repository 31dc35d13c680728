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
 * PixelCNN++'s down_shifted_conv2d ({@link Shift#DOWN}) and down_right_shifted_conv2d ({@link Shift#DOWN_RIGHT}),
 * weight-normalised, with bias: zero padding above (and left/right or left) so that an output pixel sees no row
 * below it (and no column right of it). Stride 1 keeps the size (the backend's shifted convolution); stride 2
 * halves it (the padding, then a strided convolution). With {@code shiftOutput} the result moves one row down
 * (DOWN) or one column right (DOWN_RIGHT), so that a pixel no longer sees itself.
 */
public final class ShiftedConv2d extends Layer implements Biased {
    private final Parameter v, g, bias;
    private final Shift shift;
    private final int stride, kh, kw;
    private final boolean shiftOutput;

    public ShiftedConv2d(Backend be, Rng rng, int in, int out, int kh, int kw, Shift shift, int stride, boolean shiftOutput) {
        if (stride != 1 && stride != 2) throw new IllegalArgumentException("ShiftedConv2d: stride 1 or 2, got " + stride);
        this.shift = shift;
        this.stride = stride;
        this.kh = kh;
        this.kw = kw;
        this.shiftOutput = shiftOutput;
        long fanIn = (long) in * kh * kw;
        Parameter[] vg = WeightNorm.register(this, be, Shape.of(out, in, kh, kw), fanIn, rng);
        v = vg[0];
        g = vg[1];
        bias = registerParameter("bias", Init.defaultBias(be, out, fanIn, rng));
    }

    @Override public Var forward(Var x) {
        Var y = convolve(x, bias);
        if (!shiftOutput) return y;
        return shift == Shift.DOWN ? Layout.downShift(y) : Layout.rightShift(y);
    }

    /** The convolution before its bias; not for a layer that shifts its output (the shift moves the bias with it). */
    @Override public Var unbiased(Var x) {
        if (shiftOutput) throw new IllegalStateException("ShiftedConv2d: a layer that shifts its output has no output before its bias to give");
        return convolve(x, null);
    }

    @Override public Parameter bias() { return bias; }

    /** forward(concatElu(x)), the concat-ELU left to the backend off the tape (Linear#shiftedConv2dOfConcatElu). */
    public Var forwardOfConcatElu(Var x) { return shifted(x, bias); }

    /** unbiased(concatElu(x)), likewise. */
    public Var unbiasedOfConcatElu(Var x) { return shifted(x, null); }

    /** The stride-1 convolution of concatElu(x) with bias b (or none), for a layer that does not shift its output. */
    private Var shifted(Var x, Var b) {
        if (stride != 1 || shiftOutput) throw new IllegalStateException("ShiftedConv2d: the concat-ELU of x is read directly by stride-1 layers that do not shift their output");
        return Linear.shiftedConv2dOfConcatElu(x, WeightNorm.weight(v, g), b, shift);
    }

    private Var convolve(Var x, Var b) {
        Var w = WeightNorm.weight(v, g);
        return stride == 1 ? Linear.shiftedConv2d(x, w, b, shift)
                : Linear.conv2d(Layout.pad2d(x, shift.top(kh), 0, shift.left(kw), shift.right(kw)), w, b, ConvGeometry.of(2, 0));
    }
}
