package frl.backend.cuda;

import frl.backend.BinaryOp;
import frl.backend.Shapes;
import frl.backend.UnaryOp;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.bytedeco.cuda.global.cudart;

/**
 * Elementwise ops (src/main/cuda/pointwise.cu; CPU twin: CpuPointwise). Binary ops pick one of three kernels:
 * same layout (one flat loop), one dense operand against a value per index of a single axis (a per-channel
 * vector, a scalar, a row: no index decomposition beyond one division), or any NumPy broadcast (strides over
 * the merged axes of {@link IndexSpace}).
 */
final class CudaPointwise {
    private static final String FAMILY = "pointwise";
    private static final Kernel FILL = new Kernel(FAMILY, "fill", "plf");
    private static final Kernel UNARY = new Kernel(FAMILY, "unary", "pplidd");
    private static final Kernel UNARY_BACKWARD = new Kernel(FAMILY, "unary_backward", "pppplidd");
    private static final Kernel BINARY_SAME = new Kernel(FAMILY, "binary_same", "pppli");
    private static final Kernel BINARY_AXIS = new Kernel(FAMILY, "binary_axis", "pppliiii");
    private static final Kernel BINARY_STRIDED = new Kernel(FAMILY, "binary_strided", "ppplai");
    private static final Kernel AFFINE = new Kernel(FAMILY, "affine", "pplff");
    private static final Kernel AXPY = new Kernel(FAMILY, "axpy", "pplf");
    private static final Kernel COPY_ALL = new Kernel(FAMILY, "copy_all", "til");
    /** copy_all's table rows per launch: (src, dst, start) each. */
    static final int COPY_ROWS = Kernel.MAX_LONGS / 3;

    private CudaPointwise() {}

    static void fill(Tensor t, float v) {
        long n = t.numel();
        if (n > 0) FILL.launchN(n, t, n, v);
    }

    /** dst = src, same number of elements: a device-to-device copy queued on the stream. */
    static void copy(Tensor src, Tensor dst) {
        long bytes = src.numel() * 4, from = src.storage().address(), to = dst.storage().address();
        if (bytes == 0 || from == to) return;
        Cuda.check(cudart.cudaMemcpyAsync(new DevicePointer(to), new DevicePointer(from), bytes, cudart.cudaMemcpyDeviceToDevice,
                CudaContext.get().stream()), "cudaMemcpyAsync(device to device, " + bytes + " bytes)");
    }

    /**
     * Backend#copyAll: dst[i] ← src[i], the pairs' elements as one range, copy_all launches of {@link #COPY_ROWS} pairs
     * each (a cudaMemcpyAsync each under -Dfrl.cuda.gradCopies=each).
     */
    static void copyAll(Tensor[] src, Tensor[] dst) {
        Shapes.requirePairs("copyAll", src, dst);
        for (int i = 0; i < src.length; i++) Shapes.requireSameSize("copyAll (pair " + i + ")", src[i], dst[i]);
        if (!batchedCopies()) {
            for (int i = 0; i < src.length; i++) copy(src[i], dst[i]);
            return;
        }
        long[] from = new long[src.length], to = new long[src.length], n = new long[src.length];
        for (int i = 0; i < src.length; i++) {
            from[i] = src[i].storage().address();
            to[i] = dst[i].storage().address();
            n[i] = src[i].numel();
        }
        launchCopyAll(from, to, n);
    }

    /** -Dfrl.cuda.gradCopies: batched (the default: copy_all) or each (a cudaMemcpyAsync a pair). */
    static boolean batchedCopies() { return CudaFlags.oneOf("frl.cuda.gradCopies", "batched", "batched", "each").equals("batched"); }

    /** copy_all over device addresses: n[i] floats from from[i] to to[i], {@link #COPY_ROWS} pairs a launch. */
    static void launchCopyAll(long[] from, long[] to, long[] n) {
        for (int first = 0; first < from.length; first += COPY_ROWS) {
            int count = Math.min(COPY_ROWS, from.length - first);
            long[] table = new long[3 * count];
            long total = 0;
            for (int k = 0; k < count; k++) {
                table[3 * k] = from[first + k];
                table[3 * k + 1] = to[first + k];
                table[3 * k + 2] = total;
                total += n[first + k];
            }
            if (total > 0) COPY_ALL.launchN(total, table, count, total);
        }
    }

    /** A fresh copy of x (for ops that have nothing to compute). */
    static Tensor copyOf(Tensor x, Shape shape) {
        Tensor out = CudaBackend.alloc(shape);
        copy(x, out);
        return out;
    }

    /** The op codes of pointwise.cu. */
    private static int code(UnaryOp op) {
        return switch (op) {
            case RELU -> 0; case ELU -> 1; case SIGMOID -> 2; case TANH -> 3; case EXP -> 4; case LOG -> 5;
            case SOFTPLUS -> 6; case SQUARE -> 7; case SQRT -> 8; case NEG -> 9; case CLAMP -> 10;
        };
    }

    private static int code(BinaryOp op) {
        return switch (op) { case ADD -> 0; case SUB -> 1; case MUL -> 2; case DIV -> 3; };
    }

    static Tensor unary(UnaryOp op, Tensor x, double a, double b) {
        Tensor y = CudaBackend.alloc(x.shape());
        launchUnary(op, x, y, x.numel(), a, b);
        return y;
    }

    /** y = op(x) over n elements of tensors or device addresses. */
    static void launchUnary(UnaryOp op, Object x, Object y, long n, double a, double b) {
        if (n > 0) UNARY.launchN(n, x, y, n, code(op), a, b);
    }

    static Tensor unaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor dy, double a, double b) {
        Shapes.requireSameShape("unaryBackward " + op + " (x vs dy)", x, dy);
        Shapes.requireSameShape("unaryBackward " + op + " (y vs dy)", y, dy);
        Tensor dx = CudaBackend.alloc(x.shape());
        launchUnaryBackward(op, x, y, dy, dx, x.numel(), a, b);
        return dx;
    }

    /** dx = dy · op'(x, y) over n elements of tensors or device addresses. */
    static void launchUnaryBackward(UnaryOp op, Object x, Object y, Object dy, Object dx, long n, double a, double b) {
        if (n > 0) UNARY_BACKWARD.launchN(n, x, y, dy, dx, n, code(op), a, b);
    }

    static Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        Tensor out = CudaBackend.alloc(Shape.broadcast(a.shape(), b.shape()));
        binaryInto(op, a, b, out);
        return out;
    }

    /** out = a op b, out having the broadcast shape; out may be a itself when a has that shape. */
    private static void binaryInto(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        launchBinary(op, a, a.shape(), b, b.shape(), out, out.shape());
    }

    /** out = a op b over tensors or device addresses of these shapes, out's the broadcast of a's and b's. */
    static void launchBinary(BinaryOp op, Object a, Shape as, Object b, Shape bs, Object out, Shape os) {
        long n = os.numel();
        if (n == 0) return;
        int c = code(op);
        if (as.equals(bs)) {
            BINARY_SAME.launchN(n, a, b, out, n, c);
            return;
        }
        IndexSpace s = IndexSpace.of(os, as, bs);
        if (s.dense(0) && s.dense(1)) {   // the same layout, e.g. [1, 3] and [3]
            BINARY_SAME.launchN(n, a, b, out, n, c);
            return;
        }
        String name = "binary " + op + " " + as + " and " + bs;
        IndexSpace.toInt(name, n);
        long[] bAxis = s.dense(0) ? s.singleAxis(1) : null, aAxis = s.dense(1) ? s.singleAxis(0) : null;
        if (bAxis != null) BINARY_AXIS.launchN(n, a, b, out, n, (int) bAxis[0], (int) bAxis[1], 1, c);
        else if (aAxis != null) BINARY_AXIS.launchN(n, b, a, out, n, (int) aAxis[0], (int) aAxis[1], 0, c);
        else BINARY_STRIDED.launchN(n, a, b, out, n, s.pack(name), c);
    }

    /** dy · ∂(a op b)/∂a or ∂b in the broadcast shape, composed from the forward kernels as on the CPU. */
    static Tensor binaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor out, Tensor dy, boolean wrtA) {
        Shapes.binaryBackward(op, a, b, out, dy);
        return switch (op) {
            case ADD -> affine(dy, 1, 0);
            case SUB -> affine(dy, wrtA ? 1 : -1, 0);
            case MUL -> binary(BinaryOp.MUL, dy, wrtA ? b : a);
            case DIV -> {
                if (wrtA) yield binary(BinaryOp.DIV, dy, b);
                Tensor g = affine(dy, -1, 0);          // −dy · out / b
                binaryInto(BinaryOp.MUL, g, out, g);
                binaryInto(BinaryOp.DIV, g, b, g);
                yield g;
            }
        };
    }

    static Tensor affine(Tensor x, float alpha, float beta) {
        Tensor y = CudaBackend.alloc(x.shape());
        launchAffine(x, y, x.numel(), alpha, beta);
        return y;
    }

    /** y = alpha·x + beta over n elements of tensors or device addresses. */
    static void launchAffine(Object x, Object y, long n, float alpha, float beta) {
        if (n > 0) AFFINE.launchN(n, x, y, n, alpha, beta);
    }

    static void axpy(float alpha, Tensor x, Tensor y) {
        Shapes.requireSameShape("axpy", x, y);
        launchAxpy(alpha, x, y, x.numel());
    }

    /** y += alpha·x over n elements of tensors or device addresses. */
    static void launchAxpy(float alpha, Object x, Object y, long n) {
        if (n > 0) AXPY.launchN(n, x, y, n, alpha);
    }
}
