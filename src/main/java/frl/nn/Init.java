package frl.nn;

import frl.backend.Backend;
import frl.backend.Rng;
import frl.tensor.Scope;
import frl.tensor.Shape;

/** PyTorch's default initialisations, drawn from one {@link Rng}. */
public final class Init {
    private Init() {}

    /** Bound of torch.nn.init.kaiming_uniform_(a, fan_in, leaky_relu gain): √(2/(1+a²)) · √(3/fan_in). */
    public static double kaimingUniformBound(double a, long fanIn) {
        requireFanIn(fanIn);
        return Math.sqrt(2.0 / (1 + a * a)) * Math.sqrt(3.0 / fanIn);
    }

    /** The default weight init of Linear and Conv layers: kaiming_uniform(a = √5), i.e. U(±1/√fan_in). */
    public static Parameter defaultWeight(Backend be, Shape shape, long fanIn, Rng rng) {
        return uniform(be, shape, kaimingUniformBound(Math.sqrt(5), fanIn), rng);
    }

    /** The default bias init of Linear and Conv layers: U(±1/√fan_in) with the weight's fan_in. */
    public static Parameter defaultBias(Backend be, int size, long fanIn, Rng rng) {
        requireFanIn(fanIn);
        return uniform(be, Shape.of(size), 1 / Math.sqrt(fanIn), rng);
    }

    public static Parameter uniform(Backend be, Shape shape, double bound, Rng rng) {
        return Parameter.of(Scope.unscoped(() -> be.uniform(shape, -bound, bound, rng)));
    }

    /** N(0, std²), as Glow initialises the convolutions that an actnorm follows. */
    public static Parameter normal(Backend be, Shape shape, double std, Rng rng) {
        return Parameter.of(Scope.unscoped(() -> be.normal(shape, 0, std, rng)));
    }

    private static void requireFanIn(long fanIn) {
        if (fanIn < 1) throw new IllegalArgumentException("initialisation needs fan_in ≥ 1, got " + fanIn);
    }
}
