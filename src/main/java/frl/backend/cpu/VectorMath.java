package frl.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.EQ;
import static jdk.incubator.vector.VectorOperators.GE;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.IS_NAN;
import static jdk.incubator.vector.VectorOperators.LE;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LT;

/**
 * exp, expm1, log, log1p and tanh on float vectors, built from IEEE operations that round the same way
 * everywhere (add, mul, div, fma, compares, bit moves). The Vector API's own EXP, LOG, TANH... are computed
 * per lane in double before the JIT compiles a loop and by an approximate vector library after it, so a
 * training run's results depended on when the JIT struck (measured: 742 of 65,536 exps changed bits). These
 * give the same bits interpreted or compiled, and stay close to the exact result: exp and log within 1 ulp,
 * log1p and expm1 within 1.5, tanh within 2.5 (VectorMathTest sweeps them).
 */
final class VectorMath {
    private VectorMath() {}

    /** The species every vector here has: the one VectorApiKernels computes in. */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    /** 1.5·2^23: adding it rounds a float of magnitude < 2^22 to an integer, held in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
    private static final float LOG2E = 1.44269504088896341f;
    /** ln 2 = LN2_HI + LN2_LO; LN2_HI has 9 significant bits, so n·LN2_HI is exact for the n exp meets. */
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    /** exp underflows to 0 below −103.97 and overflows above 88.72; clamping keeps 2^n in two normal factors. */
    private static final float EXP_LO = -104f, EXP_HI = 89f;
    /** e^x − 1 rounds to −1 below −17.3. */
    private static final float EXPM1_LO = -18f;
    /** Inputs whose e^x is surely normal: 2^k·p with k in [−125, 127] and p in [0.7, 1.5). */
    private static final float NORMAL_LO = -86f, NORMAL_HI = 87.5f;

    private static FloatVector c(float v) { return FloatVector.broadcast(F, v); }

    private static final FloatVector NEG_LN2_HI = c(-LN2_HI), NEG_LN2_LO = c(-LN2_LO);
    /** Cephes' expf polynomial: e^r ≈ 1 + r + r²·(C6 + r·(C5 + …)). */
    private static final FloatVector EXP_C1 = c(1.9875691500e-4f), EXP_C2 = c(1.3981999507e-3f), EXP_C3 = c(8.3334519073e-3f),
            EXP_C4 = c(4.1665795894e-2f), EXP_C5 = c(1.6666665459e-1f), EXP_C6 = c(5.0000001201e-1f);

    /** e^x: x = n·ln 2 + r with |r| ≤ ln 2 / 2, e^r by a degree-7 polynomial, then scaled by 2^n in two steps. */
    static FloatVector exp(FloatVector x) {
        // p below is in [0.7, 1.5), so adding k to its exponent bits is exact while the result stays normal;
        // vectors with a lane outside that range (or NaN) are clamped and take two exact power-of-two scalings.
        boolean normal = x.compare(GE, NORMAL_LO).and(x.compare(LE, NORMAL_HI)).allTrue();
        FloatVector xc = normal ? x : x.max(EXP_LO).min(EXP_HI);
        FloatVector t = xc.fma(LOG2E, ROUNDER), p = expm1OfRemainder(xc, t).add(1f);
        IntVector k = t.reinterpretAsInts().sub(ROUNDER_BITS);
        if (normal) return p.reinterpretAsInts().add(k.lanewise(LSHL, 23)).reinterpretAsFloats();
        IntVector k1 = k.lanewise(ASHR, 1), k2 = k.sub(k1);
        return p.mul(powerOfTwo(k1)).mul(powerOfTwo(k2));
    }

    /**
     * e^r − 1 = r + r²·(Cephes' polynomial) for the remainder r = x − n·ln 2, |r| ≤ ln 2 / 2, where t = x·log2 e + ROUNDER
     * holds n = t − ROUNDER: the reduction exp and expm1 share.
     */
    private static FloatVector expm1OfRemainder(FloatVector x, FloatVector t) {
        FloatVector n = t.sub(ROUNDER), r = n.fma(NEG_LN2_HI, x).add(n.mul(NEG_LN2_LO));
        return r.fma(EXP_C1, EXP_C2).fma(r, EXP_C3).fma(r, EXP_C4).fma(r, EXP_C5).fma(r, EXP_C6).fma(r.mul(r), r);
    }

    /** 2^k for k in the normal exponent range. */
    private static FloatVector powerOfTwo(IntVector k) { return k.add(127).lanewise(LSHL, 23).reinterpretAsFloats(); }

    /**
     * e^x − 1 = 2^n·(e^r − 1) + 2^n − 1 with x = n·ln 2 + r as in exp, and e^r − 1 = r + r²·(exp's polynomial),
     * which keeps its relative accuracy near 0. Evaluated as 2·(s·(e^r − 1) + (s − ½)) with s = 2^(n−1), one
     * fused rounding, so that 2^n never leaves the float range below the overflow it should produce.
     */
    static FloatVector expm1(FloatVector x) {
        FloatVector xc = x.max(EXPM1_LO).min(EXP_HI);
        FloatVector t = xc.fma(LOG2E, ROUNDER), em1 = expm1OfRemainder(xc, t);
        FloatVector s = powerOfTwo(t.reinterpretAsInts().sub(ROUNDER_BITS + 1));
        return s.fma(em1, s.sub(0.5f)).mul(2f).blend(em1, t.compare(EQ, ROUNDER));   // n = 0: e^r − 1 itself, tiny inputs too
    }

    /** ln 2 split as in fdlibm's logf: k·LN2_HI_LOG is exact for every exponent k. */
    private static final float LN2_HI_LOG = 6.9313812256e-01f, LN2_LO_LOG = 9.0580006145e-06f;
    private static final FloatVector LG1 = c(0xaaaaaa.0p-24f), LG2 = c(0xccce13.0p-25f), LG3 = c(0x91e9ee.0p-25f), LG4 = c(0xf89e26.0p-26f);
    /** Bits of √½: mantissas are folded into [√½, √2) so that f = m − 1 is small. */
    private static final int SQRT_HALF_BITS = 0x3F3504F3;

    /**
     * ln x: x = 2^k·m with m in [√½, √2), ln m = 2·atanh(f / (2 + f)) for f = m − 1, the series through
     * s^9 with fdlibm's coefficients. ln 0 = −∞, ln of a negative or NaN is NaN, ln +∞ = +∞.
     */
    static FloatVector log(FloatVector x) {
        if (x.compare(GE, Float.MIN_NORMAL).and(x.compare(LE, Float.MAX_VALUE)).allTrue()) return logOfNormal(x, null);
        VectorMask<Float> subnormal = x.compare(LT, Float.MIN_NORMAL);
        FloatVector y = logOfNormal(x.blend(x.mul(0x1p23f), subnormal), FloatVector.zero(F).blend(23f, subnormal));
        y = y.blend(Float.NEGATIVE_INFINITY, x.compare(EQ, 0f));
        y = y.blend(Float.POSITIVE_INFINITY, x.compare(EQ, Float.POSITIVE_INFINITY));
        return y.blend(Float.NaN, x.compare(LT, 0f).or(x.test(IS_NAN)));
    }

    /**
     * ln(x·2^−kScale) for lanes holding positive normal floats (others give garbage that log overwrites); kScale
     * (null for none) folds a subnormal's scaling into the exponent, so the split ln 2 keeps it exact.
     */
    private static FloatVector logOfNormal(FloatVector x, FloatVector kScale) {
        IntVector bits = x.reinterpretAsInts().add(0x3F800000 - SQRT_HALF_BITS);
        FloatVector kf = (FloatVector) bits.lanewise(ASHR, 23).sub(127).convert(I2F, 0);
        if (kScale != null) kf = kf.sub(kScale);
        FloatVector m = bits.and(0x007FFFFF).add(SQRT_HALF_BITS).reinterpretAsFloats();
        FloatVector f = m.sub(1f), s = f.div(f.add(2f)), z = s.mul(s), w = z.mul(z);
        FloatVector r = w.fma(LG4, LG2).mul(w).add(w.fma(LG3, LG1).mul(z));
        FloatVector halfF2 = f.mul(f).mul(0.5f);
        FloatVector tail = s.mul(halfF2.add(r)).add(kf.mul(LN2_LO_LOG));
        return kf.mul(LN2_HI_LOG).sub(halfF2.sub(tail).sub(f));
    }

    /** ln(1 + u) for u > −1: with w = 1 + u rounded, ln w minus the rounding error's share ((w − 1) − u)/w. */
    static FloatVector log1p(FloatVector u) {
        FloatVector w = u.add(1f);
        return log(w).sub(w.sub(1f).sub(u).div(w));
    }

    /** tanh x = e/(e + 2) with e = expm1(2|x|), |x| capped at 10 (tanh 10 rounds to 1), the sign put back. */
    static FloatVector tanh(FloatVector x) {
        FloatVector e = expm1(x.abs().min(10f).mul(2f)), t = e.div(e.add(2f));
        return t.blend(t.neg(), x.compare(LT, 0f));
    }
}
