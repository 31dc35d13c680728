package frl.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Single-precision GEMM on row-major host memory: C = alpha·op(A)·op(B) + beta·C, with op = transpose when
 * the flag is set. Offsets and leading dimensions count floats. Two implementations: OpenBLAS (default) and a
 * pure-Java blocked GEMM (-Dfrl.blas=java, or when the natives do not load).
 *
 * <p>Large calls made outside a {@link Parallel} loop are split over the cores here, by rows of C (or columns
 * when C is short and wide); calls from inside a parallel loop (the convolutions, parallel over images) run
 * on the calling thread. OpenBLAS itself is kept at one thread so the two never oversubscribe the cores.
 * So segments must be readable from any thread (tensor memory is; a confined arena's is not).
 */
public abstract sealed class Gemm permits OpenBlasGemm, JavaGemm {
    /** Below this many multiply-adds a split costs more than it saves. */
    private static final long PARALLEL_MIN_MACS = 1L << 20;
    /** Each parallel chunk gets at least this many rows (or columns) of C. */
    private static final int PARALLEL_GRAIN = 64;

    private static volatile Gemm active;

    /** Short name of this implementation ("openblas", "java-vector", "java-scalar"). */
    public abstract String name();

    /** Build and threading details, for `frl info`. */
    public abstract String config();

    @Override public String toString() { return name(); }

    /** C[m×n] = alpha·op(A)[m×k]·op(B)[k×n] + beta·C; with beta = 0, C is not read (NaNs there vanish). */
    public final void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                            MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                            float beta, MemorySegment c, long cOff, int ldc) {
        if (m < 0 || n < 0 || k < 0) throw new IllegalArgumentException("sgemm: negative size m=" + m + " n=" + n + " k=" + k);
        checkMatrix("A", a, aOff, lda, transA ? k : m, transA ? m : k);
        checkMatrix("B", b, bOff, ldb, transB ? n : k, transB ? k : n);
        checkMatrix("C", c, cOff, ldc, m, n);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0) {
            scale(c, cOff, ldc, m, n, beta);
            return;
        }
        if ((long) m * n * k < PARALLEL_MIN_MACS || Parallel.threads() < 2) {
            compute(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        } else if (m >= n) {
            Parallel.forRange(m, PARALLEL_GRAIN, (i0, i1) -> compute(transA, transB, i1 - i0, n, k, alpha,
                    a, aOff + (transA ? i0 : (long) i0 * lda), lda, b, bOff, ldb, beta, c, cOff + (long) i0 * ldc, ldc));
        } else {
            Parallel.forRange(n, PARALLEL_GRAIN, (j0, j1) -> compute(transA, transB, m, j1 - j0, k, alpha,
                    a, aOff, lda, b, bOff + (transB ? (long) j0 * ldb : j0), ldb, beta, c, cOff + j0, ldc));
        }
    }

    /** The product on the calling thread; arguments are checked and m, n, k ≥ 1. */
    protected abstract void compute(boolean transA, boolean transB, int m, int n, int k, float alpha,
                                    MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                                    float beta, MemorySegment c, long cOff, int ldc);

    private static void checkMatrix(String what, MemorySegment s, long off, int ld, int rows, int cols) {
        if (ld < Math.max(1, cols))
            throw new IllegalArgumentException("sgemm: leading dimension of " + what + " is " + ld + ", its rows hold " + cols + " elements");
        long end = rows == 0 || cols == 0 ? off : off + (long) (rows - 1) * ld + cols;
        if (off < 0 || end * Float.BYTES > s.byteSize())
            throw new IllegalArgumentException("sgemm: " + what + " (" + rows + "×" + cols + ", ld " + ld + ", offset " + off
                    + ") runs past its segment of " + s.byteSize() / Float.BYTES + " floats");
    }

    /** C *= beta (C = 0 when beta = 0, whatever C held). */
    static void scale(MemorySegment c, long cOff, int ldc, int m, int n, float beta) {
        for (int i = 0; i < m; i++) {
            long row = cOff + (long) i * ldc;
            for (int j = 0; j < n; j++) {
                float v = beta == 0 ? 0f : beta * c.getAtIndex(ValueLayout.JAVA_FLOAT, row + j);
                c.setAtIndex(ValueLayout.JAVA_FLOAT, row + j, v);
            }
        }
    }

    /**
     * The GEMM every CPU op uses: OpenBLAS unless -Dfrl.blas=java, or the Java GEMM with a one-line warning
     * when the OpenBLAS natives cannot be loaded.
     */
    public static Gemm active() {
        Gemm g = active;
        if (g == null) {
            synchronized (Gemm.class) {
                if (active == null) active = named(System.getProperty("frl.blas", "openblas"));
                g = active;
            }
        }
        return g;
    }

    /** One line for `frl info`: which GEMM runs and how it is built and threaded. */
    public static String describe() {
        Gemm g = active();
        return g.name() + ": " + g.config();
    }

    /**
     * A GEMM by the names -Dfrl.blas takes: "openblas" (falling back to Java with a one-line warning when the
     * natives do not load) or "java" (the Vector-API kernel when the module is present, else scalar).
     */
    public static Gemm named(String choice) {
        return switch (choice) {
            case "java" -> JavaGemm.best();
            case "openblas" -> {
                try {
                    yield OpenBlasGemm.load();
                } catch (RuntimeException | LinkageError e) {
                    System.err.println("frl: OpenBLAS did not load (" + e + "); using the pure-Java GEMM");
                    yield JavaGemm.best();
                }
            }
            default -> throw new IllegalArgumentException("-Dfrl.blas=" + choice + ": expected 'openblas' or 'java'");
        };
    }
}
