package frl.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Softmax statistics over the class axis of a tensor viewed as [outer, K, inner], one block of up to
 * {@link #BLOCK} inner positions at a time. For a fixed class those positions are contiguous, so the kernels
 * run across them; a block's K·BLOCK logits stay in cache between the passes. With inner = 1 the kernels
 * run along the (then contiguous) classes instead. Scratch arrays belong to one parallel chunk.
 */
final class SoftmaxBlocks {
    static final int BLOCK = 256;

    /** A block: n positions from pos of the [outer, inner] result; class c of position j is at x[base + c·inner + j]. */
    @FunctionalInterface
    interface Body { void run(SoftmaxBlocks stats, long base, long pos, int n); }

    private final Kernels k;
    private final MemorySegment x;
    private final int classes, inner;
    /** Per position of the current block: max over classes, the shift used (the max where finite, else 0), Σ exp(x − shift). */
    final float[] max, shift, sum;
    /** Scratch for callers (a per-position factor). */
    final float[] scale;

    private SoftmaxBlocks(Kernels k, MemorySegment x, int classes, int inner) {
        this.k = k;
        this.x = x;
        this.classes = classes;
        this.inner = inner;
        int width = Math.min(inner, BLOCK);
        max = new float[width];
        shift = new float[width];
        sum = new float[width];
        scale = new float[width];
    }

    /** Computes the statistics of every block of x viewed as {@code view} = [outer, K, inner] and hands each to body, in parallel. */
    static void forEach(Kernels k, MemorySegment x, int[] view, Body body) {
        int outer = view[0], classes = view[1], inner = view[2];
        if (inner == 0) return;
        int perRow = (inner + BLOCK - 1) / BLOCK;
        long work = (long) classes * Math.min(inner, BLOCK);
        int grain = (int) Math.max(1, Chunks.GRAIN / Math.max(1, work));
        Parallel.forRange(outer * perRow, grain, (u0, u1) -> {
            SoftmaxBlocks st = new SoftmaxBlocks(k, x, classes, inner);
            for (int u = u0; u < u1; u++) {
                int o = u / perRow, j0 = (u % perRow) * BLOCK, n = Math.min(BLOCK, inner - j0);
                long base = (long) o * classes * inner + j0;
                st.compute(base, n);
                body.run(st, base, (long) o * inner + j0, n);
            }
        });
    }

    /**
     * The blocks of one [classes, inner] matrix of x at base, positions [0, n), on the calling thread: body gets each
     * block's statistics, its base and its first position. A position's statistics are {@link #forEach}'s bits where
     * both see it in a whole vector of the kernels (n and the blocks' starts multiples of the vector length).
     */
    static void inOrder(Kernels k, MemorySegment x, int classes, int inner, long base, int n, Body body) {
        SoftmaxBlocks st = new SoftmaxBlocks(k, x, classes, inner);
        for (int j0 = 0; j0 < n; j0 += BLOCK) {
            int count = Math.min(BLOCK, n - j0);
            st.compute(base + j0, count);
            body.run(st, base + j0, j0, count);
        }
    }

    private void compute(long base, int n) {
        if (inner == 1) {
            max[0] = k.maxRow(x, base, classes);
            shift[0] = Float.isFinite(max[0]) ? max[0] : 0;
            sum[0] = (float) k.sumExpRow(x, base, classes, shift[0]);
            return;
        }
        Arrays.fill(max, 0, n, Float.NEGATIVE_INFINITY);
        for (int c = 0; c < classes; c++) k.maxLanes(max, x, base + (long) c * inner, n);
        for (int j = 0; j < n; j++) shift[j] = Float.isFinite(max[j]) ? max[j] : 0;
        Arrays.fill(sum, 0, n, 0f);
        for (int c = 0; c < classes; c++) k.sumExpLanes(sum, shift, x, base + (long) c * inner, n);
    }

    /** log Σ exp over the classes at position j of the block (±∞ when the max is; NaN stays NaN). */
    double logSumExp(int j) { return Float.isFinite(max[j]) ? max[j] + Math.log(sum[j]) : max[j]; }

    /** out[base + c·inner + j] = exp(x − shift[j]) · scale[j] for every class c, over the block's n positions. */
    void writeScaledExp(MemorySegment out, long base, int n) {
        if (inner == 1) k.expScaledRow(x, base, shift[0], scale[0], out, base, classes);
        else for (int c = 0; c < classes; c++) k.expScaledLanes(x, base + (long) c * inner, shift, scale, out, base + (long) c * inner, n);
    }
}
