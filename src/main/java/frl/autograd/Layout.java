package frl.autograd;

import frl.backend.Backend;
import frl.backend.ConvGeometry;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/** Reshape, concat/split, pad/crop, causal shifts and squeeze on Vars. */
public final class Layout {
    private Layout() {}

    /** A view of the same data with another shape. */
    public static Var reshape(Var x, int... dims) {
        return Var.result(x.value().reshape(dims), "reshape", dy -> x.accumulate(dy.reshape(x.shape())), x);
    }

    public static Var concat(int axis, Var... xs) {
        Backend be = xs[0].backend();
        Tensor[] values = new Tensor[xs.length];
        for (int i = 0; i < xs.length; i++) values[i] = xs[i].value();
        int a = xs[0].shape().axis(axis);
        return Var.result(be.concat(values, a), "concat", dy -> {
            int start = 0;
            for (Var x : xs) {
                int len = x.shape().dim(a);
                if (x.requiresGrad()) x.accumulate(be.narrow(dy, a, start, len));
                start += len;
            }
        }, xs);
    }

    public static Var narrow(Var x, int axis, int start, int length) {
        Backend be = x.backend();
        int a = x.shape().axis(axis);
        return Var.result(be.narrow(x.value(), a, start, length), "narrow", dy -> {
            int[] before = new int[x.shape().rank()], after = new int[x.shape().rank()];
            before[a] = start;
            after[a] = x.shape().dim(a) - start - length;
            x.accumulate(be.pad(dy, before, after, 0));
        }, x);
    }

    /** Splits along an axis into pieces of the given sizes. */
    public static Var[] split(Var x, int axis, int... sizes) {
        Var[] out = new Var[sizes.length];
        int start = 0;
        for (int i = 0; i < sizes.length; i++) {
            out[i] = narrow(x, axis, start, sizes[i]);
            start += sizes[i];
        }
        if (start != x.shape().dim(axis)) throw new IllegalArgumentException("split sizes sum to " + start + ", axis " + axis + " of " + x.shape() + " has " + x.shape().dim(axis));
        return out;
    }

    public static Var pad(Var x, int[] before, int[] after, double value) {
        Backend be = x.backend();
        Shape s = x.shape();
        return Var.result(be.pad(x.value(), before, after, value), "pad", dy -> {
            Tensor g = dy;
            for (int i = 0; i < s.rank(); i++) if (before[i] != 0 || after[i] != 0) g = be.narrow(g, i, before[i], s.dim(i));
            x.accumulate(g);
        }, x);
    }

    /** Zero-pads the spatial axes of [N,C,H,W]: top, bottom, left, right. */
    public static Var pad2d(Var x, int top, int bottom, int left, int right) {
        return pad(x, new int[] {0, 0, top, left}, new int[] {0, 0, bottom, right}, 0);
    }

    /** PixelCNN++'s down_shift: one zero row on top, the last row dropped. */
    public static Var downShift(Var x) {
        return narrow(pad2d(x, 1, 0, 0, 0), 2, 0, x.shape().dim(2));
    }

    /** PixelCNN++'s right_shift: one zero column on the left, the last column dropped. */
    public static Var rightShift(Var x) {
        return narrow(pad2d(x, 0, 0, 1, 0), 3, 0, x.shape().dim(3));
    }

    /** Glow's squeeze (space to depth by a factor f). */
    public static Var squeeze(Var x, int f) {
        Backend be = x.backend();
        return Var.result(be.spaceToDepth(x.value(), f), "spaceToDepth", dy -> x.accumulate(be.depthToSpace(dy, f)), x);
    }

    /** Glow's unsqueeze (depth to space by a factor f). */
    public static Var unsqueeze(Var x, int f) {
        Backend be = x.backend();
        return Var.result(be.depthToSpace(x.value(), f), "depthToSpace", dy -> x.accumulate(be.spaceToDepth(dy, f)), x);
    }

    /** x [N,C,H,W] in the sub-pixel phases of g, [sh·sw, C, N, Q] (see {@link Backend#toPhases}). */
    public static Var toPhases(Var x, ConvGeometry g) {
        Backend be = x.backend();
        Shape xs = x.shape();
        return Var.result(be.toPhases(x.value(), g), "toPhases", dy -> x.accumulate(be.fromPhases(dy, xs, g)), x);
    }

    /** Phases [sh·sw, C, N, Q] back to [N,C,H,W] = {@code xShape}. */
    public static Var fromPhases(Var p, Shape xShape, ConvGeometry g) {
        Backend be = p.backend();
        return Var.result(be.fromPhases(p.value(), xShape, g), "fromPhases", dy -> p.accumulate(be.toPhases(dy, g)), p);
    }
}
