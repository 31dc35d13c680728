package frl.model;

import frl.autograd.Layout;
import frl.autograd.Loss;
import frl.autograd.Reduce;
import frl.autograd.Var;
import frl.backend.MixtureMath;
import frl.tensor.Shape;

/**
 * PixelCNN++'s discretised logistic mixture over C channels of 8-bit pixels on the tape: the NLL per image of a
 * parameter map, one backend op each way (Backend#mixtureNll; frl.backend.MixtureMath states the model and the map's
 * channels), where the ops it was composed of took about forty passes forward over [N, M, H, W] and kept their results
 * for the backward.
 */
public final class LogisticMixture {
    private LogisticMixture() {}

    /** Channels of the parameter map for C image channels and M components. */
    public static int parameterChannels(int channels, int mixtures) { return MixtureMath.parameterChannels(channels, mixtures); }

    /** −log p(x) per image in nats, shape [N]; x [N, C, H, W] in [−1, 1] (b/127.5 − 1), a constant, params as MixtureMath lays them out. */
    public static Var nll(Var x, Var params, int mixtures) {
        int n = x.shape().dim(0);
        return Layout.reshape(Reduce.sumTo(Loss.mixtureNll(x, params, mixtures), Shape.of(n, 1, 1, 1)), n);
    }
}
