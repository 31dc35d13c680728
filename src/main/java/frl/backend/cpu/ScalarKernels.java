package frl.backend.cpu;

import frl.backend.BinaryOp;
import frl.backend.MixtureMath;
import frl.backend.UnaryOp;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/** Plain loops: each element through the double-precision definitions, rounded once to float. */
final class ScalarKernels extends Kernels {
    @Override String name() { return "scalar"; }

    private static float get(MemorySegment m, long i) { return m.getAtIndex(JAVA_FLOAT, i); }

    private static void set(MemorySegment m, long i, double v) { m.setAtIndex(JAVA_FLOAT, i, (float) v); }

    @Override void unary(UnaryOp op, MemorySegment x, MemorySegment y, long off, int n, double a, double b) {
        for (long i = off; i < off + n; i++) set(y, i, op.apply(get(x, i), a, b));
    }

    @Override void unaryBackward(UnaryOp op, MemorySegment x, MemorySegment y, MemorySegment dy, MemorySegment dx, long off, int n, double a, double b) {
        for (long i = off; i < off + n; i++) set(dx, i, get(dy, i) * op.derivative(get(x, i), get(y, i), a, b));
    }

    @Override void binary(BinaryOp op, MemorySegment a, long aOff, boolean aRepeat, MemorySegment b, long bOff, boolean bRepeat,
                          MemorySegment out, long outOff, int n) {
        for (int i = 0; i < n; i++) set(out, outOff + i, op.apply(get(a, aRepeat ? aOff : aOff + i), get(b, bRepeat ? bOff : bOff + i)));
    }

    @Override void affine(MemorySegment x, MemorySegment y, long off, int n, float alpha, float beta) {
        for (long i = off; i < off + n; i++) set(y, i, (double) alpha * get(x, i) + beta);
    }

    @Override void axpy(float alpha, MemorySegment x, MemorySegment y, long off, int n) {
        for (long i = off; i < off + n; i++) set(y, i, get(y, i) + (double) alpha * get(x, i));
    }

    @Override void fmaRuns(MemorySegment a, float[] mul, float[] add, int period, MemorySegment out, long r0, long r1, int n) {
        for (long r = r0; r < r1; r++) {
            float m = mul[(int) (r % period)], c = add[(int) (r % period)];
            for (long i = r * n; i < (r + 1) * n; i++) out.setAtIndex(JAVA_FLOAT, i, Math.fma(get(a, i), m, c));
        }
    }

    @Override void biasRelu(MemorySegment z, MemorySegment y, long off, int n, float bias) {
        for (long i = off; i < off + n; i++) {
            float v = get(z, i) + bias;
            set(y, i, v > 0 ? v : 0);
        }
    }

    @Override double reluBackwardSum(MemorySegment y, MemorySegment dy, MemorySegment dz, long off, int n) {
        double s = 0;
        for (long i = off; i < off + n; i++) {
            float g = get(y, i) > 0 ? get(dy, i) : 0;
            set(dz, i, g);
            s += g;
        }
        return s;
    }

    @Override void concatElu(MemorySegment x, long x0, MemorySegment y, long y1, long y2, int n) {
        for (int i = 0; i < n; i++) {
            float v = get(x, x0 + i);
            set(y, y1 + i, UnaryOp.ELU.apply(v, 1, 0));
            set(y, y2 + i, UnaryOp.ELU.apply(-v, 1, 0));
        }
    }

    @Override void concatEluBackward(MemorySegment x, MemorySegment y, MemorySegment dy, MemorySegment dx, long x0, long y1, long y2, int n) {
        for (int i = 0; i < n; i++) {   // each half's gradient rounded to float, then their difference: as the composed ops round
            float v = get(x, x0 + i);
            float g1 = (float) (get(dy, y1 + i) * UnaryOp.ELU.derivative(v, get(y, y1 + i), 1, 0));
            float g2 = (float) (get(dy, y2 + i) * UnaryOp.ELU.derivative(-v, get(y, y2 + i), 1, 0));
            set(dx, x0 + i, (double) g1 - g2);
        }
    }

    @Override void gate(MemorySegment h, long a, long b, float ba, float bb, MemorySegment res, MemorySegment y, long y0, int n) {
        for (int i = 0; i < n; i++) {   // the biased halves, the sigmoid and the product each rounded to float, as the composed ops round
            float s = (float) UnaryOp.SIGMOID.apply(get(h, b + i) + bb, 0, 0), g = (get(h, a + i) + ba) * s;
            set(y, y0 + i, res == null ? g : get(res, y0 + i) + g);
        }
    }

    @Override void gateBackward(MemorySegment h, MemorySegment dy, MemorySegment dh, long a, long b, float ba, float bb, long dy0, int n) {
        for (int i = 0; i < n; i++) {
            float hb = get(h, b + i) + bb, s = (float) UnaryOp.SIGMOID.apply(hb, 0, 0), g = get(dy, dy0 + i);
            float ds = g * (get(h, a + i) + ba);
            set(dh, a + i, (double) g * s);
            set(dh, b + i, ds * UnaryOp.SIGMOID.derivative(hb, s, 0, 0));
        }
    }

    @Override void biasedSum(MemorySegment a, float ba, MemorySegment b, float bb, MemorySegment y, long off, int n) {
        for (long i = off; i < off + n; i++) set(y, i, (get(a, i) + ba) + (get(b, i) + bb));
    }

    // The coupling's runs round where its composed ops round: x_b + t, r + 2 and the sigmoid each to float.

    @Override void coupling(MemorySegment xb, MemorySegment h, MemorySegment y, long y0, long t, long r, int n) {
        for (int i = 0; i < n; i++) {
            float u = (float) ((double) get(xb, y0 + i) + get(h, t + i)), s = (float) UnaryOp.SIGMOID.apply((float) (get(h, r + i) + 2.0), 0, 0);
            set(y, y0 + i, (double) u * s);
        }
    }

    @Override void couplingBackward(MemorySegment xb, MemorySegment h, MemorySegment dy, MemorySegment dxb, MemorySegment dh, long x0, long t, long r, int n) {
        for (int i = 0; i < n; i++) {
            float u = (float) ((double) get(xb, x0 + i) + get(h, t + i)), s = (float) UnaryOp.SIGMOID.apply((float) (get(h, r + i) + 2.0), 0, 0);
            float d = get(dy, x0 + i), g = (float) ((double) d * s), du = (float) ((double) d * u);
            set(dxb, x0 + i, g);
            set(dh, t + i, g);
            set(dh, r + i, du * UnaryOp.SIGMOID.derivative(0, s, 0, 0));
        }
    }

    @Override double couplingSoftplusSum(MemorySegment h, long r, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += (float) UnaryOp.SOFTPLUS.apply(-(float) (get(h, r + i) + 2.0), 0, 0);
        return sum;
    }

    @Override void couplingLogdetBackward(MemorySegment h, MemorySegment dh, long t, long r, int n, float g) {
        for (int i = 0; i < n; i++) {
            set(dh, t + i, 0);
            set(dh, r + i, (double) g * UnaryOp.SOFTPLUS.derivative(-(float) (get(h, r + i) + 2.0), 0, 0, 0));
        }
    }

    @Override void mixtureNll(MemorySegment x, long x0, MemorySegment p, long p0, MemorySegment out, long o0, int hw, int q0, int q1, int c, int m) {
        mixturePixels(x, x0, p, p0, hw, q0, q1, c, m, (math, px, pp, q) -> set(out, o0 + q, math.nll(px, pp)));
    }

    @Override void mixtureNllBackward(MemorySegment x, long x0, MemorySegment p, long p0, MemorySegment g, long g0, MemorySegment dp, long d0,
                                      int hw, int q0, int q1, int c, int m) {
        double[] grad = new double[MixtureMath.parameterChannels(c, m)];
        mixturePixels(x, x0, p, p0, hw, q0, q1, c, m, (math, px, pp, q) -> {
            math.backward(px, pp, get(g, g0 + q), grad);
            for (int j = 0; j < grad.length; j++) set(dp, d0 + (long) j * hw + q, grad[j]);
        });
    }

    @FunctionalInterface
    private interface Pixel { void at(MixtureMath math, double[] x, double[] p, int q); }

    /** Each pixel q of [q0, q1) gathered from its planes (x's C, the parameters' P) into doubles, then handed to body. */
    private static void mixturePixels(MemorySegment x, long x0, MemorySegment p, long p0, int hw, int q0, int q1, int c, int m, Pixel body) {
        MixtureMath math = new MixtureMath(c, m);
        double[] px = new double[c], pp = new double[MixtureMath.parameterChannels(c, m)];
        for (int q = q0; q < q1; q++) {
            for (int ch = 0; ch < c; ch++) px[ch] = get(x, x0 + (long) ch * hw + q);
            for (int j = 0; j < pp.length; j++) pp[j] = get(p, p0 + (long) j * hw + q);
            body.at(math, px, pp, q);
        }
    }

    @Override double sum(MemorySegment x, long off, int n) {
        double s = 0;
        for (long i = off; i < off + n; i++) s += get(x, i);
        return s;
    }

    @Override void accumulate(double[] acc, int accOff, MemorySegment x, long off, int n) {
        for (int i = 0; i < n; i++) acc[accOff + i] += get(x, off + i);
    }

    @Override void maxLanes(float[] m, MemorySegment x, long off, int n) {
        for (int i = 0; i < n; i++) m[i] = Math.max(m[i], get(x, off + i));
    }

    @Override void sumExpLanes(float[] s, float[] shift, MemorySegment x, long off, int n) {
        for (int i = 0; i < n; i++) s[i] += (float) Math.exp((double) get(x, off + i) - shift[i]);
    }

    @Override void expScaledLanes(MemorySegment x, long off, float[] shift, float[] scale, MemorySegment out, long outOff, int n) {
        for (int i = 0; i < n; i++) set(out, outOff + i, Math.exp((double) get(x, off + i) - shift[i]) * scale[i]);
    }

    @Override float maxRow(MemorySegment x, long off, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (long i = off; i < off + n; i++) m = Math.max(m, get(x, i));
        return m;
    }

    @Override double sumExpRow(MemorySegment x, long off, int n, float shift) {
        double s = 0;
        for (long i = off; i < off + n; i++) s += Math.exp((double) get(x, i) - shift);
        return s;
    }

    @Override void expScaledRow(MemorySegment x, long off, float shift, float scale, MemorySegment out, long outOff, int n) {
        for (int i = 0; i < n; i++) set(out, outOff + i, Math.exp((double) get(x, off + i) - shift) * scale);
    }

    @Override void adam(MemorySegment p, MemorySegment g, MemorySegment m, MemorySegment v, long off, int n, AdamFactors f) {
        double b1 = f.beta1(), b2 = f.beta2(), wd = f.weightDecay(), eps = f.eps(), stepSize = f.stepSize(), sqrtBc2 = f.sqrtBc2();
        for (long i = off, end = off + n; i < end; i++) {
            double pi = get(p, i);
            double gi = get(g, i) + wd * pi;
            double mi = b1 * get(m, i) + (1 - b1) * gi;
            double vi = b2 * get(v, i) + (1 - b2) * gi * gi;
            set(m, i, mi);
            set(v, i, vi);
            set(p, i, pi - stepSize * mi / (Math.sqrt(vi) / sqrtBc2 + eps));
        }
    }
}
