package frl.backend.cpu;

import frl.backend.*;
import frl.tensor.*;

/** TODO(in progress). */
final class CpuPointwise {
    private CpuPointwise() {}

    static void fill(Tensor t, float v) { throw new UnsupportedOperationException("CpuPointwise: in progress"); }

    static Tensor unary(UnaryOp op, Tensor x, double a, double b) { throw new UnsupportedOperationException("CpuPointwise: in progress"); }

    static Tensor unaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor dy, double a, double b) { throw new UnsupportedOperationException("CpuPointwise: in progress"); }

    static Tensor binary(BinaryOp op, Tensor a, Tensor b) { throw new UnsupportedOperationException("CpuPointwise: in progress"); }

    static Tensor binaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor out, Tensor dy, boolean wrtA) { throw new UnsupportedOperationException("CpuPointwise: in progress"); }

    static Tensor affine(Tensor x, float alpha, float beta) { throw new UnsupportedOperationException("CpuPointwise: in progress"); }

    static void axpy(float alpha, Tensor x, Tensor y) { throw new UnsupportedOperationException("CpuPointwise: in progress"); }

}
