package frl.backend.cuda;

import frl.backend.*;
import frl.tensor.*;

/** PLACEHOLDER: replaced by the real implementation. */
final class CudaRandom {
    private CudaRandom() {}
    static Tensor uniform(Shape shape, double lo, double hi, Rng rng) { throw new UnsupportedOperationException("CudaRandom: not written yet"); }
    static Tensor normal(Shape shape, double mean, double std, Rng rng) { throw new UnsupportedOperationException("CudaRandom: not written yet"); }
}
