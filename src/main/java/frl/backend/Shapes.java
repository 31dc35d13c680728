package frl.backend;

import frl.tensor.DType;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/** Shape inference and argument checks shared by every backend, so all of them reject bad input alike. */
public final class Shapes {
    private Shapes() {}

    public static void requireRank(String op, Tensor t, int rank) {
        if (t.rank() != rank) throw new IllegalArgumentException(op + ": expected a rank-" + rank + " tensor, got shape " + t.shape());
    }

    /** As many sources as destinations (copyAll's pairs). */
    public static void requirePairs(String op, Tensor[] src, Tensor[] dst) {
        if (src.length != dst.length) throw new IllegalArgumentException(op + ": " + src.length + " sources for " + dst.length + " destinations");
    }

    public static void requireSameShape(String op, Tensor a, Tensor b) {
        if (!a.shape().equals(b.shape())) throw new IllegalArgumentException(op + ": shapes differ: " + a.shape() + " vs " + b.shape());
    }

    public static void requireSameSize(String op, Tensor a, Tensor b) {
        if (a.numel() != b.numel()) throw new IllegalArgumentException(op + ": sizes differ: " + a.shape() + " vs " + b.shape());
    }

    /** An Adam-family step's arguments: param, grad and both moments of one shape, and a factor row. */
    public static void requireOptimizerStep(String op, Tensor p, Tensor g, Tensor m, Tensor v, Tensor factors, int row) {
        requireSameShape(op + " (param vs grad)", p, g);
        requireSameShape(op + " (param vs first moment)", p, m);
        requireSameShape(op + " (param vs second moment)", p, v);
        requireFactorRow(op, factors, row);
    }

    /** Several Adam-family steps' arguments (Backend#adamSteps): lists of one length, each entry as requireOptimizerStep. */
    public static void requireOptimizerSteps(String op, Tensor[] p, Tensor[] g, Tensor[] m, Tensor[] v, Tensor factors, int[] rows) {
        int[] counts = {p.length, g.length, m.length, v.length, rows.length};
        for (int c : counts)
            if (c != counts[0]) throw new IllegalArgumentException(op + ": the lists differ in length: " + java.util.Arrays.toString(counts));
        for (int i = 0; i < p.length; i++) requireOptimizerStep(op, p[i], g[i], m[i], v[i], factors, rows[i]);
    }

    /** factors: float64 [rows, 2] with 0 ≤ row < rows (an optimizer step's factors, {@link Backend#adamStep}). */
    private static void requireFactorRow(String op, Tensor factors, int row) {
        requireDType(op + " (factors)", factors, DType.F64);
        if (factors.rank() != 2 || factors.dim(1) != 2)
            throw new IllegalArgumentException(op + ": factors must be [rows, 2], got " + factors.shape());
        if (row < 0 || row >= factors.dim(0))
            throw new IllegalArgumentException(op + ": factor row " + row + " outside [0, " + factors.dim(0) + ")");
    }

    public static void requireDType(String op, Tensor t, DType dtype) {
        if (t.dtype() != dtype) throw new IllegalArgumentException(op + ": expected " + dtype + ", got " + t.dtype() + " " + t.shape());
    }

    public static Shape matmul(Tensor a, boolean ta, Tensor b, boolean tb) {
        requireRank("matmul", a, 2);
        requireRank("matmul", b, 2);
        int m = ta ? a.dim(1) : a.dim(0), k = ta ? a.dim(0) : a.dim(1);
        int k2 = tb ? b.dim(1) : b.dim(0), n = tb ? b.dim(0) : b.dim(1);
        if (k != k2) throw new IllegalArgumentException("matmul: inner sizes differ: " + a.shape() + (ta ? "ᵀ" : "") + " × " + b.shape() + (tb ? "ᵀ" : ""));
        return Shape.of(m, n);
    }

    public static Shape conv2d(Shape x, Shape w, ConvGeometry g) {
        if (x.rank() != 4 || w.rank() != 4) throw new IllegalArgumentException("conv2d: expected x [N,C,H,W] and w [K,C,kh,kw], got " + x + " and " + w);
        if (x.dim(1) != w.dim(1)) throw new IllegalArgumentException("conv2d: input has " + x.dim(1) + " channels, weight " + w + " expects " + w.dim(1));
        return Shape.of(x.dim(0), w.dim(0), g.outH(x.dim(2), w.dim(2)), g.outW(x.dim(3), w.dim(3)));
    }

    /** Checks that dy is what conv2d(x of xShape, w) would produce. */
    public static void conv2dBackward(Shape dy, Shape x, Shape w, ConvGeometry g) {
        Shape expect = conv2d(x, w, g);
        if (!expect.equals(dy)) throw new IllegalArgumentException("conv2d backward: gradient has shape " + dy + ", the forward produced " + expect);
    }

    /** Output shape of a shifted conv: x [N,C,H,W], w [K,C,kh,kw] (kw odd for {@link Shift#DOWN}) give [N,K,H,W]. */
    public static Shape shiftedConv2d(Shape x, Shape w, Shift s) {
        String op = "shiftedConv2d " + s;
        if (x.rank() != 4 || w.rank() != 4) throw new IllegalArgumentException(op + ": expected x [N,C,H,W] and w [K,C,kh,kw], got " + x + " and " + w);
        if (x.dim(1) != w.dim(1)) throw new IllegalArgumentException(op + ": input has " + x.dim(1) + " channels, weight " + w + " expects " + w.dim(1));
        if (w.dim(2) < 1 || w.dim(3) < 1) throw new IllegalArgumentException(op + ": empty kernel in weight " + w);
        if (s == Shift.DOWN && w.dim(3) % 2 == 0)
            throw new IllegalArgumentException(op + ": the kernel width must be odd (its columns are centred), got weight " + w);
        return Shape.of(x.dim(0), w.dim(0), x.dim(2), x.dim(3));
    }

    /** Checks that dy is what shiftedConv2d(x of xShape, w) would produce. */
    public static void shiftedConv2dBackward(Shape dy, Shape x, Shape w, Shift s) {
        Shape expect = shiftedConv2d(x, w, s);
        if (!expect.equals(dy)) throw new IllegalArgumentException("shiftedConv2d " + s + " backward: gradient has shape " + dy + ", the forward produced " + expect);
    }

    /** [1, C, 1, …] for z [N, C, …] (rank ≥ 2): a per-channel operand's broadcast shape. */
    public static Shape channelAxis(Shape z) {
        if (z.rank() < 2) throw new IllegalArgumentException("expected [N, C, ...], got " + z);
        return along(z, 1);
    }

    /** s with every axis but {@code axis} set to 1 ([d0, 1, 1, …] for axis 0): what sumTo keeps of one axis. */
    public static Shape along(Shape s, int axis) {
        int[] dims = new int[s.rank()];
        java.util.Arrays.fill(dims, 1);
        dims[axis] = s.dim(axis);
        return Shape.of(dims);
    }

    /** A per-channel bias's operands (biasRelu, gate, biasedSum): z [N, C, …] and a bias of C elements; returns the bias's broadcast shape. */
    public static Shape channelBias(String op, Shape z, Tensor bias) {
        Shape channel = channelAxis(z);
        if (bias.numel() != z.dim(1)) throw new IllegalArgumentException(op + ": a bias of " + z.dim(1) + " for " + z + ", got " + bias.shape());
        return channel;
    }

    /** s (rank ≥ 2) with twice its channels: a two-halves op's [N, 2C, …] for its [N, C, …]. */
    public static Shape doubledChannels(Shape s) {
        channelAxis(s);
        int[] d = s.dims();
        d[1] = Math.multiplyExact(d[1], 2);
        return Shape.of(d);
    }

    /** Checks that pair is single [N, C, …] with twice its channels (concat-ELU, the gate, the coupling). */
    public static void requireHalves(String op, Shape single, Shape pair) {
        if (!doubledChannels(single).equals(pair))
            throw new IllegalArgumentException(op + ": expected " + doubledChannels(single) + ", " + single + " with twice its channels, got " + pair);
    }

    /** [N, C, …] for h [N, 2C, …]: one half of a two-halves operand. */
    public static Shape half(String op, Shape h) {
        if (h.rank() < 2 || h.dim(1) % 2 != 0) throw new IllegalArgumentException(op + ": expected [N, 2C, ...], got " + h);
        int[] d = h.dims();
        d[1] /= 2;
        return Shape.of(d);
    }

    /**
     * The mixture's operands (Backend#mixtureNll): x [N, C, H, W], params [N, P, H, W] with P =
     * MixtureMath.parameterChannels(C, M), M ≥ 1; returns the NLL's shape, [N, 1, H, W].
     */
    public static Shape mixtureNll(String op, Shape x, Shape params, int mixtures) {
        if (x.rank() != 4 || mixtures < 1) throw new IllegalArgumentException(op + ": expected pixels [N, C, H, W] and at least one component, got " + x + " and " + mixtures);
        Shape want = Shape.of(x.dim(0), MixtureMath.parameterChannels(x.dim(1), mixtures), x.dim(2), x.dim(3));
        if (!want.equals(params))
            throw new IllegalArgumentException(op + ": a mixture of " + mixtures + " over " + x + " needs parameters " + want + ", got " + params);
        return Shape.of(x.dim(0), 1, x.dim(2), x.dim(3));
    }

    /** mixtureNll's operands, and a gradient dnll of its output's shape. */
    public static void mixtureNllBackward(Shape x, Shape params, int mixtures, Shape dnll) {
        Shape out = mixtureNll("mixtureNllBackward", x, params, mixtures);
        if (!out.equals(dnll)) throw new IllegalArgumentException("mixtureNllBackward: a gradient of " + out + ", got " + dnll);
    }

    /** Shape of broadcastTo / check for sumTo: {@code small} must broadcast to {@code big}. */
    public static void requireBroadcastable(String op, Shape small, Shape big) {
        boolean ok = small.rank() <= big.rank();
        for (int i = 1; ok && i <= small.rank(); i++) ok = small.dim(-i) == 1 || small.dim(-i) == big.dim(-i);
        if (!ok) throw new IllegalArgumentException(op + ": shape " + small + " does not broadcast to " + big);
    }

    public static Shape concat(Tensor[] xs, int axis) {
        if (xs.length == 0) throw new IllegalArgumentException("concat: no tensors");
        Shape first = xs[0].shape();
        int a = first.axis(axis), total = 0;
        for (Tensor t : xs) {
            if (t.rank() != first.rank() || !t.shape().with(a, 1).equals(first.with(a, 1)))
                throw new IllegalArgumentException("concat along axis " + a + ": shape " + t.shape() + " does not match " + first);
            total += t.dim(a);
        }
        return first.with(a, total);
    }

    public static Shape narrow(Shape x, int axis, int start, int length) {
        int a = x.axis(axis);
        if (start < 0 || length < 0 || start + length > x.dim(a))
            throw new IllegalArgumentException("narrow: [" + start + ", " + (start + length) + ") is outside axis " + a + " of size " + x.dim(a));
        return x.with(a, length);
    }

    public static Shape pad(Shape x, int[] before, int[] after) {
        if (before.length != x.rank() || after.length != x.rank()) throw new IllegalArgumentException("pad: need one before/after pair per axis of " + x);
        int[] d = x.dims();
        for (int i = 0; i < d.length; i++) {
            if (before[i] < 0 || after[i] < 0) throw new IllegalArgumentException("pad: negative padding on axis " + i + " (use narrow to crop)");
            d[i] += before[i] + after[i];
        }
        return Shape.of(d);
    }

    public static Shape spaceToDepth(Shape x, int f) {
        if (x.rank() != 4 || f < 1 || x.dim(2) % f != 0 || x.dim(3) % f != 0)
            throw new IllegalArgumentException("spaceToDepth: need [N,C,H,W] with H and W divisible by " + f + ", got " + x);
        return Shape.of(x.dim(0), x.dim(1) * f * f, x.dim(2) / f, x.dim(3) / f);
    }

    public static Shape depthToSpace(Shape x, int f) {
        if (x.rank() != 4 || f < 1 || x.dim(1) % (f * f) != 0)
            throw new IllegalArgumentException("depthToSpace: need [N,C,H,W] with C divisible by " + (f * f) + ", got " + x);
        return Shape.of(x.dim(0), x.dim(1) / (f * f), x.dim(2) * f, x.dim(3) * f);
    }

    /** The phases layout of x [N,C,H,W] under g: [sh·sw, C, N, qh·qw] ({@link Backend#toPhases}). */
    public static Shape phases(String op, Shape x, ConvGeometry g) {
        if (x.rank() != 4 || !g.uniformPhases(x.dim(2), x.dim(3)))
            throw new IllegalArgumentException(op + ": need [N,C,H,W] whose " + g.strideH() + "×" + g.strideW() + " sub-pixel phases under padding "
                    + g.padH() + "×" + g.padW() + " are all the same size (H and W divisible by the stride), got " + x);
        ConvGeometry.Phase p = g.subPixelPhases(x.dim(2), x.dim(3)).get(0);
        return Shape.of(g.strideH() * g.strideW(), x.dim(1), x.dim(0), p.q());
    }

    /** Checks that {@code phases} is x of shape xShape in phases, and returns xShape's phases shape. */
    public static Shape requirePhases(String op, Tensor phases, Shape xShape, ConvGeometry g) {
        Shape want = phases(op, xShape, g);
        if (!phases.shape().equals(want))
            throw new IllegalArgumentException(op + ": phases " + phases.shape() + " do not hold x " + xShape + " under " + g + " (expected " + want + ")");
        return want;
    }

    public static Shape crossEntropy(Tensor logits, Tensor targets, int axis) {
        Shape out = logits.shape().without(axis);
        if (!targets.shape().equals(out))
            throw new IllegalArgumentException("crossEntropy: targets " + targets.shape() + " must be logits " + logits.shape() + " without axis " + axis);
        return out;
    }

    /** The [outer, classes, inner] view of a tensor reduced or normalised along one axis. */
    public static int[] aroundAxis(Shape s, int axis) {
        int a = s.axis(axis);
        return new int[] {(int) s.size(0, a), s.dim(a), (int) s.size(a + 1, s.rank())};
    }

    /** Target class at a position, checked to be an integer in [0, classes). */
    public static int classIndex(double v, int classes, long position) {
        int c = (int) v;
        if (c != v || c < 0 || c >= classes)
            throw new IllegalArgumentException("crossEntropy: target at flat position " + position + " is " + v + ", expected an integer in [0, " + classes + ")");
        return c;
    }

    public static void batchNorm(Tensor x, Tensor gamma, Tensor beta) {
        if (x.rank() < 2) throw new IllegalArgumentException("batchNorm: need [N,C,...], got " + x.shape());
        int c = x.dim(1);
        if (gamma.numel() != c || beta.numel() != c)
            throw new IllegalArgumentException("batchNorm: " + c + " channels but gamma " + gamma.shape() + ", beta " + beta.shape());
    }

    /** Batch norm's view of x as [n, c, inner], m = n·inner elements per channel; checks the rank, eps and emptiness. */
    public record NormView(int n, int c, long inner, long m) {}

    public static NormView batchNorm(String op, Shape x, double eps) {
        if (x.rank() < 2) throw new IllegalArgumentException(op + ": need x of shape [N,C,...], got " + x);
        if (!(eps >= 0) || Double.isInfinite(eps)) throw new IllegalArgumentException(op + ": eps must be finite and >= 0, got " + eps);
        long inner = x.size(2, x.rank());
        if (x.dim(0) * inner == 0) throw new IllegalArgumentException(op + ": x " + x + " has no elements per channel");
        return new NormView(x.dim(0), x.dim(1), inner, x.dim(0) * inner);
    }

    /** batchNormBackward's checks: dy like x, and gamma, mean, var with one value per channel. */
    public static NormView batchNormBackward(Tensor x, Tensor gamma, Tensor mean, Tensor var, double eps, Tensor dy) {
        requireSameShape("batchNormBackward (x vs dy)", x, dy);
        NormView v = batchNorm("batchNormBackward", x.shape(), eps);
        String[] names = {"gamma", "mean", "var"};
        Tensor[] ts = {gamma, mean, var};
        for (int i = 0; i < ts.length; i++)
            if (ts[i].numel() != v.c())
                throw new IllegalArgumentException("batchNormBackward: x has " + v.c() + " channels but " + names[i] + " has shape " + ts[i].shape());
        return v;
    }

    /** batchNormRunningStats' checks: running mean and var, batch mean and var all [C]; one count. */
    public static void batchNormRunningStats(Tensor runningMean, Tensor runningVar, Tensor count, Tensor mean, Tensor var) {
        String[] names = {"running var", "batch mean", "batch var"};
        Tensor[] ts = {runningVar, mean, var};
        if (runningMean.rank() != 1) throw new IllegalArgumentException("batchNormRunningStats: running mean must be [C], got " + runningMean.shape());
        for (int i = 0; i < ts.length; i++)
            if (!ts[i].shape().equals(runningMean.shape()))
                throw new IllegalArgumentException("batchNormRunningStats: running mean is " + runningMean.shape() + " but " + names[i] + " is " + ts[i].shape());
        if (count.numel() != 1) throw new IllegalArgumentException("batchNormRunningStats: the count must be one value, got " + count.shape());
    }

    /** binaryBackward's checks: out and dy have the broadcast shape of a and b, which is returned. */
    public static Shape binaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor out, Tensor dy) {
        Shape shape = Shape.broadcast(a.shape(), b.shape());
        if (!out.shape().equals(shape) || !dy.shape().equals(shape))
            throw new IllegalArgumentException("binaryBackward " + op + ": out " + out.shape() + " and dy " + dy.shape()
                    + " must have the broadcast shape " + shape + " of " + a.shape() + " and " + b.shape());
        return shape;
    }
}
