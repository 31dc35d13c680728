package frl.backend.cpu;

import frl.backend.*;
import frl.tensor.*;

/** TODO(in progress). */
final class CpuConv {
    private CpuConv() {}

    static Tensor matmul(Tensor a, boolean transA, Tensor b, boolean transB) { throw new UnsupportedOperationException("CpuConv: in progress"); }

    static Tensor conv2d(Tensor x, Tensor w, ConvGeometry g) { throw new UnsupportedOperationException("CpuConv: in progress"); }

    static Tensor backwardInput(Tensor dy, Tensor w, Shape xShape, ConvGeometry g) { throw new UnsupportedOperationException("CpuConv: in progress"); }

    static Tensor backwardWeight(Tensor x, Tensor dy, Shape wShape, ConvGeometry g) { throw new UnsupportedOperationException("CpuConv: in progress"); }

}
