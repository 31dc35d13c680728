package frl.backend.cuda;

import frl.backend.*;
import frl.tensor.*;

/** PLACEHOLDER: replaced by the real implementation. */
final class CudaConv {
    private CudaConv() {}
    static Tensor conv2d(Tensor x, Tensor w, ConvGeometry g) { throw new UnsupportedOperationException("CudaConv: not written yet"); }
    static Tensor backwardInput(Tensor dy, Tensor w, Shape xShape, ConvGeometry g) { throw new UnsupportedOperationException("CudaConv: not written yet"); }
    static Tensor backwardWeight(Tensor x, Tensor dy, Shape wShape, ConvGeometry g) { throw new UnsupportedOperationException("CudaConv: not written yet"); }
}
