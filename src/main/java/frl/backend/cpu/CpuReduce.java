package frl.backend.cpu;

import frl.backend.*;
import frl.tensor.*;

/** TODO(in progress). */
final class CpuReduce {
    private CpuReduce() {}

    static Tensor sumTo(Tensor x, Shape shape) { throw new UnsupportedOperationException("CpuReduce: in progress"); }

    static Tensor broadcastTo(Tensor x, Shape shape) { throw new UnsupportedOperationException("CpuReduce: in progress"); }

    static Tensor logSumExp(Tensor x, int axis) { throw new UnsupportedOperationException("CpuReduce: in progress"); }

}
