package frl.backend;

import frl.tensor.Shape;

/**
 * PixelCNN++'s discretised logistic mixture (Salimans et al. 2017) for one pixel of C channels, x = byte/127.5 − 1, in
 * double: −log p(x) and its gradient with respect to the pixel's parameters. Per component k of M: a logit, then per
 * channel c a mean μ_c + Σ_{j&lt;c} α_{cj}·x_j (the channels earlier in the pixel condition the later ones, as the
 * paper's R → G → B) and a log-scale clamped below at −7. A channel's probability is the logistic's mass on its bin of
 * width 2/255, with the paper's edge cases: the whole left tail for byte 0, the right tail for 255, and the density
 * times the bin's width where the mass is below 1e-5 (float rounding). The parameters, for M components: M logits,
 * the means C·M (channel-major), the log-scales C·M, and the coefficients C(C−1)/2·M in the order (1,0), (2,0), (2,1),
 * (3,0), ... The plain definition that the CPU's scalar loops, backends without a kernel and the float64 reference
 * evaluate; the CPU's vector loops and the CUDA kernel compute the same in float. One instance holds a pixel's
 * scratch: one per thread.
 */
public final class MixtureMath {
    /** A bin's half-width, 1/255 of the [−1, 1] range; log-scales are clamped below here; bins with less mass use the density. */
    public static final double HALF_BIN = 1 / 255.0, MIN_LOG_SCALE = -7, MIN_MASS = 1e-5, LOG_HALF_RANGE = Math.log(127.5);
    /** The edge bins: x above this is byte 255 (the right tail), below its negative byte 0 (the left tail). */
    public static final double EDGE = 0.999;

    private final int channels, mixtures;
    private final double[] logProb, dMean, dLogScale;

    public MixtureMath(int channels, int mixtures) {
        this.channels = channels;
        this.mixtures = mixtures;
        logProb = new double[mixtures];
        dMean = new double[mixtures * channels];
        dLogScale = new double[mixtures * channels];
    }

    /** Parameter channels for C image channels and M components: M logits, C·M means, C·M log-scales, C(C−1)/2·M coefficients. */
    public static int parameterChannels(int channels, int mixtures) {
        return mixtures * (1 + 2 * channels + channels * (channels - 1) / 2);
    }

    /** −log p per pixel, [N·H·W], of x [N, C, H, W] under params [N, P, H, W], both as flat host arrays. */
    public static double[] nll(Shape xs, double[] x, double[] params, int mixtures) {
        return overPixels(xs, x, params, mixtures, null, null);
    }

    /** dparams [N, P, H, W] for the gradient dnll [N·H·W] of {@link #nll(Shape, double[], double[], int)}. */
    public static double[] backward(Shape xs, double[] x, double[] params, int mixtures, double[] dnll) {
        double[] dparams = new double[params.length];
        overPixels(xs, x, params, mixtures, dnll, dparams);
        return dparams;
    }

    /** Each pixel gathered from its planes, computed, and (backward) its gradient scattered back. */
    private static double[] overPixels(Shape xs, double[] x, double[] params, int mixtures, double[] dnll, double[] dparams) {
        int n = xs.dim(0), c = xs.dim(1), hw = xs.dim(2) * xs.dim(3), pc = parameterChannels(c, mixtures);
        MixtureMath math = new MixtureMath(c, mixtures);
        double[] out = new double[n * hw], px = new double[c], pp = new double[pc], dp = new double[pc];
        for (int i = 0; i < n; i++)
            for (int q = 0; q < hw; q++) {
                for (int ch = 0; ch < c; ch++) px[ch] = x[(i * c + ch) * hw + q];
                for (int j = 0; j < pc; j++) pp[j] = params[(i * pc + j) * hw + q];
                if (dparams == null) out[i * hw + q] = math.nll(px, pp);
                else {
                    out[i * hw + q] = math.backward(px, pp, dnll[i * hw + q], dp);
                    for (int j = 0; j < pc; j++) dparams[(i * pc + j) * hw + q] = dp[j];
                }
            }
        return out;
    }

    /** −log p of the pixel x[0..C) under the parameters p[0..P). */
    public double nll(double[] x, double[] p) { return -logProbs(x, p, false); }

    /** −log p of the pixel, and dp = g·∂(−log p)/∂p. */
    public double backward(double[] x, double[] p, double g, double[] dp) {
        double lse = logProbs(x, p, true), logitLse = logSumExp(p, 0, mixtures);
        int m = mixtures, c = channels;
        for (int k = 0; k < m; k++) {
            double w = Math.exp(logProb[k] - lse);   // the component's posterior weight
            dp[k] = g * (Math.exp(p[k] - logitLse) - w);
            for (int ch = 0, pair = 0; ch < c; ch++) {
                double dm = -g * w * dMean[k * c + ch];
                dp[m * (1 + ch) + k] = dm;
                dp[m * (1 + c + ch) + k] = p[m * (1 + c + ch) + k] >= MIN_LOG_SCALE ? -g * w * dLogScale[k * c + ch] : 0;
                for (int j = 0; j < ch; j++, pair++) dp[m * (1 + 2 * c + pair) + k] = dm * x[j];
            }
        }
        return -lse;
    }

    /** log p(x): each component's log π_k + Σ_c log P(x_c), kept in logProb (with their derivatives, if asked), then their log-sum-exp. */
    private double logProbs(double[] x, double[] p, boolean derivatives) {
        int m = mixtures, c = channels;
        double logitLse = logSumExp(p, 0, m);
        for (int k = 0; k < m; k++) {
            double lp = p[k] - logitLse;
            for (int ch = 0, pair = 0; ch < c; ch++) {
                double mean = p[m * (1 + ch) + k];
                for (int j = 0; j < ch; j++, pair++) mean += p[m * (1 + 2 * c + pair) + k] * x[j];
                lp += channelLogProb(x[ch], mean, Math.max(p[m * (1 + c + ch) + k], MIN_LOG_SCALE), derivatives ? k * c + ch : -1);
            }
            logProb[k] = lp;
        }
        return logSumExp(logProb, 0, m);
    }

    /**
     * log P(bin of x) under a logistic of this mean and log-scale: the whole left tail for byte 0, the right tail for
     * 255, else the bin's mass, or the density times the bin's width where the mass is below MIN_MASS. With at ≥ 0,
     * its derivatives by the mean and the log-scale go to dMean[at] and dLogScale[at].
     */
    private double channelLogProb(double x, double mean, double logScale, int at) {
        double inv = Math.exp(-logScale), centred = x - mean;
        double plus = inv * (centred + HALF_BIN), minus = inv * (centred - HALF_BIN), mid = inv * centred;
        double value, dPlus = 0, dMinus = 0, dMid = 0, dDirect = 0;
        if (x < -EDGE) {
            value = plus - softplus(plus);
            dPlus = sigmoid(-plus);
        } else if (x > EDGE) {
            value = -softplus(minus);
            dMinus = -sigmoid(minus);
        } else {
            double sp = sigmoid(plus), sm = sigmoid(minus), mass = sp - sm;
            if (mass > MIN_MASS) {
                value = Math.log(mass);
                dPlus = sp * (1 - sp) / mass;
                dMinus = -sm * (1 - sm) / mass;
            } else {
                value = mid - logScale - 2 * softplus(mid) - LOG_HALF_RANGE;
                dMid = 1 - 2 * sigmoid(mid);
                dDirect = -1;
            }
        }
        if (at >= 0) {
            dMean[at] = -inv * (dPlus + dMinus + dMid);
            dLogScale[at] = dDirect - (plus * dPlus + minus * dMinus + mid * dMid);
        }
        return value;
    }

    private static double logSumExp(double[] v, int from, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = from; i < from + n; i++) max = Math.max(max, v[i]);
        if (max == Double.NEGATIVE_INFINITY || Double.isNaN(max)) return max;
        double s = 0;
        for (int i = from; i < from + n; i++) s += Math.exp(v[i] - max);
        return max + Math.log(s);
    }

    static double sigmoid(double v) { return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)); }

    static double softplus(double v) { return Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))); }
}
