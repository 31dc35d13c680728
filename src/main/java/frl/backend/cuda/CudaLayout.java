package frl.backend.cuda;

import frl.backend.*;
import frl.tensor.*;

/** PLACEHOLDER: replaced by the real implementation. */
final class CudaLayout {
    private CudaLayout() {}
    static Tensor concat(Tensor[] xs, int axis) { throw new UnsupportedOperationException("CudaLayout: not written yet"); }
    static Tensor narrow(Tensor x, int axis, int start, int length) { throw new UnsupportedOperationException("CudaLayout: not written yet"); }
    static Tensor pad(Tensor x, int[] before, int[] after, float value) { throw new UnsupportedOperationException("CudaLayout: not written yet"); }
    static Tensor spaceToDepth(Tensor x, int f) { throw new UnsupportedOperationException("CudaLayout: not written yet"); }
    static Tensor depthToSpace(Tensor x, int f) { throw new UnsupportedOperationException("CudaLayout: not written yet"); }
}
