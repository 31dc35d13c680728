package frl.backend.cpu;

import frl.backend.*;
import frl.tensor.*;

/** TODO(in progress). */
final class CpuRandom {
    private CpuRandom() {}

    static Tensor uniform(Shape shape, double lo, double hi, Rng rng) { throw new UnsupportedOperationException("CpuRandom: in progress"); }

    static Tensor normal(Shape shape, double mean, double std, Rng rng) { throw new UnsupportedOperationException("CpuRandom: in progress"); }

}
