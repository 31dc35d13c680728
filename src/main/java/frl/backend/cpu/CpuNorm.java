package frl.backend.cpu;

import frl.backend.*;
import frl.tensor.*;

/** TODO(in progress). */
final class CpuNorm {
    private CpuNorm() {}

    static Backend.BatchNormResult forward(Tensor x, Tensor gamma, Tensor beta, double eps) { throw new UnsupportedOperationException("CpuNorm: in progress"); }

    static Backend.BatchNormGrads backward(Tensor x, Tensor gamma, Tensor mean, Tensor var, double eps, Tensor dy) { throw new UnsupportedOperationException("CpuNorm: in progress"); }

}
