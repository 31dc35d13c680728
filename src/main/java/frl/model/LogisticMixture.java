package frl.model;

import frl.autograd.Layout;
import frl.autograd.Loss;
import frl.autograd.Reduce;
import frl.autograd.Var;
import frl.backend.MixtureMath;
import frl.tensor.Shape;

/**
 * PixelCNN++'s discretised logistic mixture (Salimans et al. 2017) over C channels of 8-bit pixels, x = b/127.5 − 1.
 * Per pixel and component k of M: a mixture logit, then per channel c a mean μ_c + Σ_{j&lt;c} α_{cj}·x_j (the
 * channels earlier in the pixel condition the later ones, as the paper's R → G → B) and a log-scale clamped below at
 * −7. A channel's probability is the logistic's mass on its bin of width 2/255, with the paper's edge cases: the
 * whole left tail for b = 0, the right tail for b = 255, and the density times the bin width where the mass is
 * below 1e-5 (float rounding).
 * The parameter map's channels, for M components: M logits, then the means C·M (channel-major), the log-scales
 * C·M, and the coefficients P·M, P = C(C−1)/2 in the order (1,0), (2,0), (2,1), (3,0), ...
 * One backend op each way (Backend#mixtureNll), where the ops it was composed of took about forty passes forward
 * over [N, M, H, W] and kept their results for the backward.
 */
public final class LogisticMixture {
    private LogisticMixture() {}

    /** Channels of the parameter map for C image channels and M components. */
    public static int parameterChannels(int channels, int mixtures) { return MixtureMath.parameterChannels(channels, mixtures); }

    /** −log p(x) per image in nats, shape [N]; x [N, C, H, W] in [−1, 1] (b/127.5 − 1), a constant, params as the class says. */
    public static Var nll(Var x, Var params, int mixtures) {
        int n = x.shape().dim(0);
        return Layout.reshape(Reduce.sumTo(Loss.mixtureNll(x, params, mixtures), Shape.of(n, 1, 1, 1)), n);
    }
}
