package frl.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A pure-Java GEMM in the GotoBLAS shape: op(B) is packed KC×NC at a time into NR-wide panels, op(A) MC×KC
 * into MR-high panels (transposes are resolved while packing), and a register-blocked micro-kernel multiplies
 * one A panel by one B panel into an MR×NR tile of C. The micro-kernel uses the Vector API when the
 * jdk.incubator.vector module is present ({@link JavaGemmVector}), a scalar loop otherwise.
 */
final class JavaGemm extends Gemm {
    private static final int KC = 256, MC = 96, NC = 1536;

    /** Multiplies packed panels: tile += A panel (MR×kc) · B panel (kc×NR), then C += alpha·tile. */
    interface Kernel {
        int mr();

        int nr();

        String describe();

        /** C[rows×cols at cOff] += alpha · Σp a[aOff + p·MR + i] · b[bOff + p·NR + j]; rows ≤ MR, cols ≤ NR. */
        void run(int kc, float[] a, int aOff, float[] b, int bOff, float alpha, MemorySegment c, long cOff, int ldc, int rows, int cols);
    }

    /** Packing buffers, one pair per thread, grown on demand (heap arrays: the GC may reclaim them). */
    private static final ThreadLocal<float[][]> BUFFERS = ThreadLocal.withInitial(() -> new float[2][0]);

    private final Kernel kernel;

    JavaGemm(Kernel kernel) { this.kernel = kernel; }

    /** The vector kernel when the module is present, the scalar one otherwise. */
    static JavaGemm best() {
        boolean vector = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        return new JavaGemm(vector ? new JavaGemmVector() : new ScalarKernel());
    }

    static JavaGemm scalar() { return new JavaGemm(new ScalarKernel()); }

    @Override public String name() { return kernel instanceof ScalarKernel ? "java-scalar" : "java-vector"; }

    @Override public String config() { return kernel.describe() + ", blocks KC=" + KC + " MC=" + MC + " NC=" + NC + ", parallel over " + Parallel.threads() + " threads"; }

    @Override protected void compute(boolean transA, boolean transB, int m, int n, int k, float alpha,
                                     MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                                     float beta, MemorySegment c, long cOff, int ldc) {
        if (beta != 1) scale(c, cOff, ldc, m, n, beta);
        int mr = kernel.mr(), nr = kernel.nr();
        float[][] buf = BUFFERS.get();
        int needA = ceil(Math.min(m, MC), mr) * Math.min(k, KC), needB = ceil(Math.min(n, NC), nr) * Math.min(k, KC);
        if (buf[0].length < needA) buf[0] = new float[needA];
        if (buf[1].length < needB) buf[1] = new float[needB];
        float[] ap = buf[0], bp = buf[1];
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                packB(transB, b, bOff, ldb, pc, kc, jc, nc, nr, bp);
                for (int ic = 0; ic < m; ic += MC) {
                    int mc = Math.min(MC, m - ic);
                    packA(transA, a, aOff, lda, ic, mc, pc, kc, mr, ap);
                    for (int jr = 0; jr < nc; jr += nr) {
                        for (int ir = 0; ir < mc; ir += mr) {
                            long cAt = cOff + (long) (ic + ir) * ldc + jc + jr;
                            kernel.run(kc, ap, ir * kc, bp, jr * kc, alpha, c, cAt, ldc, Math.min(mr, mc - ir), Math.min(nr, nc - jr));
                        }
                    }
                }
            }
        }
    }

    private static int ceil(int x, int step) { return (x + step - 1) / step * step; }

    /** ap[panel·MR·kc + p·MR + r] = op(A)[i0 + panel·MR + r, p0 + p], zero past the last row. */
    private static void packA(boolean trans, MemorySegment a, long off, int ld, int i0, int mc, int p0, int kc, int mr, float[] ap) {
        for (int ir = 0; ir < mc; ir += mr) {
            int base = ir * kc, rows = Math.min(mr, mc - ir);
            for (int r = 0; r < mr; r++) {
                if (r >= rows) {
                    for (int p = 0; p < kc; p++) ap[base + p * mr + r] = 0f;
                } else if (trans) {   // op(A)[i, p] = A[p, i]: walk down a column of A
                    long src = off + (long) p0 * ld + i0 + ir + r;
                    for (int p = 0; p < kc; p++) ap[base + p * mr + r] = a.getAtIndex(ValueLayout.JAVA_FLOAT, src + (long) p * ld);
                } else {              // a row of A, read contiguously
                    long src = off + (long) (i0 + ir + r) * ld + p0;
                    for (int p = 0; p < kc; p++) ap[base + p * mr + r] = a.getAtIndex(ValueLayout.JAVA_FLOAT, src + p);
                }
            }
        }
    }

    /** bp[panel·NR·kc + p·NR + j] = op(B)[p0 + p, j0 + panel·NR + j], zero past the last column. */
    private static void packB(boolean trans, MemorySegment b, long off, int ld, int p0, int kc, int j0, int nc, int nr, float[] bp) {
        for (int jr = 0; jr < nc; jr += nr) {
            int base = jr * kc, cols = Math.min(nr, nc - jr);
            for (int p = 0; p < kc; p++) {
                int dst = base + p * nr;
                if (trans) {          // op(B)[p, j] = B[j, p]
                    long src = off + (long) (j0 + jr) * ld + p0 + p;
                    for (int j = 0; j < cols; j++) bp[dst + j] = b.getAtIndex(ValueLayout.JAVA_FLOAT, src + (long) j * ld);
                } else {              // part of a row of B: one bulk copy
                    MemorySegment.copy(b, ValueLayout.JAVA_FLOAT, (off + (long) (p0 + p) * ld + j0 + jr) * Float.BYTES, bp, dst, cols);
                }
                for (int j = cols; j < nr; j++) bp[dst + j] = 0f;
            }
        }
    }

    /** 4×8 tile kept in a small array; C2 vectorises the inner j loop on most machines. */
    static final class ScalarKernel implements Kernel {
        private static final int MR = 4, NR = 8;

        @Override public int mr() { return MR; }

        @Override public int nr() { return NR; }

        @Override public String describe() { return "scalar " + MR + "×" + NR + " kernel"; }

        @Override public void run(int kc, float[] a, int aOff, float[] b, int bOff, float alpha, MemorySegment c, long cOff, int ldc, int rows, int cols) {
            float[] tile = new float[MR * NR];
            for (int p = 0; p < kc; p++) {
                int ai = aOff + p * MR, bi = bOff + p * NR;
                for (int i = 0; i < MR; i++) {
                    float av = a[ai + i];
                    for (int j = 0; j < NR; j++) tile[i * NR + j] += av * b[bi + j];
                }
            }
            addTile(tile, NR, alpha, c, cOff, ldc, rows, cols);
        }
    }

    /** C[rows×cols] += alpha · tile (row stride {@code nr}). */
    static void addTile(float[] tile, int nr, float alpha, MemorySegment c, long cOff, int ldc, int rows, int cols) {
        for (int i = 0; i < rows; i++) {
            long row = cOff + (long) i * ldc;
            for (int j = 0; j < cols; j++)
                c.setAtIndex(ValueLayout.JAVA_FLOAT, row + j, c.getAtIndex(ValueLayout.JAVA_FLOAT, row + j) + alpha * tile[i * nr + j]);
        }
    }
}
