package frl.backend.cpu;

import frl.backend.BinaryOp;
import frl.backend.UnaryOp;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static jdk.incubator.vector.VectorOperators.ADD;
import static jdk.incubator.vector.VectorOperators.D2F;
import static jdk.incubator.vector.VectorOperators.F2D;
import static jdk.incubator.vector.VectorOperators.GE;
import static jdk.incubator.vector.VectorOperators.GT;
import static jdk.incubator.vector.VectorOperators.LE;
import static jdk.incubator.vector.VectorOperators.LT;
import static jdk.incubator.vector.VectorOperators.MAX;

/**
 * Vector-API loops in float32 over the machine's widest vectors; the tail of each run (fewer elements than a
 * vector) goes through the scalar kernels. Only loaded when jdk.incubator.vector is in the boot layer.
 */
final class VectorApiKernels extends Kernels {
    private static final VectorSpecies<Float> F = VectorMath.F;
    /** Same bit size as F, so a float vector widens into two of these (parts 0 and 1). */
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final ScalarKernels TAIL = new ScalarKernels();

    private VectorApiKernels() {}

    /** The factory {@link Kernels} calls, typed so that verifying the caller does not load this class. */
    static Kernels create() { return new VectorApiKernels(); }

    @Override String name() { return "vector-api (" + F.length() + " lanes)"; }

    // Only native segments reach load and store: once a heap segment had passed through them, the JIT
    // stopped intrinsifying the loops that inline them (measured: 10x slower).
    private static FloatVector load(MemorySegment m, long i) { return FloatVector.fromMemorySegment(F, m, i * 4, ORDER); }

    private static void store(FloatVector v, MemorySegment m, long i) { v.intoMemorySegment(m, i * 4, ORDER); }

    private static DoubleVector widen(FloatVector v, int part) { return (DoubleVector) v.convertShape(F2D, D, part); }

    /** 1 / (1 + e^−x) from e^−|x| ≤ 1, so neither sign overflows. */
    private static FloatVector sigmoid(FloatVector x) {
        FloatVector e = VectorMath.exp(x.abs().neg()), inv = ONE.div(e.add(1f));
        return inv.blend(e.mul(inv), x.compare(LT, 0f));
    }

    // Each op's loop is its own lambda, so that it is compiled and profiled on its own. One method holding
    // every op's loop gets recompiled as new ops arrive, and C2 then gave up intrinsifying some of them
    // (measured: up to 30x slower, depending on the order in which the ops were first used).

    @FunctionalInterface
    private interface ForwardLoop { void run(MemorySegment x, MemorySegment y, long off, int end, float a, float b); }

    @FunctionalInterface
    private interface BackwardLoop { void run(MemorySegment x, MemorySegment y, MemorySegment dy, MemorySegment dx, long off, int end, float a, float b); }

    @FunctionalInterface
    private interface BinaryLoop { void run(MemorySegment a, long aOff, MemorySegment b, long bOff, MemorySegment out, long outOff, int end); }

    /** A binary loop where one operand is a single value. */
    @FunctionalInterface
    private interface ScalarLoop { void run(FloatVector s, MemorySegment v, long vOff, MemorySegment out, long outOff, int end); }

    private static final int STEP = F.length();
    private static final FloatVector ZERO = FloatVector.zero(F), ONE = FloatVector.broadcast(F, 1f);

    /** y = f(x) over [0, end), end a multiple of the vector length; a, b are the op's parameters as floats. */
    private static ForwardLoop forward(UnaryOp op) {
        return switch (op) {
            case RELU -> (x, y, off, end, a, b) -> { for (int i = 0; i < end; i += STEP) { FloatVector v = load(x, off + i); store(ZERO.blend(v, v.compare(GT, 0f)), y, off + i); } };
            case ELU -> (x, y, off, end, a, b) -> { for (int i = 0; i < end; i += STEP) { FloatVector v = load(x, off + i); store(VectorMath.expm1(v).mul(a).blend(v, v.compare(GT, 0f)), y, off + i); } };
            case SIGMOID -> (x, y, off, end, a, b) -> { for (int i = 0; i < end; i += STEP) store(sigmoid(load(x, off + i)), y, off + i); };
            case TANH -> (x, y, off, end, a, b) -> { for (int i = 0; i < end; i += STEP) store(VectorMath.tanh(load(x, off + i)), y, off + i); };
            case EXP -> (x, y, off, end, a, b) -> { for (int i = 0; i < end; i += STEP) store(VectorMath.exp(load(x, off + i)), y, off + i); };
            case LOG -> (x, y, off, end, a, b) -> { for (int i = 0; i < end; i += STEP) store(VectorMath.log(load(x, off + i)), y, off + i); };
            case SOFTPLUS -> (x, y, off, end, a, b) -> {
                for (int i = 0; i < end; i += STEP) { FloatVector v = load(x, off + i); store(v.max(0f).add(VectorMath.log1p(VectorMath.exp(v.abs().neg()))), y, off + i); }
            };
            case SQUARE -> (x, y, off, end, a, b) -> { for (int i = 0; i < end; i += STEP) { FloatVector v = load(x, off + i); store(v.mul(v), y, off + i); } };
            case SQRT -> (x, y, off, end, a, b) -> { for (int i = 0; i < end; i += STEP) store(load(x, off + i).sqrt(), y, off + i); };
            case NEG -> (x, y, off, end, a, b) -> { for (int i = 0; i < end; i += STEP) store(load(x, off + i).neg(), y, off + i); };
            case CLAMP -> (x, y, off, end, a, b) -> { for (int i = 0; i < end; i += STEP) store(load(x, off + i).max(a).min(b), y, off + i); };
        };
    }

    /** dx = dy · f'(x, y) over [0, end); for CLAMP, a and b are the float bounds that x is compared with. */
    private static BackwardLoop backward(UnaryOp op) {
        return switch (op) {
            case RELU -> (x, y, dy, dx, off, end, a, b) -> { for (int i = 0; i < end; i += STEP) store(ZERO.blend(load(dy, off + i), load(x, off + i).compare(GT, 0f)), dx, off + i); };
            case ELU -> (x, y, dy, dx, off, end, a, b) -> {
                for (int i = 0; i < end; i += STEP) { FloatVector g = load(dy, off + i); store(g.mul(load(y, off + i).add(a)).blend(g, load(x, off + i).compare(GT, 0f)), dx, off + i); }
            };
            case SIGMOID -> (x, y, dy, dx, off, end, a, b) -> { for (int i = 0; i < end; i += STEP) { FloatVector v = load(y, off + i); store(load(dy, off + i).mul(v.mul(ONE.sub(v))), dx, off + i); } };
            case TANH -> (x, y, dy, dx, off, end, a, b) -> { for (int i = 0; i < end; i += STEP) { FloatVector v = load(y, off + i); store(load(dy, off + i).mul(v.neg().fma(v, ONE)), dx, off + i); } };
            case EXP -> (x, y, dy, dx, off, end, a, b) -> { for (int i = 0; i < end; i += STEP) store(load(dy, off + i).mul(load(y, off + i)), dx, off + i); };
            case LOG -> (x, y, dy, dx, off, end, a, b) -> { for (int i = 0; i < end; i += STEP) store(load(dy, off + i).div(load(x, off + i)), dx, off + i); };
            case SOFTPLUS -> (x, y, dy, dx, off, end, a, b) -> { for (int i = 0; i < end; i += STEP) store(load(dy, off + i).mul(sigmoid(load(x, off + i))), dx, off + i); };
            case SQUARE -> (x, y, dy, dx, off, end, a, b) -> { for (int i = 0; i < end; i += STEP) { FloatVector v = load(x, off + i); store(load(dy, off + i).mul(v.add(v)), dx, off + i); } };
            case SQRT -> (x, y, dy, dx, off, end, a, b) -> { for (int i = 0; i < end; i += STEP) store(load(dy, off + i).mul(0.5f).div(load(y, off + i)), dx, off + i); };
            case NEG -> (x, y, dy, dx, off, end, a, b) -> { for (int i = 0; i < end; i += STEP) store(load(dy, off + i).neg(), dx, off + i); };
            case CLAMP -> (x, y, dy, dx, off, end, a, b) -> {
                for (int i = 0; i < end; i += STEP) { FloatVector v = load(x, off + i); store(ZERO.blend(load(dy, off + i), v.compare(GE, a).and(v.compare(LE, b))), dx, off + i); }
            };
        };
    }

    /** out = a op b over [0, end). */
    private static BinaryLoop binary(BinaryOp op) {
        return switch (op) {
            case ADD -> (a, ao, b, bo, out, oo, end) -> { for (int i = 0; i < end; i += STEP) store(load(a, ao + i).add(load(b, bo + i)), out, oo + i); };
            case SUB -> (a, ao, b, bo, out, oo, end) -> { for (int i = 0; i < end; i += STEP) store(load(a, ao + i).sub(load(b, bo + i)), out, oo + i); };
            case MUL -> (a, ao, b, bo, out, oo, end) -> { for (int i = 0; i < end; i += STEP) store(load(a, ao + i).mul(load(b, bo + i)), out, oo + i); };
            case DIV -> (a, ao, b, bo, out, oo, end) -> { for (int i = 0; i < end; i += STEP) store(load(a, ao + i).div(load(b, bo + i)), out, oo + i); };
        };
    }

    /** out = s op v over [0, end). */
    private static ScalarLoop scalarFirst(BinaryOp op) {
        return switch (op) {
            case ADD -> (s, v, vo, out, oo, end) -> { for (int i = 0; i < end; i += STEP) store(s.add(load(v, vo + i)), out, oo + i); };
            case SUB -> (s, v, vo, out, oo, end) -> { for (int i = 0; i < end; i += STEP) store(s.sub(load(v, vo + i)), out, oo + i); };
            case MUL -> (s, v, vo, out, oo, end) -> { for (int i = 0; i < end; i += STEP) store(s.mul(load(v, vo + i)), out, oo + i); };
            case DIV -> (s, v, vo, out, oo, end) -> { for (int i = 0; i < end; i += STEP) store(s.div(load(v, vo + i)), out, oo + i); };
        };
    }

    /** out = v op s over [0, end). */
    private static ScalarLoop scalarSecond(BinaryOp op) {
        return switch (op) {
            case ADD -> (s, v, vo, out, oo, end) -> { for (int i = 0; i < end; i += STEP) store(load(v, vo + i).add(s), out, oo + i); };
            case SUB -> (s, v, vo, out, oo, end) -> { for (int i = 0; i < end; i += STEP) store(load(v, vo + i).sub(s), out, oo + i); };
            case MUL -> (s, v, vo, out, oo, end) -> { for (int i = 0; i < end; i += STEP) store(load(v, vo + i).mul(s), out, oo + i); };
            case DIV -> (s, v, vo, out, oo, end) -> { for (int i = 0; i < end; i += STEP) store(load(v, vo + i).div(s), out, oo + i); };
        };
    }

    @Override void unary(UnaryOp op, MemorySegment x, MemorySegment y, long off, int n, double a, double b) {
        int end = F.loopBound(n);
        forward(op).run(x, y, off, end, (float) a, (float) b);
        TAIL.unary(op, x, y, off + end, n - end, a, b);
    }

    @Override void unaryBackward(UnaryOp op, MemorySegment x, MemorySegment y, MemorySegment dy, MemorySegment dx, long off, int n, double a, double b) {
        int end = F.loopBound(n);
        float lo = op == UnaryOp.CLAMP ? floatAtLeast(a) : (float) a, hi = floatAtMost(b);
        backward(op).run(x, y, dy, dx, off, end, lo, hi);
        TAIL.unaryBackward(op, x, y, dy, dx, off + end, n - end, a, b);
    }

    /** The least float ≥ a: a float x satisfies x ≥ a (in double) exactly when x ≥ this. */
    private static float floatAtLeast(double a) {
        float f = (float) a;
        return f < a ? Math.nextUp(f) : f;
    }

    /** The greatest float ≤ b. */
    private static float floatAtMost(double b) {
        float f = (float) b;
        return f > b ? Math.nextDown(f) : f;
    }

    @Override void binary(BinaryOp op, MemorySegment a, long aOff, boolean aRepeat, MemorySegment b, long bOff, boolean bRepeat,
                          MemorySegment out, long outOff, int n) {
        int end = aRepeat && bRepeat ? 0 : F.loopBound(n);
        if (aRepeat && end > 0) scalarFirst(op).run(FloatVector.broadcast(F, a.getAtIndex(JAVA_FLOAT, aOff)), b, bOff, out, outOff, end);
        else if (bRepeat && end > 0) scalarSecond(op).run(FloatVector.broadcast(F, b.getAtIndex(JAVA_FLOAT, bOff)), a, aOff, out, outOff, end);
        else binary(op).run(a, aOff, b, bOff, out, outOff, end);
        TAIL.binary(op, a, aRepeat ? aOff : aOff + end, aRepeat, b, bRepeat ? bOff : bOff + end, bRepeat, out, outOff + end, n - end);
    }

    @Override void fmaRuns(MemorySegment a, float[] mul, float[] add, int period, MemorySegment out, long r0, long r1, int n) {
        int end = F.loopBound(n);
        for (long r = r0; r < r1; r++) {
            float m = mul[(int) (r % period)], c = add[(int) (r % period)];
            FloatVector vm = FloatVector.broadcast(F, m), vc = FloatVector.broadcast(F, c);
            long off = r * n;
            int i = 0;
            for (; i < end; i += STEP) store(load(a, off + i).fma(vm, vc), out, off + i);
            for (; i < n; i++) out.setAtIndex(JAVA_FLOAT, off + i, Math.fma(a.getAtIndex(JAVA_FLOAT, off + i), m, c));
        }
    }

    @Override void affine(MemorySegment x, MemorySegment y, long off, int n, float alpha, float beta) {
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += F.length()) store(load(x, off + i).fma(alpha, beta), y, off + i);
        TAIL.affine(x, y, off + i, n - i, alpha, beta);
    }

    @Override void axpy(float alpha, MemorySegment x, MemorySegment y, long off, int n) {
        FloatVector va = FloatVector.broadcast(F, alpha);
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += F.length()) store(load(x, off + i).fma(va, load(y, off + i)), y, off + i);
        TAIL.axpy(alpha, x, y, off + i, n - i);
    }

    @Override void biasRelu(MemorySegment z, MemorySegment y, long off, int n, float bias) {
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += STEP) {
            FloatVector v = load(z, off + i).add(bias);
            store(ZERO.blend(v, v.compare(GT, 0f)), y, off + i);
        }
        TAIL.biasRelu(z, y, off + i, n - i, bias);
    }

    @Override double reluBackwardSum(MemorySegment y, MemorySegment dy, MemorySegment dz, long off, int n) {
        DoubleVector s0 = DoubleVector.zero(D), s1 = DoubleVector.zero(D);
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += STEP) {
            FloatVector g = ZERO.blend(load(dy, off + i), load(y, off + i).compare(GT, 0f));
            store(g, dz, off + i);
            s0 = s0.add(widen(g, 0));
            s1 = s1.add(widen(g, 1));
        }
        return s0.add(s1).reduceLanes(ADD) + TAIL.reluBackwardSum(y, dy, dz, off + i, n - i);
    }

    @Override void concatElu(MemorySegment x, long x0, MemorySegment y, long y1, long y2, int n) {
        int i = 0;
        // one e^−|x| − 1 serves both: elu(x) takes it where x < 0, elu(−x) where x > 0; elsewhere (zeros of either
        // sign, NaN) each is its input, as ELU's loop gives (e^±0 − 1 = ±0)
        for (int end = F.loopBound(n); i < end; i += STEP) {
            FloatVector v = load(x, x0 + i), m = v.neg(), e = VectorMath.expm1(v.abs().neg());
            store(v.blend(e, v.compare(LT, 0f)), y, y1 + i);
            store(m.blend(e, v.compare(GT, 0f)), y, y2 + i);
        }
        TAIL.concatElu(x, x0 + i, y, y1 + i, y2 + i, n - i);
    }

    @Override void concatEluBackward(MemorySegment x, MemorySegment y, MemorySegment dy, MemorySegment dx, long x0, long y1, long y2, int n) {
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += STEP) {
            FloatVector v = load(x, x0 + i), d1 = load(dy, y1 + i), d2 = load(dy, y2 + i);
            FloatVector g1 = d1.mul(load(y, y1 + i).add(1f)).blend(d1, v.compare(GT, 0f));
            FloatVector g2 = d2.mul(load(y, y2 + i).add(1f)).blend(d2, v.neg().compare(GT, 0f));
            store(g1.sub(g2), dx, x0 + i);
        }
        TAIL.concatEluBackward(x, y, dy, dx, x0 + i, y1 + i, y2 + i, n - i);
    }

    @Override void gate(MemorySegment h, long a, long b, float ba, float bb, MemorySegment res, MemorySegment y, long y0, int n) {
        FloatVector va = FloatVector.broadcast(F, ba), vb = FloatVector.broadcast(F, bb);
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += STEP) {
            FloatVector g = load(h, a + i).add(va).mul(sigmoid(load(h, b + i).add(vb)));
            store(res == null ? g : load(res, y0 + i).add(g), y, y0 + i);
        }
        TAIL.gate(h, a + i, b + i, ba, bb, res, y, y0 + i, n - i);
    }

    @Override void gateBackward(MemorySegment h, MemorySegment dy, MemorySegment dh, long a, long b, float ba, float bb, long dy0, int n) {
        FloatVector va = FloatVector.broadcast(F, ba), vb = FloatVector.broadcast(F, bb);
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += STEP) {
            FloatVector s = sigmoid(load(h, b + i).add(vb)), g = load(dy, dy0 + i);
            store(g.mul(s), dh, a + i);
            store(g.mul(load(h, a + i).add(va)).mul(s.mul(ONE.sub(s))), dh, b + i);   // SIGMOID's backward of dy·h₁
        }
        TAIL.gateBackward(h, dy, dh, a + i, b + i, ba, bb, dy0 + i, n - i);
    }

    @Override void biasedSum(MemorySegment a, float ba, MemorySegment b, float bb, MemorySegment y, long off, int n) {
        FloatVector va = FloatVector.broadcast(F, ba), vb = FloatVector.broadcast(F, bb);
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += STEP) store(load(a, off + i).add(va).add(load(b, off + i).add(vb)), y, off + i);
        TAIL.biasedSum(a, ba, b, bb, y, off + i, n - i);
    }

    @Override void coupling(MemorySegment xb, MemorySegment h, MemorySegment y, long y0, long t, long r, int n) {
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += STEP)
            store(load(xb, y0 + i).add(load(h, t + i)).mul(sigmoid(load(h, r + i).add(2f))), y, y0 + i);
        TAIL.coupling(xb, h, y, y0 + i, t + i, r + i, n - i);
    }

    @Override void couplingBackward(MemorySegment xb, MemorySegment h, MemorySegment dy, MemorySegment dxb, MemorySegment dh, long x0, long t, long r, int n) {
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += STEP) {
            FloatVector s = sigmoid(load(h, r + i).add(2f)), d = load(dy, x0 + i), g = d.mul(s);
            store(g, dxb, x0 + i);
            store(g, dh, t + i);
            store(d.mul(load(xb, x0 + i).add(load(h, t + i))).mul(s.mul(ONE.sub(s))), dh, r + i);   // SIGMOID's backward of dy·(x_b + t)
        }
        TAIL.couplingBackward(xb, h, dy, dxb, dh, x0 + i, t + i, r + i, n - i);
    }

    @Override void mixtureNll(MemorySegment x, long x0, MemorySegment p, long p0, MemorySegment out, long o0, int hw, int q0, int q1, int c, int m) {
        int q = new VectorMixture(c, m).nll(x, x0, p, p0, out, o0, hw, q0, q1);
        TAIL.mixtureNll(x, x0, p, p0, out, o0, hw, q, q1, c, m);
    }

    @Override void mixtureNllBackward(MemorySegment x, long x0, MemorySegment p, long p0, MemorySegment g, long g0, MemorySegment dp, long d0,
                                      int hw, int q0, int q1, int c, int m) {
        int q = new VectorMixture(c, m).backward(x, x0, p, p0, g, g0, dp, d0, hw, q0, q1);
        TAIL.mixtureNllBackward(x, x0, p, p0, g, g0, dp, d0, hw, q, q1, c, m);
    }

    @Override double couplingSoftplusSum(MemorySegment h, long r, int n) {
        DoubleVector s0 = DoubleVector.zero(D), s1 = DoubleVector.zero(D);
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += STEP) {
            FloatVector m = load(h, r + i).add(2f).neg(), sp = m.max(0f).add(VectorMath.log1p(VectorMath.exp(m.abs().neg())));   // SOFTPLUS's loop
            s0 = s0.add(widen(sp, 0));
            s1 = s1.add(widen(sp, 1));
        }
        return s0.add(s1).reduceLanes(ADD) + TAIL.couplingSoftplusSum(h, r + i, n - i);
    }

    @Override void couplingLogdetBackward(MemorySegment h, MemorySegment dh, long t, long r, int n, float g) {
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += STEP) {
            store(ZERO, dh, t + i);
            store(sigmoid(load(h, r + i).add(2f).neg()).mul(g), dh, r + i);
        }
        TAIL.couplingLogdetBackward(h, dh, t + i, r + i, n - i, g);
    }

    @Override double sum(MemorySegment x, long off, int n) {
        DoubleVector s0 = DoubleVector.zero(D), s1 = DoubleVector.zero(D);
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += F.length()) {
            FloatVector v = load(x, off + i);
            s0 = s0.add(widen(v, 0));
            s1 = s1.add(widen(v, 1));
        }
        return s0.add(s1).reduceLanes(ADD) + TAIL.sum(x, off + i, n - i);
    }

    @Override void accumulate(double[] acc, int accOff, MemorySegment x, long off, int n) {
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += F.length()) {
            FloatVector v = load(x, off + i);
            int lo = accOff + i, hi = lo + D.length();
            DoubleVector.fromArray(D, acc, lo).add(widen(v, 0)).intoArray(acc, lo);
            DoubleVector.fromArray(D, acc, hi).add(widen(v, 1)).intoArray(acc, hi);
        }
        TAIL.accumulate(acc, accOff + i, x, off + i, n - i);
    }

    @Override void maxLanes(float[] m, MemorySegment x, long off, int n) {
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += F.length()) FloatVector.fromArray(F, m, i).max(load(x, off + i)).intoArray(m, i);
        for (; i < n; i++) m[i] = Math.max(m[i], x.getAtIndex(JAVA_FLOAT, off + i));
    }

    @Override void sumExpLanes(float[] s, float[] shift, MemorySegment x, long off, int n) {
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += F.length()) {
            FloatVector e = VectorMath.exp(load(x, off + i).sub(FloatVector.fromArray(F, shift, i)));
            FloatVector.fromArray(F, s, i).add(e).intoArray(s, i);
        }
        for (; i < n; i++) s[i] += (float) Math.exp((double) x.getAtIndex(JAVA_FLOAT, off + i) - shift[i]);
    }

    @Override void expScaledLanes(MemorySegment x, long off, float[] shift, float[] scale, MemorySegment out, long outOff, int n) {
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += F.length()) {
            FloatVector e = VectorMath.exp(load(x, off + i).sub(FloatVector.fromArray(F, shift, i)));
            store(e.mul(FloatVector.fromArray(F, scale, i)), out, outOff + i);
        }
        for (; i < n; i++) {
            double e = Math.exp((double) x.getAtIndex(JAVA_FLOAT, off + i) - shift[i]);
            out.setAtIndex(JAVA_FLOAT, outOff + i, (float) (e * scale[i]));
        }
    }

    @Override float maxRow(MemorySegment x, long off, int n) {
        FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += F.length()) m = m.max(load(x, off + i));
        return Math.max(m.reduceLanes(MAX), TAIL.maxRow(x, off + i, n - i));
    }

    @Override double sumExpRow(MemorySegment x, long off, int n, float shift) {
        DoubleVector s0 = DoubleVector.zero(D), s1 = DoubleVector.zero(D);
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += F.length()) {
            FloatVector e = VectorMath.exp(load(x, off + i).sub(shift));
            s0 = s0.add(widen(e, 0));
            s1 = s1.add(widen(e, 1));
        }
        return s0.add(s1).reduceLanes(ADD) + TAIL.sumExpRow(x, off + i, n - i, shift);
    }

    @Override void expScaledRow(MemorySegment x, long off, float shift, float scale, MemorySegment out, long outOff, int n) {
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += F.length()) store(VectorMath.exp(load(x, off + i).sub(shift)).mul(scale), out, outOff + i);
        TAIL.expScaledRow(x, off + i, shift, scale, out, outOff + i, n - i);
    }

    /** Floats as many as D has lanes: a run of them widens into one double vector and narrows back. */
    private static final VectorSpecies<Float> FD = VectorSpecies.of(float.class, VectorShape.forBitSize(D.vectorBitSize() / 2));

    private static DoubleVector loadWide(MemorySegment m, long i) {
        return (DoubleVector) FloatVector.fromMemorySegment(FD, m, i * 4, ORDER).convertShape(F2D, D, 0);
    }

    private static void storeNarrow(DoubleVector v, MemorySegment m, long i) { v.convertShape(D2F, FD, 0).intoMemorySegment(m, i * 4, ORDER); }

    @Override void adam(MemorySegment p, MemorySegment g, MemorySegment m, MemorySegment v, long off, int n, AdamFactors f) {
        double b1 = f.beta1(), b2 = f.beta2(), wd = f.weightDecay(), eps = f.eps(), stepSize = f.stepSize(), sqrtBc2 = f.sqrtBc2();
        int i = 0;
        for (int end = FD.loopBound(n); i < end; i += FD.length()) {
            long at = off + i;
            DoubleVector pi = loadWide(p, at);
            DoubleVector gi = loadWide(g, at).add(pi.mul(wd));
            DoubleVector mi = loadWide(m, at).mul(b1).add(gi.mul(1 - b1));
            DoubleVector vi = loadWide(v, at).mul(b2).add(gi.mul(1 - b2).mul(gi));
            storeNarrow(mi, m, at);
            storeNarrow(vi, v, at);
            storeNarrow(pi.sub(mi.mul(stepSize).div(vi.sqrt().div(sqrtBc2).add(eps))), p, at);
        }
        TAIL.adam(p, g, m, v, off + i, n - i, f);
    }
}
