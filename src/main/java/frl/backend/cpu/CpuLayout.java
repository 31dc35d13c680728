package frl.backend.cpu;

import frl.backend.*;
import frl.tensor.*;

/** TODO(in progress). */
final class CpuLayout {
    private CpuLayout() {}

    static Tensor concat(Tensor[] xs, int axis) { throw new UnsupportedOperationException("CpuLayout: in progress"); }

    static Tensor narrow(Tensor x, int axis, int start, int length) { throw new UnsupportedOperationException("CpuLayout: in progress"); }

    static Tensor pad(Tensor x, int[] before, int[] after, float value) { throw new UnsupportedOperationException("CpuLayout: in progress"); }

    static Tensor spaceToDepth(Tensor x, int f) { throw new UnsupportedOperationException("CpuLayout: in progress"); }

    static Tensor depthToSpace(Tensor x, int f) { throw new UnsupportedOperationException("CpuLayout: in progress"); }

}
