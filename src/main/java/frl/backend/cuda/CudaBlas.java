package frl.backend.cuda;

import frl.backend.Shapes;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Matmul through cuBLAS SGEMM. Our tensors are row-major and cuBLAS is column-major: a row-major [r, c]
 * matrix is, read column-major, its transpose [c, r] with leading dimension c. So C = op(A)·op(B) (row-major
 * [m, n]) is computed as the column-major Cᵀ [n, m] = op(B)ᵀ·op(A)ᵀ, i.e. SGEMM with the operands swapped
 * and each keeping its own transpose flag. alpha and beta are host floats (pointer mode host).
 */
final class CudaBlas {
    private CudaBlas() {}

    /** Host scalars for cuBLAS and cuDNN (pointer mode host), kept for the life of the process. */
    static final FloatPointer ONE = new FloatPointer(1f), ZERO = new FloatPointer(0f);

    static Tensor matmul(Tensor a, boolean transA, Tensor b, boolean transB) {
        Tensor c = CudaBackend.alloc(Shapes.matmul(a, transA, b, transB));
        matmulInto(a, transA, b, transB, c);
        return c;
    }

    /** op(a) · op(b) written into c, any tensor of as many elements as the product (a view of another shape, say). */
    static void matmulInto(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c) {
        Shape s = Shapes.matmul(a, transA, b, transB);
        if (c.numel() != s.numel())
            throw new IllegalArgumentException("matmul: the product is " + s + ", the output " + c.shape() + " holds " + c.numel() + " values");
        int m = s.dim(0), n = s.dim(1), k = transA ? a.dim(0) : a.dim(1);
        if (m == 0 || n == 0) return;
        CudaContext ctx = CudaContext.get();
        if (k == 0) { // an empty sum: C = 0 (do not rely on SGEMM's quick return for k = 0)
            Cuda.check(cudart.cudaMemsetAsync(new DevicePointer(c.storage().address()), 0, c.numel() * Float.BYTES, ctx.stream()),
                    "cudaMemsetAsync(matmul with inner size 0)");
            return;
        }
        cublasContext h = ctx.cublas();
        synchronized (h) { // one handle for the process: its pointer mode and the call go together
            Cuda.checkCublas(cublas.cublasSetPointerMode_v2(h, cublas.CUBLAS_POINTER_MODE_HOST), "cublasSetPointerMode");
            Cuda.checkCublas(cublas.cublasSgemm_v2(h,
                    transB ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N,
                    transA ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N,
                    n, m, k, ONE,
                    floats(b), Math.max(1, b.dim(1)),
                    floats(a), Math.max(1, a.dim(1)),
                    ZERO, floats(c), Math.max(1, n)),
                    "cublasSgemm(" + a.shape() + (transA ? "ᵀ" : "") + " × " + b.shape() + (transB ? "ᵀ" : "") + ")");
        }
        ctx.syncIfDebugging("cublasSgemm");
    }

    /**
     * Column-major C [m, n] = op(A) · op(B), raw device addresses: op(A) [m, k] is A (stored [m, k], leading dimension
     * lda) or, with transA, its transpose (A stored [k, m]); likewise B. In row-major terms: C [n, m] = op(B)ᵀ · op(A)ᵀ.
     */
    static void gemm(boolean transA, boolean transB, int m, int n, int k, long a, int lda, long b, int ldb, long c, int ldc) {
        gemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, false, false);
    }

    /**
     * The same, adding to C where {@code accumulate} (beta 1); with {@code tf32} on TF32 tensor cores with float
     * accumulation (cublasGemmEx, CUBLAS_COMPUTE_32F_FAST_TF32), for operands TF32 holds exactly (tf32.cu's parts),
     * else cuBLAS SGEMM.
     */
    static void gemm(boolean transA, boolean transB, int m, int n, int k, long a, int lda, long b, int ldb, long c, int ldc,
                     boolean accumulate, boolean tf32) {
        CudaContext ctx = CudaContext.get();
        cublasContext h = ctx.cublas();
        int opA = transA ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N, opB = transB ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N;
        FloatPointer pa = new FloatPointer(new DevicePointer(a)), pb = new FloatPointer(new DevicePointer(b)), pc = new FloatPointer(new DevicePointer(c));
        FloatPointer beta = accumulate ? ONE : ZERO;
        String call = (tf32 ? "cublasGemmEx(TF32, " : "cublasSgemm(") + m + "×" + k + (transA ? " (Aᵀ)" : "") + " · " + k + "×" + n + (transB ? " (Bᵀ)" : "")
                + (accumulate ? ", + C)" : ")");
        synchronized (h) { // one handle for the process: its pointer mode and the call go together
            Cuda.checkCublas(cublas.cublasSetPointerMode_v2(h, cublas.CUBLAS_POINTER_MODE_HOST), "cublasSetPointerMode");
            int rc = tf32
                    ? cublas.cublasGemmEx(h, opA, opB, m, n, k, ONE, pa, cudart.CUDA_R_32F, lda, pb, cudart.CUDA_R_32F, ldb, beta, pc, cudart.CUDA_R_32F, ldc,
                            cublas.CUBLAS_COMPUTE_32F_FAST_TF32, cublas.CUBLAS_GEMM_DEFAULT)
                    : cublas.cublasSgemm_v2(h, opA, opB, m, n, k, ONE, pa, lda, pb, ldb, beta, pc, ldc);
            Cuda.checkCublas(rc, call);
        }
        ctx.syncIfDebugging(call);
    }

    /**
     * {@link #gemm} on {@code batch} triples, the i-th operands at a + 4·i·strideA, b + 4·i·strideB, c + 4·i·strideC
     * (strides in floats): one cublasSgemmStridedBatched, or cublasGemmStridedBatchedEx on TF32 tensor cores.
     */
    static void gemmBatched(boolean transA, boolean transB, int m, int n, int k, long a, int lda, long strideA, long b, int ldb, long strideB,
                            long c, int ldc, long strideC, int batch, boolean accumulate, boolean tf32) {
        CudaContext ctx = CudaContext.get();
        cublasContext h = ctx.cublas();
        int opA = transA ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N, opB = transB ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N;
        FloatPointer pa = new FloatPointer(new DevicePointer(a)), pb = new FloatPointer(new DevicePointer(b)), pc = new FloatPointer(new DevicePointer(c));
        FloatPointer beta = accumulate ? ONE : ZERO;
        String call = (tf32 ? "cublasGemmStridedBatchedEx(TF32, " : "cublasSgemmStridedBatched(") + batch + " × " + m + "×" + k + (transA ? " (Aᵀ)" : "")
                + " · " + k + "×" + n + (transB ? " (Bᵀ)" : "") + (accumulate ? ", + C)" : ")");
        synchronized (h) {
            Cuda.checkCublas(cublas.cublasSetPointerMode_v2(h, cublas.CUBLAS_POINTER_MODE_HOST), "cublasSetPointerMode");
            int rc = tf32
                    ? cublas.cublasGemmStridedBatchedEx(h, opA, opB, m, n, k, ONE, pa, cudart.CUDA_R_32F, lda, strideA, pb, cudart.CUDA_R_32F, ldb, strideB,
                            beta, pc, cudart.CUDA_R_32F, ldc, strideC, batch, cublas.CUBLAS_COMPUTE_32F_FAST_TF32, cublas.CUBLAS_GEMM_DEFAULT)
                    : cublas.cublasSgemmStridedBatched(h, opA, opB, m, n, k, ONE, pa, lda, strideA, pb, ldb, strideB, beta, pc, ldc, strideC, batch);
            Cuda.checkCublas(rc, call);
        }
        ctx.syncIfDebugging(call);
    }

    /**
     * How a TF32 GEMM ({@link #gemm} with tf32) reads float operands that TF32 does not hold: "truncates", "rounds to
     * nearest", or what it did. cuBLAS does not say, so the 3xTF32 plans split both parts exactly; if it truncates, a
     * float operand is already its own big part and only the small one, x − trunc(x), would need writing. Measured
     * on a 1024³ product of a = 1 + 2⁻¹¹ + 2⁻¹² by ones: 1024 if truncated, 1025 if rounded, 1024.75 exact (not on
     * tensor cores).
     */
    static String tf32InputConversion() {
        int n = 1024;
        float a = 1f + 0x1p-11f + 0x1p-12f;
        float[] av = new float[n * n], ones = new float[n * n];
        java.util.Arrays.fill(av, a);
        java.util.Arrays.fill(ones, 1f);
        try (frl.tensor.Scope s = frl.tensor.Scope.open()) {
            CudaBackend be = CudaBackend.instance();
            Tensor ta = be.fromHost(Shape.of(n, n), av), tb = be.fromHost(Shape.of(n, n), ones), tc = CudaBackend.alloc(Shape.of(n, n));
            gemm(false, false, n, n, n, ta.storage().address(), n, tb.storage().address(), n, tc.storage().address(), n, false, true);
            float c = tc.toFloats()[0];
            return c == n ? "truncates" : c == n + 1 ? "rounds to nearest" : "gave " + c + " (exact: " + n * (double) a + ")";
        }
    }

    /** The device address of a tensor as the FloatPointer cuBLAS' signatures take (no copy, owns nothing). */
    static FloatPointer floats(Tensor t) { return new FloatPointer(new DevicePointer(t.storage().address())); }
}
