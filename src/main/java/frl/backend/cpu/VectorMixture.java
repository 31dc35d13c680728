package frl.backend.cpu;

import frl.backend.MixtureMath;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static jdk.incubator.vector.VectorOperators.GE;
import static jdk.incubator.vector.VectorOperators.GT;
import static jdk.incubator.vector.VectorOperators.LT;

/**
 * PixelCNN++'s mixture (Backend#mixtureNll) in float vectors over blocks of BLOCK pixels of one plane: MixtureMath's
 * arithmetic, each branch computed in every lane and the lane's own kept (VectorMath's exp, log and log1p). Each stage
 * is a short loop over the block's arrays, at most one exp or log in it: C2 inlines VectorMath there, where one loop
 * holding them all was too large to inline and boxed its vectors (measured: slower than the forty ops it replaces).
 * One instance per call: it holds the block's scratch.
 */
final class VectorMixture {
    private static final VectorSpecies<Float> F = VectorMath.F;
    private static final int L = F.length();
    /** Pixels per block: the per-component arrays of a block stay in L1. */
    static final int BLOCK = 8 * L;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final float HALF_BIN = (float) MixtureMath.HALF_BIN, MIN_LOG_SCALE = (float) MixtureMath.MIN_LOG_SCALE,
            MIN_MASS = (float) MixtureMath.MIN_MASS, LOG_HALF_RANGE = (float) MixtureMath.LOG_HALF_RANGE, EDGE = (float) MixtureMath.EDGE;
    private static final FloatVector ZERO = FloatVector.zero(F), ONE = FloatVector.broadcast(F, 1f);

    private final int c, m;
    /** Per component k, at k·BLOCK: log π_k + Σ_c log P(x_c). Per (k, c), at (k·C + c)·BLOCK: the derivatives by the mean and the log-scale. */
    private final float[] logProb, dMean, dScale;
    private final float[] logitLse = new float[BLOCK], lse = new float[BLOCK], mean = new float[BLOCK], logScale = new float[BLOCK],
            inv = new float[BLOCK], plus = new float[BLOCK], minus = new float[BLOCK], mid = new float[BLOCK], ePlus = new float[BLOCK],
            eMinus = new float[BLOCK], eMid = new float[BLOCK], spPlus = new float[BLOCK], spMinus = new float[BLOCK], spMid = new float[BLOCK],
            logMass = new float[BLOCK], xc = new float[BLOCK], gw = new float[BLOCK], max = new float[BLOCK], sum = new float[BLOCK];

    VectorMixture(int c, int m) {
        this.c = c;
        this.m = m;
        logProb = new float[m * BLOCK];
        dMean = new float[m * c * BLOCK];
        dScale = new float[m * c * BLOCK];
    }

    /** −log p of pixels [q0, q1) in whole vectors; returns where the scalar tail starts. */
    int nll(MemorySegment x, long x0, MemorySegment p, long p0, MemorySegment out, long o0, int hw, int q0, int q1) {
        int q = q0;
        for (int n; (n = Math.min(BLOCK, (q1 - q) / L * L)) > 0; q += n) {
            logProbs(x, x0, p, p0, hw, q, n, false);
            for (int i = 0; i < n; i += L) store(vec(lse, i).neg(), out, o0 + q + i);
        }
        return q;
    }

    /** The same pixels' gradients: dlogit = g·(π − w), dmean = −g·w·∂, dlog-scale likewise (0 where clamped), dα = dmean·x_j. */
    int backward(MemorySegment x, long x0, MemorySegment p, long p0, MemorySegment g, long g0, MemorySegment dp, long d0, int hw, int q0, int q1) {
        int q = q0;
        for (int n; (n = Math.min(BLOCK, (q1 - q) / L * L)) > 0; q += n) {
            logProbs(x, x0, p, p0, hw, q, n, true);
            for (int k = 0; k < m; k++) {
                weightedGradients(p, p0, g, g0, dp, d0, hw, q, n, k);
                for (int ch = 0; ch < c; ch++) channelGradients(x, x0, p, p0, g, g0, dp, d0, hw, q, n, k, ch, ch * (ch - 1) / 2);
            }
        }
        return q;
    }

    /** dlogit_k = g·(π_k − w_k); leaves g·w_k in gw for the channels' gradients. */
    private void weightedGradients(MemorySegment p, long p0, MemorySegment g, long g0, MemorySegment dp, long d0, int hw, int q, int n, int k) {
        long logit = (long) k * hw + q;
        for (int i = 0; i < n; i += L) {
            FloatVector grad = load(g, g0 + q + i), w = VectorMath.exp(vec(logProb, k * BLOCK + i).sub(vec(lse, i)));
            grad.mul(w).intoArray(gw, i);
            store(grad.mul(VectorMath.exp(load(p, p0 + logit + i).sub(vec(logitLse, i))).sub(w)), dp, d0 + logit + i);
        }
    }

    /** One channel's gradients of component k: its mean's, its log-scale's (0 where clamped) and its coefficients' (pair: its first). */
    private void channelGradients(MemorySegment x, long x0, MemorySegment p, long p0, MemorySegment g, long g0, MemorySegment dp, long d0,
                                  int hw, int q, int n, int k, int ch, int pair) {
        int at = (k * c + ch) * BLOCK;
        long meanAt = (long) (m * (1 + ch) + k) * hw + q, scaleAt = (long) (m * (1 + c + ch) + k) * hw + q;
        for (int i = 0; i < n; i += L) {
            FloatVector gwi = vec(gw, i), dm = gwi.mul(vec(dMean, at + i)).neg(), ds = gwi.mul(vec(dScale, at + i)).neg();
            store(dm, dp, d0 + meanAt + i);
            store(ZERO.blend(ds, load(p, p0 + scaleAt + i).compare(GE, MIN_LOG_SCALE)), dp, d0 + scaleAt + i);
            for (int j = 0; j < ch; j++)
                store(dm.mul(load(x, x0 + (long) j * hw + q + i)), dp, d0 + (long) (m * (1 + 2 * c + pair + j) + k) * hw + q + i);
        }
    }

    /** log p of n pixels from q into lse (log Σ_k of logProb), with logitLse (logProb holds the logits first); and the derivatives, if asked. */
    private void logProbs(MemorySegment x, long x0, MemorySegment p, long p0, int hw, int q, int n, boolean derivatives) {
        for (int k = 0; k < m; k++)
            for (int i = 0; i < n; i += L) load(p, p0 + (long) k * hw + q + i).intoArray(logProb, k * BLOCK + i);
        logSumExp(logitLse, n);
        for (int k = 0; k < m; k++) {
            for (int i = 0; i < n; i += L) vec(logProb, k * BLOCK + i).sub(vec(logitLse, i)).intoArray(logProb, k * BLOCK + i);
            for (int ch = 0; ch < c; ch++) {
                channelInputs(x, x0, p, p0, hw, q, n, k, ch, ch * (ch - 1) / 2);
                expOfNegAbs(plus, ePlus, n);
                expOfNegAbs(minus, eMinus, n);
                expOfNegAbs(mid, eMid, n);
                softplus(plus, ePlus, spPlus, n);
                softplus(minus, eMinus, spMinus, n);
                softplus(mid, eMid, spMid, n);
                logOfMass(n);
                channelValue(n, k, derivatives ? (k * c + ch) * BLOCK : -1);
            }
        }
        logSumExp(lse, n);
    }

    /** xc, the channel's mean μ + Σ_j α_j·x_j, its clamped log-scale, inv = e^−logScale, and plus, minus, mid = inv·(x − mean ± half a bin, or 0). */
    private void channelInputs(MemorySegment x, long x0, MemorySegment p, long p0, int hw, int q, int n, int k, int ch, int pair) {
        for (int i = 0; i < n; i += L) {
            FloatVector mu = load(p, p0 + (long) (m * (1 + ch) + k) * hw + q + i);
            for (int j = 0; j < ch; j++)
                mu = mu.add(load(p, p0 + (long) (m * (1 + 2 * c + pair + j) + k) * hw + q + i).mul(load(x, x0 + (long) j * hw + q + i)));
            mu.intoArray(mean, i);
            FloatVector v = load(x, x0 + (long) ch * hw + q + i);
            v.intoArray(xc, i);
            load(p, p0 + (long) (m * (1 + c + ch) + k) * hw + q + i).max(MIN_LOG_SCALE).intoArray(logScale, i);
        }
        for (int i = 0; i < n; i += L) VectorMath.exp(vec(logScale, i).neg()).intoArray(inv, i);
        for (int i = 0; i < n; i += L) {
            FloatVector s = vec(inv, i), centred = vec(xc, i).sub(vec(mean, i));
            s.mul(centred.add(HALF_BIN)).intoArray(plus, i);
            s.mul(centred.sub(HALF_BIN)).intoArray(minus, i);
            s.mul(centred).intoArray(mid, i);
        }
    }

    private static void expOfNegAbs(float[] v, float[] e, int n) {
        for (int i = 0; i < n; i += L) VectorMath.exp(vec(v, i).abs().neg()).intoArray(e, i);
    }

    /** log(1 + e^v) = max(v, 0) + log1p(e^−|v|). */
    private static void softplus(float[] v, float[] e, float[] out, int n) {
        for (int i = 0; i < n; i += L) vec(v, i).max(0f).add(VectorMath.log1p(vec(e, i))).intoArray(out, i);
    }

    /** log max(sigmoid(plus) − sigmoid(minus), 1e-12): the bin's log-mass. */
    private void logOfMass(int n) {
        for (int i = 0; i < n; i += L) VectorMath.log(mass(i).max(1e-12f)).intoArray(logMass, i);
    }

    private FloatVector mass(int i) { return sigmoid(vec(plus, i), vec(ePlus, i)).sub(sigmoid(vec(minus, i), vec(eMinus, i))); }

    /** log P(bin of x) added to logProb of component k; with at ≥ 0, its derivatives by the mean and the log-scale into dMean and dScale at at. */
    private void channelValue(int n, int k, int at) {
        for (int i = 0; i < n; i += L) {
            FloatVector xv = vec(xc, i), pl = vec(plus, i), mi = vec(minus, i), md = vec(mid, i), mass = mass(i);
            VectorMask<Float> bottom = xv.compare(LT, -EDGE), top = xv.compare(GT, EDGE), density = mass.compare(GT, MIN_MASS).not();
            FloatVector value = vec(logMass, i)
                    .blend(md.sub(vec(logScale, i)).sub(vec(spMid, i).mul(2f)).sub(LOG_HALF_RANGE), density)
                    .blend(vec(spMinus, i).neg(), top)
                    .blend(pl.sub(vec(spPlus, i)), bottom);
            vec(logProb, k * BLOCK + i).add(value).intoArray(logProb, k * BLOCK + i);
            if (at < 0) continue;
            // blends, not products with 0: the bin's terms divide by a mass that is 0 in some other lanes
            VectorMask<Float> edge = bottom.or(top), notBin = density.or(edge), densityOnly = density.andNot(edge);
            FloatVector eP = vec(ePlus, i), eM = vec(eMinus, i);
            FloatVector dPlus = slope(eP).div(mass).blend(ZERO, notBin).blend(sigmoid(pl.neg(), eP), bottom);
            FloatVector dMinus = slope(eM).div(mass).neg().blend(ZERO, notBin).blend(sigmoid(mi, eM).neg(), top);
            FloatVector dMid = ZERO.blend(ONE.sub(sigmoid(md, vec(eMid, i)).mul(2f)), densityOnly), direct = ZERO.blend(ONE.neg(), densityOnly);
            vec(inv, i).neg().mul(dPlus.add(dMinus).add(dMid)).intoArray(dMean, at + i);
            direct.sub(pl.mul(dPlus).add(mi.mul(dMinus)).add(md.mul(dMid))).intoArray(dScale, at + i);
        }
    }

    /** out = log Σ_k e^{logProb_k} over n pixels (first the logits, then the components' log-probabilities). */
    private void logSumExp(float[] out, int n) {
        for (int i = 0; i < n; i += L) {
            FloatVector most = vec(logProb, i);
            for (int k = 1; k < m; k++) most = most.max(vec(logProb, k * BLOCK + i));
            most.intoArray(max, i);
        }
        for (int i = 0; i < n; i += L) ZERO.intoArray(sum, i);
        for (int k = 0; k < m; k++)
            for (int i = 0; i < n; i += L) vec(sum, i).add(VectorMath.exp(vec(logProb, k * BLOCK + i).sub(vec(max, i)))).intoArray(sum, i);
        for (int i = 0; i < n; i += L) vec(max, i).add(VectorMath.log(vec(sum, i))).intoArray(out, i);
    }

    /** 1 / (1 + e^−v) from e = e^−|v|, so neither sign overflows. */
    private static FloatVector sigmoid(FloatVector v, FloatVector e) {
        FloatVector r = ONE.div(e.add(1f));
        return r.blend(e.mul(r), v.compare(LT, 0f));
    }

    /** sigmoid'(v) = e / (1 + e)², from e = e^−|v| (no 1 − sigmoid to lose digits near 1). */
    private static FloatVector slope(FloatVector e) {
        FloatVector r = ONE.div(e.add(1f));
        return e.mul(r).mul(r);
    }

    private static FloatVector vec(float[] a, int i) { return FloatVector.fromArray(F, a, i); }

    private static FloatVector load(MemorySegment s, long i) { return FloatVector.fromMemorySegment(F, s, i * 4, ORDER); }

    private static void store(FloatVector v, MemorySegment s, long i) { v.intoMemorySegment(s, i * 4, ORDER); }
}
