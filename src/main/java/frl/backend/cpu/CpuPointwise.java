package frl.backend.cpu;

import frl.backend.BinaryOp;
import frl.backend.Shapes;
import frl.backend.UnaryOp;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.function.IntConsumer;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/** Elementwise ops: outputs allocated on the calling thread, inner loops from {@link Kernels}, chunks in parallel. */
final class CpuPointwise {
    private CpuPointwise() {}

    static void fill(Tensor t, float v) {
        MemorySegment s = t.segment();
        Chunks.run(t.numel(), (from, to) -> fill(s, from, to, v));
    }

    /** Elements [from, to) of s set to v. */
    static void fill(MemorySegment s, long from, long to, float v) {
        for (long i = from; i < to; i++) s.setAtIndex(JAVA_FLOAT, i, v);
    }

    static Tensor unary(UnaryOp op, Tensor x, double a, double b) {
        Tensor y = CpuBackend.alloc(x.shape());
        MemorySegment xs = x.segment(), ys = y.segment();
        Kernels k = Kernels.active();
        Chunks.run(x.numel(), (from, to) -> k.unary(op, xs, ys, from, (int) (to - from), a, b));
        return y;
    }

    static Tensor unaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor dy, double a, double b) {
        Shapes.requireSameShape("unaryBackward " + op + " (x vs dy)", x, dy);
        Shapes.requireSameShape("unaryBackward " + op + " (y vs dy)", y, dy);
        Tensor dx = CpuBackend.alloc(x.shape());
        MemorySegment xs = x.segment(), ys = y.segment(), gs = dy.segment(), out = dx.segment();
        Kernels k = Kernels.active();
        Chunks.run(x.numel(), (from, to) -> k.unaryBackward(op, xs, ys, gs, out, from, (int) (to - from), a, b));
        return dx;
    }

    static Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        Tensor out = CpuBackend.alloc(Shape.broadcast(a.shape(), b.shape()));
        binaryInto(op, a, b, out);
        return out;
    }

    /** out = a op b, out having the broadcast shape; out may be a itself when a has that shape. */
    private static void binaryInto(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        if (perChannel(op, a, b, out)) return;
        BroadcastWalk walk = new BroadcastWalk(out.shape(), a.shape(), b.shape());
        boolean aRepeat = walk.repeatsA(), bRepeat = walk.repeatsB();
        MemorySegment as = a.segment(), bs = b.segment(), os = out.segment();
        Kernels k = Kernels.active();
        Chunks.run(out.numel(), (from, to) -> walk.walk(from, to,
                (pos, ao, bo, n) -> k.binary(op, as, ao, aRepeat, bs, bo, bRepeat, os, pos, n)));
    }

    /**
     * a op b through {@link Kernels#fmaRuns} when one operand has the output's shape and the other holds one value per
     * channel of it ([N, C, H, W] and [1, C, 1, 1], or [N, C] and [C]): the broadcast walk paid about 20 ns a run,
     * most of the op where runs are a 4×4 image's 16 pixels. ADD, MUL, and SUB with the per-channel operand second;
     * false, with nothing done, for any other op or shapes.
     */
    private static boolean perChannel(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        boolean second = a.shape().equals(out.shape());
        if (op == BinaryOp.DIV || (!second && (op == BinaryOp.SUB || !b.shape().equals(out.shape())))) return false;
        Tensor full = second ? a : b, channel = second ? b : a;
        Shape fs = full.shape();
        int axis = BroadcastWalk.channelAxis(fs, channel.shape());
        if (axis < 0) return false;
        int period = fs.dim(axis), run = (int) fs.size(axis + 1, fs.rank());
        if (run == 0) return true;
        float[] v = channel.toFloats(), mul = new float[period], add = new float[period];
        for (int c = 0; c < period; c++) {
            switch (op) {
                case ADD -> { mul[c] = 1; add[c] = v[c]; }
                case SUB -> { mul[c] = 1; add[c] = -v[c]; }
                default -> { mul[c] = v[c]; add[c] = -0f; }
            }
        }
        MemorySegment fsg = full.segment(), os = out.segment();
        Kernels k = Kernels.active();
        Parallel.forRange((int) (fs.numel() / run), Math.max(1, Chunks.GRAIN / run), (r0, r1) -> k.fmaRuns(fsg, mul, add, period, os, r0, r1, run));
        return true;
    }

    /** dy · ∂(a op b)/∂a or ∂b in the broadcast shape, from the same kernels as the forward. */
    static Tensor binaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor out, Tensor dy, boolean wrtA) {
        Shapes.binaryBackward(op, a, b, out, dy);
        return switch (op) {
            case ADD -> affine(dy, 1, 0);
            case SUB -> affine(dy, wrtA ? 1 : -1, 0);
            case MUL -> binary(BinaryOp.MUL, dy, wrtA ? b : a);
            case DIV -> {
                if (wrtA) yield binary(BinaryOp.DIV, dy, b);
                Tensor g = affine(dy, -1, 0);          // −dy · out / b
                binaryInto(BinaryOp.MUL, g, out, g);
                binaryInto(BinaryOp.DIV, g, b, g);
                yield g;
            }
        };
    }

    /** relu(z + bias) (Backend#biasRelu) in one pass, parallel over the N·C runs of one channel each. */
    static Tensor biasRelu(Tensor z, Tensor bias) {
        Shapes.channelBias("biasRelu", z.shape(), bias);
        Tensor y = CpuBackend.alloc(z.shape());
        int c = z.dim(1), run = channelRun("biasRelu", z);
        float[] b = bias.toFloats();
        MemorySegment zs = z.segment(), ys = y.segment();
        Kernels k = Kernels.active();
        overRuns(Math.multiplyExact(z.dim(0), c), run, r -> k.biasRelu(zs, ys, (long) r * run, run, b[r % c]));
        return y;
    }

    /** {dz, dbias} of biasRelu (Backend#biasReluBackward) in one pass; dbias sums each run in double, then the runs in order. */
    static Tensor[] biasReluBackward(Tensor y, Tensor dy) {
        Shapes.requireSameShape("biasReluBackward", y, dy);
        Shapes.channelAxis(y.shape());
        Tensor dz = CpuBackend.alloc(y.shape());
        int n = y.dim(0), c = y.dim(1), run = channelRun("biasReluBackward", y);
        double[] sums = new double[Math.multiplyExact(n, c)];
        MemorySegment ys = y.segment(), gs = dy.segment(), dzs = dz.segment();
        Kernels k = Kernels.active();
        overRuns(sums.length, run, r -> sums[r] = k.reluBackwardSum(ys, gs, dzs, (long) r * run, run));
        float[] dbias = new float[c];
        for (int ch = 0; ch < c; ch++) {
            double s = 0;
            for (int i = 0; i < n; i++) s += sums[i * c + ch];
            dbias[ch] = (float) s;
        }
        return new Tensor[] {dz, CpuBackend.instance().fromHost(Shape.of(c), dbias)};
    }

    /** elu([x, −x]) along axis 1 (Backend#concatElu) in one pass, parallel over the N·C runs. */
    static Tensor concatElu(Tensor x) {
        Tensor y = CpuBackend.alloc(Shapes.doubledChannels(x.shape()));
        int c = x.dim(1), run = channelRun("concatElu", x);
        MemorySegment xs = x.segment(), ys = y.segment();
        Kernels k = Kernels.active();
        overHalves(x.dim(0), c, run, (i, single, first, second) -> k.concatElu(xs, single, ys, first, second, run));
        return y;
    }

    /** dx of concatElu (Backend#concatEluBackward) in one pass. */
    static Tensor concatEluBackward(Tensor x, Tensor y, Tensor dy) {
        Shapes.requireSameShape("concatEluBackward (y vs dy)", y, dy);
        Shapes.requireHalves("concatEluBackward", x.shape(), y.shape());
        Tensor dx = CpuBackend.alloc(x.shape());
        int c = x.dim(1), run = channelRun("concatEluBackward", x);
        MemorySegment xs = x.segment(), ys = y.segment(), gs = dy.segment(), dxs = dx.segment();
        Kernels k = Kernels.active();
        overHalves(x.dim(0), c, run, (i, single, first, second) -> k.concatEluBackward(xs, ys, gs, dxs, single, first, second, run));
        return dx;
    }

    /** residual + h₁·sigmoid(h₂), [h₁, h₂] = h + bias (Backend#gate) in one pass, parallel over the N·C runs. */
    static Tensor gate(Tensor h, Tensor bias, Tensor residual) {
        Tensor y = CpuBackend.alloc(Shapes.half("gate", h.shape()));
        if (residual != null) Shapes.requireHalves("gate (residual vs h)", residual.shape(), h.shape());
        float[] b = channelBiases("gate", h, bias);
        int c = y.dim(1), run = channelRun("gate", y);
        MemorySegment hs = h.segment(), ys = y.segment(), rs = residual == null ? null : residual.segment();
        Kernels k = Kernels.active();
        overHalves(h.dim(0), c, run, (i, single, first, second) -> k.gate(hs, first, second, b[i % c], b[c + i % c], rs, ys, single, run));
        return y;
    }

    /** dh of gate (Backend#gateBackward) in one pass. */
    static Tensor gateBackward(Tensor h, Tensor bias, Tensor dy) {
        Shapes.requireHalves("gateBackward", dy.shape(), h.shape());
        float[] b = channelBiases("gateBackward", h, bias);
        Tensor dh = CpuBackend.alloc(h.shape());
        int c = dy.dim(1), run = channelRun("gateBackward", dy);
        MemorySegment hs = h.segment(), gs = dy.segment(), dhs = dh.segment();
        Kernels k = Kernels.active();
        overHalves(dy.dim(0), c, run, (i, single, first, second) -> k.gateBackward(hs, gs, dhs, first, second, b[i % c], b[c + i % c], single, run));
        return dh;
    }

    /** (a + biasA) + (b + biasB) (Backend#biasedSum) in one pass, parallel over the N·C runs. */
    static Tensor biasedSum(Tensor a, Tensor biasA, Tensor b, Tensor biasB) {
        Shapes.requireSameShape("biasedSum", a, b);
        float[] ba = channelBiases("biasedSum", a, biasA), bb = channelBiases("biasedSum", b, biasB);
        Tensor y = CpuBackend.alloc(a.shape());
        int c = a.dim(1), run = channelRun("biasedSum", a);
        MemorySegment as = a.segment(), bs = b.segment(), ys = y.segment();
        Kernels k = Kernels.active();
        overRuns(Math.multiplyExact(a.dim(0), c), run, i -> k.biasedSum(as, ba[i % c], bs, bb[i % c], ys, (long) i * run, run));
        return y;
    }

    /** A per-channel bias of x [N, C, …] as floats; for none, C times −0, which adds nothing exactly (−0 + v = v for every v). */
    private static float[] channelBiases(String op, Tensor x, Tensor bias) {
        if (bias != null) {
            Shapes.channelBias(op, x.shape(), bias);
            return bias.toFloats();
        }
        float[] none = new float[x.dim(1)];
        java.util.Arrays.fill(none, -0f);
        return none;
    }

    /** (x_b + t)·sigmoid(r + 2) (Backend#coupling) in one pass. */
    static Tensor coupling(Tensor xb, Tensor h) {
        Shapes.requireHalves("coupling", xb.shape(), h.shape());
        Tensor y = CpuBackend.alloc(xb.shape());
        int c = xb.dim(1), run = channelRun("coupling", xb);
        MemorySegment xs = xb.segment(), hs = h.segment(), ys = y.segment();
        Kernels k = Kernels.active();
        overHalves(xb.dim(0), c, run, (i, single, t, r) -> k.coupling(xs, hs, ys, single, t, r, run));
        return y;
    }

    /** {dx_b, dh} of coupling (Backend#couplingBackward) in one pass. */
    static Tensor[] couplingBackward(Tensor xb, Tensor h, Tensor dy) {
        Shapes.requireHalves("couplingBackward", xb.shape(), h.shape());
        Shapes.requireSameShape("couplingBackward (x_b vs dy)", xb, dy);
        Tensor dxb = CpuBackend.alloc(xb.shape()), dh = CpuBackend.alloc(h.shape());
        int c = xb.dim(1), run = channelRun("couplingBackward", xb);
        MemorySegment xs = xb.segment(), hs = h.segment(), gs = dy.segment(), dxs = dxb.segment(), dhs = dh.segment();
        Kernels k = Kernels.active();
        overHalves(xb.dim(0), c, run, (i, single, t, r) -> k.couplingBackward(xs, hs, gs, dxs, dhs, single, t, r, run));
        return new Tensor[] {dxb, dh};
    }

    /** Σ log sigmoid(r + 2) per image (Backend#couplingLogdet): each run summed in double, then each image's runs in order. */
    static Tensor couplingLogdet(Tensor h) {
        Shapes.half("couplingLogdet", h.shape());
        int n = h.dim(0), c = h.dim(1) / 2, run = channelRun("couplingLogdet", h);
        double[] sums = new double[Math.multiplyExact(n, c)];
        MemorySegment hs = h.segment();
        Kernels k = Kernels.active();
        overHalves(n, c, run, (i, single, t, r) -> sums[i] = k.couplingSoftplusSum(hs, r, run));
        float[] logdet = new float[n];
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int ch = 0; ch < c; ch++) s += sums[i * c + ch];
            logdet[i] = (float) -s;
        }
        return CpuBackend.instance().fromHost(Shape.of(n), logdet);
    }

    /** dh of couplingLogdet (Backend#couplingLogdetBackward) for dlogdet [N], in one pass. */
    static Tensor couplingLogdetBackward(Tensor h, Tensor dlogdet) {
        Shapes.half("couplingLogdetBackward", h.shape());
        int n = h.dim(0), c = h.dim(1) / 2, run = channelRun("couplingLogdetBackward", h);
        if (dlogdet.numel() != n) throw new IllegalArgumentException("couplingLogdetBackward: a gradient of " + n + " values for " + h.shape() + ", got " + dlogdet.shape());
        float[] g = dlogdet.toFloats();
        Tensor dh = CpuBackend.alloc(h.shape());
        MemorySegment hs = h.segment(), dhs = dh.segment();
        Kernels k = Kernels.active();
        overHalves(n, c, run, (i, single, t, r) -> k.couplingLogdetBackward(hs, dhs, t, r, run, g[i / c]));
        return dh;
    }

    /** Calls body for each of {@code runs} runs of {@code run} elements, in parallel (several short runs per thread handoff). */
    private static void overRuns(int runs, int run, IntConsumer body) {
        Parallel.forRange(runs, Math.max(1, Chunks.GRAIN / Math.max(1, run)), (from, to) -> {
            for (int r = from; r < to; r++) body.accept(r);
        });
    }

    /** Run i = n·C + c: where it starts in a C-channel tensor, and where its channel starts in each half of a 2C-channel one. */
    @FunctionalInterface
    private interface HalvesRun { void at(int i, long single, long first, long second); }

    /** Calls body for each of the N·C channel runs of a C-channel tensor and its 2C-channel partner, in parallel. */
    private static void overHalves(int n, int c, int run, HalvesRun body) {
        overRuns(Math.multiplyExact(n, c), run, i -> {
            long first = ((long) (i / c) * 2 * c + i % c) * run;
            body.at(i, (long) i * run, first, first + (long) c * run);
        });
    }

    /** Elements of one channel of one image of x [N, C, …]. */
    private static int channelRun(String op, Tensor x) {
        long run = x.numel() / Math.max(1, (long) x.dim(0) * x.dim(1));
        if (run > Integer.MAX_VALUE) throw new IllegalArgumentException(op + ": " + x.shape() + " has more than 2^31 − 1 elements per channel");
        return (int) run;
    }

    static Tensor affine(Tensor x, float alpha, float beta) {
        Tensor y = CpuBackend.alloc(x.shape());
        MemorySegment xs = x.segment(), ys = y.segment();
        Kernels k = Kernels.active();
        Chunks.run(x.numel(), (from, to) -> k.affine(xs, ys, from, (int) (to - from), alpha, beta));
        return y;
    }

    static void axpy(float alpha, Tensor x, Tensor y) {
        Shapes.requireSameShape("axpy", x, y);
        MemorySegment xs = x.segment(), ys = y.segment();
        Kernels k = Kernels.active();
        Chunks.run(x.numel(), (from, to) -> k.axpy(alpha, xs, ys, from, (int) (to - from)));
    }
}
