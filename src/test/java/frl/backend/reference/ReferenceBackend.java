package frl.backend.reference;

import frl.backend.Backend;
import frl.backend.BinaryOp;
import frl.backend.ConvGeometry;
import frl.backend.PhasesByComposition;
import frl.backend.Rng;
import frl.backend.Shapes;
import frl.backend.Shift;
import frl.backend.UnaryOp;
import frl.tensor.DType;
import frl.tensor.Device;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/**
 * The oracle: every op in float64 with the plainest loops that state its definition. Slow on purpose;
 * fast backends are checked against it and finite differences are taken through it.
 */
public final class ReferenceBackend implements Backend {
    public static final Device DEVICE = new Device("reference");

    @Override public String name() { return "reference"; }

    @Override public Device device() { return DEVICE; }

    @Override public DType dtype() { return DType.F64; }

    private Tensor make(Shape s, double[] v) { return Tensor.host(s, DType.F64, DEVICE).copyFrom(v); }

    private static double[] d(Tensor t) { return t.toDoubles(); }

    @Override public Tensor empty(Shape shape) { return make(shape, new double[(int) shape.numel()]); }

    @Override public Tensor empty64(Shape shape) { return empty(shape); }

    @Override public Tensor full(Shape shape, double value) {
        double[] v = new double[(int) shape.numel()];
        java.util.Arrays.fill(v, value);
        return make(shape, v);
    }

    @Override public Tensor fromHost(Shape shape, double[] values) { return make(shape, values); }

    @Override public Tensor fromHost(Shape shape, float[] values) { return Tensor.host(shape, DType.F64, DEVICE).copyFrom(values); }

    @Override public void fill(Tensor t, double value) { t.copyFrom(d(full(t.shape(), value))); }

    @Override public void copyInto(Tensor src, Tensor dst) { dst.copyFrom(d(src)); }

    @Override public Tensor unary(UnaryOp op, Tensor x, double a, double b) {
        double[] v = d(x);
        for (int i = 0; i < v.length; i++) v[i] = op.apply(v[i], a, b);
        return make(x.shape(), v);
    }

    @Override public Tensor unaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor dy, double a, double b) {
        double[] xv = d(x), yv = d(y), g = d(dy);
        for (int i = 0; i < g.length; i++) g[i] *= op.derivative(xv[i], yv[i], a, b);
        return make(x.shape(), g);
    }

    /** Flat offset into a tensor of shape {@code s} for an output multi-index, broadcasting size-1 axes. */
    private static int broadcastOffset(int[] outIdx, Shape s) {
        int off = 0, shift = outIdx.length - s.rank();
        long[] st = s.strides();
        for (int i = 0; i < s.rank(); i++) if (s.dim(i) != 1) off += (int) (outIdx[i + shift] * st[i]);
        return off;
    }

    private static int[] unravel(long flat, Shape s) {
        int[] idx = new int[s.rank()];
        for (int i = s.rank() - 1; i >= 0; i--) { idx[i] = (int) (flat % s.dim(i)); flat /= s.dim(i); }
        return idx;
    }

    @Override public Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        Shape out = Shape.broadcast(a.shape(), b.shape());
        double[] av = d(a), bv = d(b), o = new double[(int) out.numel()];
        for (int i = 0; i < o.length; i++) {
            int[] idx = unravel(i, out);
            o[i] = op.apply(av[broadcastOffset(idx, a.shape())], bv[broadcastOffset(idx, b.shape())]);
        }
        return make(out, o);
    }

    @Override public Tensor binaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor out, Tensor dy, boolean wrtA) {
        double[] av = d(a), bv = d(b), ov = d(out), g = d(dy);
        for (int i = 0; i < g.length; i++) {
            int[] idx = unravel(i, out.shape());
            double x = av[broadcastOffset(idx, a.shape())], y = bv[broadcastOffset(idx, b.shape())];
            g[i] *= wrtA ? op.da(x, y, ov[i]) : op.db(x, y, ov[i]);
        }
        return make(out.shape(), g);
    }

    @Override public Tensor affine(Tensor x, double alpha, double beta) {
        double[] v = d(x);
        for (int i = 0; i < v.length; i++) v[i] = alpha * v[i] + beta;
        return make(x.shape(), v);
    }

    @Override public void axpy(double alpha, Tensor x, Tensor y) {
        double[] xv = d(x), yv = d(y);
        for (int i = 0; i < yv.length; i++) yv[i] += alpha * xv[i];
        y.copyFrom(yv);
    }

    @Override public Tensor sumTo(Tensor x, Shape shape) {
        Shapes.requireBroadcastable("sumTo", shape, x.shape());
        double[] xv = d(x), o = new double[(int) shape.numel()];
        long[] st = shape.strides();
        for (int i = 0; i < xv.length; i++) {
            int[] idx = unravel(i, x.shape());
            int shift = idx.length - shape.rank(), off = 0;
            for (int k = 0; k < shape.rank(); k++) if (shape.dim(k) != 1) off += (int) (idx[k + shift] * st[k]);
            o[off] += xv[i];
        }
        return make(shape, o);
    }

    @Override public Tensor broadcastTo(Tensor x, Shape shape) {
        Shapes.requireBroadcastable("broadcastTo", x.shape(), shape);
        double[] xv = d(x), o = new double[(int) shape.numel()];
        for (int i = 0; i < o.length; i++) o[i] = xv[broadcastOffset(unravel(i, shape), x.shape())];
        return make(shape, o);
    }

    @Override public Tensor logSumExp(Tensor x, int axis) {
        int[] v = Shapes.aroundAxis(x.shape(), axis);
        double[] xv = d(x), o = new double[v[0] * v[2]];
        for (int a = 0; a < v[0]; a++) for (int c = 0; c < v[2]; c++) {
            double max = Double.NEGATIVE_INFINITY, s = 0;
            for (int k = 0; k < v[1]; k++) max = Math.max(max, xv[(a * v[1] + k) * v[2] + c]);
            for (int k = 0; k < v[1]; k++) s += Math.exp(xv[(a * v[1] + k) * v[2] + c] - max);
            o[a * v[2] + c] = max + Math.log(s);
        }
        return make(x.shape().with(axis, 1), o);
    }

    @Override public Tensor matmul(Tensor a, boolean ta, Tensor b, boolean tb) {
        Shape out = Shapes.matmul(a, ta, b, tb);
        int m = out.dim(0), n = out.dim(1), k = ta ? a.dim(0) : a.dim(1);
        double[] av = d(a), bv = d(b), o = new double[m * n];
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) {
            double s = 0;
            for (int p = 0; p < k; p++) s += av[ta ? p * m + i : i * k + p] * bv[tb ? j * k + p : p * n + j];
            o[i * n + j] = s;
        }
        return make(out, o);
    }

    /** Visits every (output pixel, weight tap, input pixel) triple of a convolution that touches the input. */
    private interface ConvVisit { void at(int yIdx, int wIdx, int xIdx); }

    private static void forEachTap(Shape x, Shape w, ConvGeometry g, ConvVisit v) {
        forEachTap(x, w, g.strideH(), g.strideW(), g.padH(), g.padW(), g.outH(x.dim(2), w.dim(2)), g.outW(x.dim(3), w.dim(3)), v);
    }

    /** A shifted conv: stride 1, kh−1 zero rows on top, the shift's columns on the left, output H×W. */
    private static void forEachTap(Shape x, Shape w, Shift s, ConvVisit v) {
        forEachTap(x, w, 1, 1, s.top(w.dim(2)), s.left(w.dim(3)), x.dim(2), x.dim(3), v);
    }

    /** Output pixel (i, j) reads input pixel (i·sh − top + p, j·sw − left + q) through tap (p, q). */
    private static void forEachTap(Shape x, Shape w, int sh, int sw, int top, int left, int oh, int ow, ConvVisit v) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3), k = w.dim(0), kh = w.dim(2), kw = w.dim(3);
        for (int b = 0; b < n; b++) for (int o = 0; o < k; o++) for (int i = 0; i < oh; i++) for (int j = 0; j < ow; j++)
            for (int ci = 0; ci < c; ci++) for (int p = 0; p < kh; p++) for (int q = 0; q < kw; q++) {
                int yy = i * sh - top + p, xx = j * sw - left + q;
                if (yy < 0 || yy >= h || xx < 0 || xx >= wd) continue;
                v.at(((b * k + o) * oh + i) * ow + j, ((o * c + ci) * kh + p) * kw + q, ((b * c + ci) * h + yy) * wd + xx);
            }
    }

    @Override public Tensor conv2d(Tensor x, Tensor w, ConvGeometry g) {
        Shape out = Shapes.conv2d(x.shape(), w.shape(), g);
        double[] xv = d(x), wv = d(w), o = new double[(int) out.numel()];
        forEachTap(x.shape(), w.shape(), g, (yi, wi, xi) -> o[yi] += wv[wi] * xv[xi]);
        return make(out, o);
    }

    @Override public Tensor conv2dBackwardInput(Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        Shapes.conv2dBackward(dy.shape(), xShape, w.shape(), g);
        double[] gv = d(dy), wv = d(w), o = new double[(int) xShape.numel()];
        forEachTap(xShape, w.shape(), g, (yi, wi, xi) -> o[xi] += wv[wi] * gv[yi]);
        return make(xShape, o);
    }

    @Override public Tensor conv2dBackwardWeight(Tensor x, Tensor dy, Shape wShape, ConvGeometry g) {
        Shapes.conv2dBackward(dy.shape(), x.shape(), wShape, g);
        double[] gv = d(dy), xv = d(x), o = new double[(int) wShape.numel()];
        forEachTap(x.shape(), wShape, g, (yi, wi, xi) -> o[wi] += xv[xi] * gv[yi]);
        return make(wShape, o);
    }

    @Override public Tensor shiftedConv2d(Tensor x, Tensor w, Shift s) {
        Shape out = Shapes.shiftedConv2d(x.shape(), w.shape(), s);
        double[] xv = d(x), wv = d(w), o = new double[(int) out.numel()];
        forEachTap(x.shape(), w.shape(), s, (yi, wi, xi) -> o[yi] += wv[wi] * xv[xi]);
        return make(out, o);
    }

    @Override public Tensor shiftedConv2dBackwardInput(Tensor dy, Tensor w, Shape xShape, Shift s) {
        Shapes.shiftedConv2dBackward(dy.shape(), xShape, w.shape(), s);
        double[] gv = d(dy), wv = d(w), o = new double[(int) xShape.numel()];
        forEachTap(xShape, w.shape(), s, (yi, wi, xi) -> o[xi] += wv[wi] * gv[yi]);
        return make(xShape, o);
    }

    @Override public Tensor shiftedConv2dBackwardWeight(Tensor x, Tensor dy, Shape wShape, Shift s) {
        Shapes.shiftedConv2dBackward(dy.shape(), x.shape(), wShape, s);
        double[] gv = d(dy), xv = d(x), o = new double[(int) wShape.numel()];
        forEachTap(x.shape(), wShape, s, (yi, wi, xi) -> o[wi] += xv[xi] * gv[yi]);
        return make(wShape, o);
    }

    /** Per-channel index of every element of an [N,C,...] tensor. */
    private static int channelOf(long flat, Shape s) { return (int) (flat / s.size(2, s.rank()) % s.dim(1)); }

    @Override public BatchNormResult batchNorm(Tensor x, Tensor gamma, Tensor beta, double eps) {
        Shapes.batchNorm(x, gamma, beta);
        int c = x.dim(1);
        double m = x.numel() / (double) c;
        double[] xv = d(x), gv = d(gamma), bv = d(beta), mean = new double[c], var = new double[c], y = new double[xv.length];
        for (int i = 0; i < xv.length; i++) mean[channelOf(i, x.shape())] += xv[i] / m;
        for (int i = 0; i < xv.length; i++) { int k = channelOf(i, x.shape()); var[k] += (xv[i] - mean[k]) * (xv[i] - mean[k]) / m; }
        for (int i = 0; i < xv.length; i++) { int k = channelOf(i, x.shape()); y[i] = (xv[i] - mean[k]) / Math.sqrt(var[k] + eps) * gv[k] + bv[k]; }
        return new BatchNormResult(make(x.shape(), y), make(Shape.of(c), mean), make(Shape.of(c), var));
    }

    @Override public BatchNormGrads batchNormBackward(Tensor x, Tensor gamma, Tensor mean, Tensor var, double eps, Tensor dy) {
        int c = x.dim(1);
        double m = x.numel() / (double) c;
        double[] xv = d(x), gv = d(gamma), mv = d(mean), vv = d(var), g = d(dy), dg = new double[c], db = new double[c], dx = new double[xv.length];
        for (int i = 0; i < xv.length; i++) {
            int k = channelOf(i, x.shape());
            db[k] += g[i];
            dg[k] += g[i] * (xv[i] - mv[k]) / Math.sqrt(vv[k] + eps);
        }
        for (int i = 0; i < xv.length; i++) {
            int k = channelOf(i, x.shape());
            double inv = 1 / Math.sqrt(vv[k] + eps), xhat = (xv[i] - mv[k]) * inv;
            dx[i] = gv[k] * inv / m * (m * g[i] - db[k] - xhat * dg[k]);
        }
        return new BatchNormGrads(make(x.shape(), dx), make(Shape.of(c), dg), make(Shape.of(c), db));
    }

    @Override public Tensor concat(Tensor[] xs, int axis) {
        Shape out = Shapes.concat(xs, axis);
        int a = out.axis(axis);
        double[] o = new double[(int) out.numel()];
        int start = 0;
        for (Tensor t : xs) {
            double[] v = d(t);
            for (int i = 0; i < v.length; i++) {
                int[] idx = unravel(i, t.shape());
                idx[a] += start;
                o[(int) flat(idx, out)] = v[i];
            }
            start += t.dim(a);
        }
        return make(out, o);
    }

    private static long flat(int[] idx, Shape s) {
        long f = 0;
        for (int i = 0; i < idx.length; i++) f = f * s.dim(i) + idx[i];
        return f;
    }

    @Override public Tensor narrow(Tensor x, int axis, int start, int length) {
        Shape out = Shapes.narrow(x.shape(), axis, start, length);
        int a = x.shape().axis(axis);
        double[] v = d(x), o = new double[(int) out.numel()];
        for (int i = 0; i < o.length; i++) {
            int[] idx = unravel(i, out);
            idx[a] += start;
            o[i] = v[(int) flat(idx, x.shape())];
        }
        return make(out, o);
    }

    @Override public Tensor pad(Tensor x, int[] before, int[] after, double value) {
        Shape out = Shapes.pad(x.shape(), before, after);
        double[] v = d(x), o = new double[(int) out.numel()];
        java.util.Arrays.fill(o, value);
        for (int i = 0; i < v.length; i++) {
            int[] idx = unravel(i, x.shape());
            for (int k = 0; k < idx.length; k++) idx[k] += before[k];
            o[(int) flat(idx, out)] = v[i];
        }
        return make(out, o);
    }

    @Override public Tensor spaceToDepth(Tensor x, int f) {
        Shape out = Shapes.spaceToDepth(x.shape(), f);
        double[] v = d(x), o = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            int[] p = unravel(i, x.shape());
            int[] q = {p[0], p[1] * f * f + (p[2] % f) * f + p[3] % f, p[2] / f, p[3] / f};
            o[(int) flat(q, out)] = v[i];
        }
        return make(out, o);
    }

    @Override public Tensor depthToSpace(Tensor x, int f) {
        Shape out = Shapes.depthToSpace(x.shape(), f);
        double[] v = d(x), o = new double[v.length];
        for (int i = 0; i < o.length; i++) {
            int[] p = unravel(i, out);
            int[] q = {p[0], p[1] * f * f + (p[2] % f) * f + p[3] % f, p[2] / f, p[3] / f};
            o[i] = v[(int) flat(q, x.shape())];
        }
        return make(out, o);
    }

    @Override public Tensor toPhases(Tensor x, ConvGeometry g) {
        Shape out = Shapes.phases("toPhases", x.shape(), g);
        double[] v = d(x), o = new double[v.length];
        int[] map = phaseIndex(x.shape(), g);
        for (int i = 0; i < o.length; i++) o[i] = v[map[i]];
        return make(out, o);
    }

    @Override public Tensor fromPhases(Tensor phases, Shape xShape, ConvGeometry g) {
        Shapes.requirePhases("fromPhases", phases, xShape, g);
        double[] v = d(phases), o = new double[v.length];
        int[] map = phaseIndex(xShape, g);
        for (int i = 0; i < v.length; i++) o[map[i]] = v[i];
        return make(xShape, o);
    }

    /** For each element (r, c, n, (a, b)) of the phases of x, its flat index in x: pixel ((qy0 + a)·sh + ry − padH, ...). */
    private static int[] phaseIndex(Shape x, ConvGeometry g) {
        int[] map = new int[(int) x.numel()];
        int at = 0;
        for (ConvGeometry.Phase p : g.subPixelPhases(x.dim(2), x.dim(3)))
            for (int c = 0; c < x.dim(1); c++)
                for (int n = 0; n < x.dim(0); n++)
                    for (int a = 0; a < p.qh(); a++)
                        for (int b = 0; b < p.qw(); b++) {
                            int y = (p.qy0() + a) * g.strideH() + p.ry() - g.padH(), xx = (p.qx0() + b) * g.strideW() + p.rx() - g.padW();
                            map[at++] = (int) flat(new int[] {n, c, y, xx}, x);
                        }
        return map;
    }

    @Override public Tensor conv2dBackwardInputToPhases(Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        return PhasesByComposition.conv2dBackwardInputToPhases(this, dy, w, xShape, g);
    }

    @Override public Tensor conv2dFromPhases(Tensor xPhases, Tensor w, Shape xShape, ConvGeometry g) {
        return PhasesByComposition.conv2dFromPhases(this, xPhases, w, xShape, g);
    }

    @Override public Tensor conv2dBackwardWeightFromPhases(Tensor xPhases, Tensor dy, Shape xShape, Shape wShape, ConvGeometry g) {
        return PhasesByComposition.conv2dBackwardWeightFromPhases(this, xPhases, dy, xShape, wShape, g);
    }

    @Override public Tensor crossEntropy(Tensor logits, Tensor targets, int axis) {
        Shape out = Shapes.crossEntropy(logits, targets, axis);
        int[] v = Shapes.aroundAxis(logits.shape(), axis);
        double[] lv = d(lse(logits, axis)), xv = d(logits), tv = d(targets), o = new double[(int) out.numel()];
        for (int a = 0; a < v[0]; a++) for (int c = 0; c < v[2]; c++) {
            int pos = a * v[2] + c, k = Shapes.classIndex(tv[pos], v[1], pos);
            o[pos] = lv[pos] - xv[(a * v[1] + k) * v[2] + c];
        }
        return make(out, o);
    }

    private Tensor lse(Tensor logits, int axis) { return logSumExp(logits, axis); }

    @Override public Tensor crossEntropyBackward(Tensor logits, Tensor targets, Tensor dloss, int axis) {
        int[] v = Shapes.aroundAxis(logits.shape(), axis);
        double[] lv = d(lse(logits, axis)), xv = d(logits), tv = d(targets), g = d(dloss), o = new double[xv.length];
        for (int a = 0; a < v[0]; a++) for (int c = 0; c < v[2]; c++) {
            int pos = a * v[2] + c, t = Shapes.classIndex(tv[pos], v[1], pos);
            for (int k = 0; k < v[1]; k++) {
                int i = (a * v[1] + k) * v[2] + c;
                o[i] = (Math.exp(xv[i] - lv[pos]) - (k == t ? 1 : 0)) * g[pos];
            }
        }
        return make(logits.shape(), o);
    }

    @Override public Tensor uniform(Shape shape, double lo, double hi, Rng rng) {
        double[] o = new double[(int) shape.numel()];
        long start = rng.advance(o.length);
        for (int i = 0; i < o.length; i++) o[i] = lo + (hi - lo) * Rng.uniform(rng.seed(), start + i);
        return make(shape, o);
    }

    @Override public Tensor normal(Shape shape, double mean, double std, Rng rng) {
        double[] o = new double[(int) shape.numel()];
        long start = rng.reserveNormals(o.length);
        for (int i = 0; i < o.length; i++) o[i] = mean + std * Rng.normal(rng.seed(), start + i);
        return make(shape, o);
    }

    @Override public void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamConfig c, Tensor factors, int row) {
        throw new UnsupportedOperationException("the reference backend has no optimizer; optimizers are tested against hand-computed values");
    }

    @Override public void adamaxStep(Tensor param, Tensor grad, Tensor m, Tensor u, AdamConfig c, Tensor factors, int row) {
        throw new UnsupportedOperationException("the reference backend has no optimizer; optimizers are tested against hand-computed values");
    }
}
