package frl.backend.cuda;

import frl.backend.*;
import frl.tensor.*;

/** PLACEHOLDER: replaced by the real implementation. */
final class CudaPointwise {
    private CudaPointwise() {}
    static void fill(Tensor t, float v) { throw new UnsupportedOperationException("CudaPointwise: not written yet"); }
    static void copy(Tensor src, Tensor dst) { throw new UnsupportedOperationException("CudaPointwise: not written yet"); }
    static Tensor unary(UnaryOp op, Tensor x, double a, double b) { throw new UnsupportedOperationException("CudaPointwise: not written yet"); }
    static Tensor unaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor dy, double a, double b) { throw new UnsupportedOperationException("CudaPointwise: not written yet"); }
    static Tensor binary(BinaryOp op, Tensor a, Tensor b) { throw new UnsupportedOperationException("CudaPointwise: not written yet"); }
    static Tensor binaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor out, Tensor dy, boolean wrtA) { throw new UnsupportedOperationException("CudaPointwise: not written yet"); }
    static Tensor affine(Tensor x, float alpha, float beta) { throw new UnsupportedOperationException("CudaPointwise: not written yet"); }
    static void axpy(float alpha, Tensor x, Tensor y) { throw new UnsupportedOperationException("CudaPointwise: not written yet"); }
}
