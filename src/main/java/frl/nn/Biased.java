package frl.nn;

import frl.autograd.Var;

/**
 * A layer whose output is a linear map plus a per-channel bias, which also gives the map alone: an op that reads the
 * output can then add the bias as it reads (PixelCNN++'s gate and biased sums), not in a pass of its own.
 */
public interface Biased {
    /** The layer's output before its bias, [N, C, ...]. */
    Var unbiased(Var x);

    /** Its bias [C]. */
    Parameter bias();
}
