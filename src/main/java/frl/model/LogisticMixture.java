package frl.model;

import frl.autograd.Layout;
import frl.autograd.Pointwise;
import frl.autograd.Reduce;
import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.UnaryOp;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/**
 * PixelCNN++'s discretised logistic mixture (Salimans et al. 2017) over C channels of 8-bit pixels, x = b/127.5 − 1.
 * Per pixel and component k of M: a mixture logit, then per channel c a mean μ_c + Σ_{j&lt;c} α_{cj}·x_j (the
 * channels earlier in the pixel condition the later ones, as the paper's R → G → B) and a log-scale clamped below at
 * −7. A channel's probability is the logistic's mass on its bin of width 2/255, with the paper's edge cases: the
 * whole left tail for b = 0, the right tail for b = 255, and the density times the bin width where the mass is
 * below 1e-5 (float rounding).
 * The parameter map's channels, for M components: M logits, then the means C·M (channel-major), the log-scales
 * C·M, and the coefficients P·M, P = C(C−1)/2 in the order (1,0), (2,0), (2,1), (3,0), ...
 */
public final class LogisticMixture {
    private static final double HALF_BIN = 1 / 255.0, MIN_LOG_SCALE = -7, MIN_MASS = 1e-5, LOG_HALF_RANGE = Math.log(127.5);

    private LogisticMixture() {}

    /** Channels of the parameter map for C image channels and M components. */
    public static int parameterChannels(int channels, int mixtures) {
        return mixtures * (1 + 2 * channels + channels * (channels - 1) / 2);
    }

    /** −log p(x) per image in nats, shape [N]; x [N, C, H, W] in [−1, 1] (b/127.5 − 1), params as the class says. */
    public static Var nll(Var x, Var params, int mixtures) {
        Shape s = x.shape();
        int n = s.dim(0), c = s.dim(1), m = mixtures;
        if (params.shape().dim(1) != parameterChannels(c, m) || params.shape().dim(0) != n || params.shape().dim(2) != s.dim(2) || params.shape().dim(3) != s.dim(3))
            throw new IllegalArgumentException("logistic mixture of " + m + " over " + s + " needs parameters [" + n + ", " + parameterChannels(c, m)
                    + ", " + s.dim(2) + ", " + s.dim(3) + "], got " + params.shape());
        Var[] xs = Layout.split(x, 1, ones(c));
        Var logits = Layout.narrow(params, 1, 0, m);
        Var logProb = Pointwise.sub(logits, Reduce.logSumExp(logits, 1));   // log π_k
        for (int ch = 0, pair = 0; ch < c; ch++) {
            Var mean = Layout.narrow(params, 1, m * (1 + ch), m);
            for (int j = 0; j < ch; j++, pair++)
                mean = Pointwise.add(mean, Pointwise.mul(Layout.narrow(params, 1, m * (1 + 2 * c + pair), m), xs[j]));
            Var logScale = Pointwise.clamp(Layout.narrow(params, 1, m * (1 + c + ch), m), MIN_LOG_SCALE, Double.MAX_VALUE);
            logProb = Pointwise.add(logProb, channelLogProb(xs[ch], mean, logScale));
        }
        Var perPixel = Reduce.logSumExp(logProb, 1);   // [N, 1, H, W]
        return Pointwise.neg(Layout.reshape(Reduce.sumTo(perPixel, Shape.of(n, 1, 1, 1)), n));
    }

    /** log P(bin of x) under each component's logistic, [N, M, H, W]; x [N, 1, H, W]. */
    static Var channelLogProb(Var x, Var mean, Var logScale) {
        Var centred = Pointwise.sub(x, mean), inverseScale = Pointwise.exp(Pointwise.neg(logScale));
        Var plus = Pointwise.mul(inverseScale, Pointwise.affine(centred, 1, HALF_BIN));
        Var minus = Pointwise.mul(inverseScale, Pointwise.affine(centred, 1, -HALF_BIN));
        Var logCdfPlus = Pointwise.sub(plus, Pointwise.softplus(plus));              // b = 0: log σ(plus)
        Var logOneMinusCdfMinus = Pointwise.neg(Pointwise.softplus(minus));           // b = 255: log (1 − σ(minus))
        Var mass = Pointwise.sub(Pointwise.sigmoid(plus), Pointwise.sigmoid(minus));
        Var mid = Pointwise.mul(inverseScale, centred);
        Var logDensity = Pointwise.sub(Pointwise.sub(mid, logScale), Pointwise.scale(Pointwise.softplus(mid), 2));
        Var enoughMass = step(mass, MIN_MASS);
        Var inner = select(enoughMass, Pointwise.log(Pointwise.clamp(mass, 1e-12, Double.MAX_VALUE)), Pointwise.affine(logDensity, 1, -LOG_HALF_RANGE));
        Var top = step(x, 0.999), bottom = step(Pointwise.neg(x), 0.999);
        return select(bottom, logCdfPlus, select(top, logOneMinusCdfMinus, inner));
    }

    /** mask·a + (1 − mask)·b for a 0/1 mask that broadcasts against a and b. */
    private static Var select(Var mask, Var a, Var b) {
        return Pointwise.add(Pointwise.mul(mask, a), Pointwise.mul(Pointwise.affine(mask, -1, 1), b));
    }

    /** 1 where v &gt; threshold, else 0, outside the tape (the branch taken, not a quantity to differentiate). */
    private static Var step(Var v, double threshold) { return Var.constant(step(v.backend(), v.value(), threshold, 1)); }

    /**
     * {@code high} where v &gt; threshold, else 0, from backend ops: the difference scaled far past float range,
     * clamp((v − threshold)·2¹⁰⁰, 0, high). The scale is a power of two, so its products are exact: for thresholds
     * of 2⁻³⁶ or more in size, a float v ≠ threshold differs from it by 2⁻⁵⁹ or more, and the result is exactly 0 or
     * {@code high} (up to 2⁴¹). Also PixelCNN++'s dropout masks.
     */
    static Tensor step(Backend be, Tensor v, double threshold, double high) {
        try (Tensor scaled = be.affine(v, 0x1p100, -threshold * 0x1p100)) {   // freed now, not with the caller's scope
            return be.unary(UnaryOp.CLAMP, scaled, 0, high);
        }
    }

    private static int[] ones(int c) {
        int[] a = new int[c];
        java.util.Arrays.fill(a, 1);
        return a;
    }
}
