package frl.autograd;

import frl.backend.Backend;
import frl.backend.BinaryOp;
import frl.backend.UnaryOp;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/** Sums, means, broadcasts and log-sum-exp on Vars. */
public final class Reduce {
    private Reduce() {}

    /** Sums x down to a shape it broadcasts from. */
    public static Var sumTo(Var x, Shape shape) {
        Backend be = x.backend();
        return Var.result(be.sumTo(x.value(), shape), "sumTo", dy -> x.accumulate(be.broadcastTo(dy, x.shape())), x);
    }

    public static Var broadcastTo(Var x, Shape shape) {
        Backend be = x.backend();
        return Var.result(be.broadcastTo(x.value(), shape), "broadcastTo", dy -> x.accumulate(be.sumTo(dy, x.shape())), x);
    }

    /** Sum over the given axes, kept with size 1. */
    public static Var sum(Var x, int... axes) {
        Shape s = x.shape();
        for (int a : axes) s = s.with(a, 1);
        return sumTo(x, s);
    }

    /** Sum of all elements, shape [1]. */
    public static Var sumAll(Var x) {
        return sumTo(x, Shape.of(1));
    }

    /** Mean over the given axes, kept with size 1. */
    public static Var mean(Var x, int... axes) {
        long n = 1;
        for (int a : axes) n *= x.shape().dim(a);
        return Pointwise.scale(sum(x, axes), 1.0 / n);
    }

    public static Var meanAll(Var x) { return Pointwise.scale(sumAll(x), 1.0 / x.value().numel()); }

    /** log Σ exp(x) over one axis, kept with size 1; gradient dy · softmax(x). */
    public static Var logSumExp(Var x, int axis) {
        Backend be = x.backend();
        Tensor out = be.logSumExp(x.value(), axis);
        return Var.result(out, "logSumExp", dy -> {
            Tensor softmax = be.unary(UnaryOp.EXP, be.binary(BinaryOp.SUB, x.value(), out), 0, 0);
            x.accumulate(be.binary(BinaryOp.MUL, softmax, dy));
        }, x);
    }
}
