package frl.nn;

import frl.autograd.Var;
import frl.tensor.Tensor;

/**
 * An invertible layer of a normalising flow (Glow): {@link #forward} maps x to y and returns log |det ∂y/∂x|,
 * {@link #reverse} maps y back to x without building a tape.
 */
public interface Flow {
    /** y and its log-determinant: shape [1] when it is the same for every image, else [N]. */
    record Result(Var y, Var logdet) {}

    Result forward(Var x);

    /** The inverse map, outside autograd (sampling, round-trip checks). */
    Tensor reverse(Tensor y);
}
