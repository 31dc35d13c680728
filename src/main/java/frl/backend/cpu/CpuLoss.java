package frl.backend.cpu;

import frl.backend.*;
import frl.tensor.*;

/** TODO(in progress). */
final class CpuLoss {
    private CpuLoss() {}

    static Tensor crossEntropy(Tensor logits, Tensor targets, int axis) { throw new UnsupportedOperationException("CpuLoss: in progress"); }

    static Tensor crossEntropyBackward(Tensor logits, Tensor targets, Tensor dloss, int axis) { throw new UnsupportedOperationException("CpuLoss: in progress"); }

}
