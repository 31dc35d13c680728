package frl.autograd;

import frl.backend.Backend;
import frl.backend.BinaryOp;
import frl.backend.Shapes;
import frl.backend.UnaryOp;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.util.Objects;
import java.util.stream.Stream;

/** Elementwise ops on Vars: unary functions, broadcasting binary arithmetic, affine scaling. */
public final class Pointwise {
    private Pointwise() {}

    public static Var unary(UnaryOp op, Var x, double a, double b) {
        Backend be = x.backend();
        Tensor y = be.unary(op, x.value(), a, b);
        return Var.result(y, op.name().toLowerCase(), dy -> x.accumulate(be.unaryBackward(op, x.value(), y, dy, a, b)), x);
    }

    public static Var relu(Var x) { return unary(UnaryOp.RELU, x, 0, 0); }

    public static Var elu(Var x) { return unary(UnaryOp.ELU, x, 1, 0); }

    public static Var sigmoid(Var x) { return unary(UnaryOp.SIGMOID, x, 0, 0); }

    public static Var tanh(Var x) { return unary(UnaryOp.TANH, x, 0, 0); }

    public static Var exp(Var x) { return unary(UnaryOp.EXP, x, 0, 0); }

    public static Var log(Var x) { return unary(UnaryOp.LOG, x, 0, 0); }

    public static Var softplus(Var x) { return unary(UnaryOp.SOFTPLUS, x, 0, 0); }

    public static Var square(Var x) { return unary(UnaryOp.SQUARE, x, 0, 0); }

    public static Var sqrt(Var x) { return unary(UnaryOp.SQRT, x, 0, 0); }

    public static Var neg(Var x) { return unary(UnaryOp.NEG, x, 0, 0); }

    public static Var clamp(Var x, double lo, double hi) { return unary(UnaryOp.CLAMP, x, lo, hi); }

    public static Var binary(BinaryOp op, Var a, Var b) {
        Backend be = a.backend();
        Tensor out = be.binary(op, a.value(), b.value());
        return Var.result(out, op.name().toLowerCase(), dy -> {
            if (a.requiresGrad()) a.accumulate(gradient(be, op, a, b, out, dy, true));
            if (b.requiresGrad()) b.accumulate(gradient(be, op, a, b, out, dy, false));
        }, a, b);
    }

    /**
     * dy·∂(a op b)/∂a (or ∂b) summed down to that operand's shape. A sum's gradient is dy itself, passed on uncopied (a
     * gradient is never written in place: Var#accumulate adds into a new tensor, a Parameter into its own buffer), which
     * saves a pass over every bias add's output.
     */
    private static Tensor gradient(Backend be, BinaryOp op, Var a, Var b, Tensor out, Tensor dy, boolean wrtA) {
        Shape shape = (wrtA ? a : b).shape();
        if (op == BinaryOp.ADD || op == BinaryOp.SUB && wrtA) return reducedTo(be, dy, shape);
        return reducedTo(be, be.binaryBackward(op, a.value(), b.value(), out, dy, wrtA), shape);
    }

    /** A broadcast operand's gradient: g summed down to its shape, or g itself where nothing is broadcast (sumTo would copy it). */
    private static Tensor reducedTo(Backend be, Tensor g, Shape shape) {
        return g.numel() == shape.numel() ? g.reshape(shape) : be.sumTo(g, shape);
    }

    public static Var add(Var a, Var b) { return binary(BinaryOp.ADD, a, b); }

    public static Var sub(Var a, Var b) { return binary(BinaryOp.SUB, a, b); }

    public static Var mul(Var a, Var b) { return binary(BinaryOp.MUL, a, b); }

    public static Var div(Var a, Var b) { return binary(BinaryOp.DIV, a, b); }

    /** relu(z + bias), bias [C] along axis 1 of z: one op forward and one back (Backend#biasRelu), where the two layers take five passes. */
    public static Var biasRelu(Var z, Var bias) {
        Backend be = z.backend();
        Tensor y = be.biasRelu(z.value(), bias.value());
        return Var.result(y, "biasRelu", dy -> {
            Tensor[] g = be.biasReluBackward(y, dy);
            z.accumulate(g[0]);
            bias.accumulate(g[1].reshape(bias.shape()));
        }, z, bias);
    }

    /** elu([x, −x]) along axis 1 (PixelCNN++'s concat-ELU): one op each way (Backend#concatElu), 2C channels kept where its three ops kept 5C. */
    public static Var concatElu(Var x) {
        Backend be = x.backend();
        Tensor y = be.concatElu(x.value());
        return Var.result(y, "concatElu", dy -> x.accumulate(be.concatEluBackward(x.value(), y, dy)), x);
    }

    /** a·sigmoid(b), [a, b] = h's halves along axis 1 (PixelCNN++'s gate): one op each way (Backend#gate), no copies of the halves. */
    public static Var gate(Var h) { return gate(h, null, null); }

    /**
     * residual + a·sigmoid(b), [a, b] = h + bias along axis 1 (PixelCNN++'s gated block end: h is conv_out's output
     * before its bias [2C]; bias or residual null for none): one op each way (Backend#gate), where the bias add, the
     * gate and the residual add wrote three tensors. Backward: dy to the residual, gateBackward's dh to h, and dh
     * summed per channel to the bias, as the three ops' backwards give them.
     */
    public static Var gate(Var h, Var bias, Var residual) {
        Backend be = h.backend();
        Tensor y = be.gate(h.value(), bias == null ? null : bias.value(), residual == null ? null : residual.value());
        // parents in the order the composed ops reach them (residual + gate(h + bias)), so backward visits the tape as it did
        Var[] inputs = Stream.of(residual, h, bias).filter(Objects::nonNull).toArray(Var[]::new);
        return Var.result(y, "gate", dy -> {
            if (residual != null) residual.accumulate(dy);
            boolean biasGrad = bias != null && bias.requiresGrad();
            if (!h.requiresGrad() && !biasGrad) return;
            Tensor dh = be.gateBackward(h.value(), bias == null ? null : bias.value(), dy);
            if (biasGrad) bias.accumulate(channelSums(be, dh, bias));
            h.accumulate(dh);
        }, inputs);
    }

    /**
     * (a + biasA) + (b + biasB), biases [C] along axis 1 of a and b (PixelCNN++'s conv_input and nin_skip before their
     * biases): one op (Backend#biasedSum) where three adds wrote three tensors. Backward: dy to a and b, dy summed per
     * channel (once) to each bias. Its backward reads neither a nor b.
     */
    public static Var biasedSum(Var a, Var biasA, Var b, Var biasB) {
        Backend be = a.backend();
        return Var.result(be.biasedSum(a.value(), biasA.value(), b.value(), biasB.value()), "biasedSum", dy -> {
            Tensor sums = biasA.requiresGrad() || biasB.requiresGrad() ? channelSums(be, dy, biasA) : null;   // one sum serves both biases
            if (biasA.requiresGrad()) biasA.accumulate(sums);
            if (biasB.requiresGrad()) biasB.accumulate(sums);
            a.accumulate(dy);
            b.accumulate(dy);
        }, a, biasA, b, biasB);
    }

    /** g [N, C, ...] summed per channel, in bias's shape [C]: what an add of bias as [1, C, 1, ...] passes it. */
    private static Tensor channelSums(Backend be, Tensor g, Var bias) {
        return be.sumTo(g, Shapes.channelBias("bias", g.shape(), bias.value())).reshape(bias.shape());
    }

    /** Glow's coupling map (x_b + t)·sigmoid(r + 2), [t, r] = h's halves along axis 1: one op each way (Backend#coupling). */
    public static Var coupling(Var xb, Var h) {
        Backend be = xb.backend();
        return Var.result(be.coupling(xb.value(), h.value()), "coupling", dy -> {
            Tensor[] g = be.couplingBackward(xb.value(), h.value(), dy);
            xb.accumulate(g[0]);
            h.accumulate(g[1]);
        }, xb, h);
    }

    /** Its log-determinant Σ log sigmoid(r + 2) per image [N]: one op each way (Backend#couplingLogdet). */
    public static Var couplingLogdet(Var h) {
        Backend be = h.backend();
        return Var.result(be.couplingLogdet(h.value()), "couplingLogdet", dl -> h.accumulate(be.couplingLogdetBackward(h.value(), dl)), h);
    }

    /** alpha · x + beta. */
    public static Var affine(Var x, double alpha, double beta) {
        Backend be = x.backend();
        return Var.result(be.affine(x.value(), alpha, beta), "affine", dy -> x.accumulate(be.affine(dy, alpha, 0)), x);
    }

    public static Var scale(Var x, double alpha) { return affine(x, alpha, 0); }
}
