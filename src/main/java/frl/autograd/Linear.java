package frl.autograd;

import frl.backend.Backend;
import frl.backend.ConvGeometry;
import frl.backend.Shift;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/** Matrix products and convolutions on Vars. A null bias means none. */
public final class Linear {
    private Linear() {}

    public static Var matmul(Var a, boolean transA, Var b, boolean transB) {
        Backend be = a.backend();
        return Var.result(be.matmul(a.value(), transA, b.value(), transB), "matmul", dy -> {
            // C = op(A)·op(B): dA = dC·op(B)ᵀ (transposed back if A was), dB likewise.
            if (a.requiresGrad()) a.accumulate(transA ? be.matmul(b.value(), transB, dy, true) : be.matmul(dy, false, b.value(), !transB));
            if (b.requiresGrad()) b.accumulate(transB ? be.matmul(dy, true, a.value(), transA) : be.matmul(a.value(), !transA, dy, false));
        }, a, b);
    }

    /** x [N,in] · wᵀ [in,out] + b [out], as torch.nn.Linear. */
    public static Var linear(Var x, Var w, Var bias) {
        Var y = matmul(x, false, w, true);
        if (bias == null) return y;
        Var out = Pointwise.add(y, bias);
        y.freeValue();   // no backward reads a sum's operands, nor the product's own output
        return out;
    }

    /** Adds a per-channel bias [C] to [N,C,H,W]. */
    public static Var addChannelBias(Var y, Var bias) {
        return Pointwise.add(y, Layout.reshape(bias, 1, (int) bias.value().numel(), 1, 1));
    }

    /**
     * A convolution's output plus its bias, if any; the output without the bias is freed at once: no backward reads a
     * sum's operands, nor a convolution's own output. Training keeps one activation-sized tensor fewer per biased conv.
     */
    private static Var withChannelBias(Var y, Var bias) {
        if (bias == null) return y;
        Var out = addChannelBias(y, bias);
        y.freeValue();
        return out;
    }

    public static Var conv2d(Var x, Var w, Var bias, ConvGeometry g) {
        Backend be = x.backend();
        Var y = Var.result(be.conv2d(x.value(), w.value(), g), "conv2d", dy -> {
            if (x.requiresGrad()) x.accumulate(be.conv2dBackwardInput(dy, w.value(), x.shape(), g));
            if (w.requiresGrad()) w.accumulate(be.conv2dBackwardWeight(x.value(), dy, w.shape(), g));
        }, x, w);
        return withChannelBias(y, bias);
    }

    /**
     * relu(conv2d(x, w) + bias), bias [K], as one node (Backend#conv2dBiasRelu): the convolution's output is never
     * kept, where a conv, then Pointwise#biasRelu, wrote it and read it again. Backward: biasReluBackward's dz, then
     * the convolution's gradients of it.
     */
    public static Var conv2dBiasRelu(Var x, Var w, Var bias, ConvGeometry g) {
        Backend be = x.backend();
        Tensor y = be.conv2dBiasRelu(x.value(), w.value(), bias.value(), g);
        return Var.result(y, "conv2dBiasRelu", dy -> {
            Tensor[] dz = be.biasReluBackward(y, dy);
            bias.accumulate(dz[1].reshape(bias.shape()));
            if (x.requiresGrad()) x.accumulate(be.conv2dBackwardInput(dz[0], w.value(), x.shape(), g));
            if (w.requiresGrad()) w.accumulate(be.conv2dBackwardWeight(x.value(), dz[0], w.shape(), g));
            dz[0].close();   // no Var holds it
        }, x, w, bias);
    }

    /**
     * Glow's actnorm then 1×1 convolution as one node (Backend#actNormConv1x1): conv2d((x + bias)·exp(logs), w), bias and
     * logs [1,C,1,1], w [K,C,1,1]; its backward one op too (Backend#actNormConv1x1Backward).
     */
    public static Var actNormConv1x1(Var x, Var bias, Var logs, Var w) {
        Backend be = x.backend();
        return Var.result(be.actNormConv1x1(x.value(), bias.value(), logs.value(), w.value()), "actNormConv1x1", dy -> {
            Backend.ActNormConvGrads g = be.actNormConv1x1Backward(x.value(), bias.value(), logs.value(), w.value(), dy);
            if (x.requiresGrad()) x.accumulate(g.dx());
            if (bias.requiresGrad()) bias.accumulate(g.dbias());
            if (logs.requiresGrad()) logs.accumulate(g.dlogs());
            if (w.requiresGrad()) w.accumulate(g.dw());
        }, x, bias, logs, w);
    }

    /**
     * PixelCNN++'s down_shifted_conv2d ({@link Shift#DOWN}, typically 2×3) or down_right_shifted_conv2d
     * ({@link Shift#DOWN_RIGHT}, typically 2×2): a causal stride-1 convolution whose output is as large as x.
     */
    public static Var shiftedConv2d(Var x, Var w, Var bias, Shift shift) {
        Backend be = x.backend();
        Var y = Var.result(be.shiftedConv2d(x.value(), w.value(), shift), "shiftedConv2d", dy -> {
            if (x.requiresGrad()) x.accumulate(be.shiftedConv2dBackwardInput(dy, w.value(), x.shape(), shift));
            if (w.requiresGrad()) w.accumulate(be.shiftedConv2dBackwardWeight(x.value(), dy, w.shape(), shift));
        }, x, w);
        return withChannelBias(y, bias);
    }

    /**
     * shiftedConv2d(concatElu(x), w, bias, shift): off the tape (scoring) one backend op, which a backend may run without
     * writing the concat-ELU (Backend#shiftedConv2dOfConcatElu); on it, the two ops as before, whose backwards read it.
     */
    public static Var shiftedConv2dOfConcatElu(Var x, Var w, Var bias, Shift shift) {
        if (Var.recorded(x, w) || bias != null && Var.recorded(bias)) return shiftedConv2d(Pointwise.concatElu(x), w, bias, shift);
        return withChannelBias(Var.constant(x.backend().shiftedConv2dOfConcatElu(x.value(), w.value(), shift)), bias);
    }

    /**
     * Transposed convolution as torch.nn.ConvTranspose2d: w is [Cin, Cout, kh, kw]; the output is
     * (H−1)·stride − 2·pad + kh + outputPadding high. It is the input-gradient of a conv2d, so its own
     * gradients are a conv2d (for x) and a weight-gradient with x and dy swapped (for w).
     */
    public static Var convTranspose2d(Var x, Var w, Var bias, ConvGeometry g, int outPadH, int outPadW) {
        Backend be = x.backend();
        Shape out = convTransposeOutput(x.shape(), w.shape(), g, outPadH, outPadW);
        Var y = Var.result(be.conv2dBackwardInput(x.value(), w.value(), out, g), "convTranspose2d", dy -> {
            if (x.requiresGrad()) x.accumulate(be.conv2d(dy, w.value(), g));
            if (w.requiresGrad()) w.accumulate(be.conv2dBackwardWeight(dy, x.value(), w.shape(), g));
        }, x, w);
        return withChannelBias(y, bias);
    }

    /**
     * convTranspose2d without output padding, its output in the sub-pixel phases of g ({@link Backend#toPhases}):
     * [sh·sw, Cout, N, Q]. A loss that only sums over pixels (the VAE's cross-entropy) reads it as it is, so a
     * strided transposed conv never writes its output as NCHW, nor reads its gradient back from NCHW.
     */
    public static Var convTranspose2dToPhases(Var x, Var w, Var bias, ConvGeometry g) {
        Backend be = x.backend();
        Shape out = convTransposeOutput(x.shape(), w.shape(), g, 0, 0);
        Var y = Var.result(be.conv2dBackwardInputToPhases(x.value(), w.value(), out, g), "convTranspose2dToPhases", dy -> {
            if (x.requiresGrad() && w.requiresGrad()) { // together: a backend may share work between them
                Tensor[] grads = be.conv2dFromPhasesWithWeightGrad(dy, w.value(), x.value(), out, g);
                x.accumulate(grads[0]);
                w.accumulate(grads[1]);
            } else if (x.requiresGrad()) {
                x.accumulate(be.conv2dFromPhases(dy, w.value(), out, g));
            } else if (w.requiresGrad()) {
                w.accumulate(be.conv2dBackwardWeightFromPhases(dy, x.value(), out, w.shape(), g));
            }
        }, x, w);
        return withChannelBias(y, bias); // channels are axis 1 in phases too
    }

    /** [N, Cout, H, W] of a transposed conv of x [N,C,h,w] by w [C,Cout,kh,kw], checked. */
    static Shape convTransposeOutput(Shape xs, Shape ws, ConvGeometry g, int outPadH, int outPadW) {
        if (xs.rank() != 4 || ws.rank() != 4 || xs.dim(1) != ws.dim(0))
            throw new IllegalArgumentException("convTranspose2d: x " + xs + " and w " + ws + " (expected w [" + (xs.rank() == 4 ? xs.dim(1) : "C") + ",Cout,kh,kw])");
        if (outPadH < 0 || outPadW < 0 || outPadH >= g.strideH() || outPadW >= g.strideW())
            throw new IllegalArgumentException("convTranspose2d: output padding must be smaller than the stride");
        int h = (xs.dim(2) - 1) * g.strideH() - 2 * g.padH() + ws.dim(2) + outPadH;
        int wd = (xs.dim(3) - 1) * g.strideW() - 2 * g.padW() + ws.dim(3) + outPadW;
        return Shape.of(xs.dim(0), ws.dim(1), h, wd);
    }
}
