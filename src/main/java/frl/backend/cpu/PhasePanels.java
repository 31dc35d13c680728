package frl.backend.cpu;

import frl.backend.cpu.SubPixelPhases.Dims;
import frl.tensor.HostStorage;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * {@link SubPixelPhases}' products by {@link DirectConvKernels#product} (Vector API), which runs near twice as fast as
 * OpenBLAS here (2 cores, AVX-512: 210 against 120 GFLOP/s a core at the VAE's last layer, a scratch program): each
 * phase's weights packed in row panels once, the columns of a group of images built on the heap, and each phase's
 * product handed on while it is in cache: copied into place, or scored by the cross-entropy without being stored.
 * Loaded only when the Vector API is present.
 */
final class PhasePanels {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final int LANES = DirectConvKernels.wholeVectors(1);

    private PhasePanels() {}

    /**
     * Whether the panels take phases of q pixels: a whole number of vectors, so that every column is a vector lane of
     * the products and of the cross-entropy (whose lanes then give the bits of CpuLoss' whole-tensor passes).
     */
    static boolean takes(int q) { return q % LANES == 0; }

    /** x_r = W_r · cols_r into the phases x [R, C, N·q] (xs). */
    static void toPhases(Dims d, MemorySegment dys, MemorySegment w, MemorySegment xs) {
        products(d, dys, w, (y, ld, r, n0, width) -> copy(d, y, ld, r, n0, width, xs));
    }

    /** Phase r's product y [C, ld] for images n0 … into its place in x (xs). */
    private static void copy(Dims d, float[] y, int ld, int r, int n0, int width, MemorySegment xs) {
        for (int c = 0; c < d.c(); c++) MemorySegment.copy(y, c * ld, xs, F, (d.at(r, n0) + (long) c * d.ld()) * Float.BYTES, width);
    }

    /**
     * The cross-entropy of x_r viewed as logits [channels, classes, width] against target (class indices of the
     * losses [R, channels, N·q]) into out, each group's product scored while it is in cache; where xs is given, the
     * products also copied into it as {@link #toPhases} does.
     */
    static void crossEntropy(Dims d, MemorySegment dys, MemorySegment w, int[] target, int channels, int classes, MemorySegment out, MemorySegment xs) {
        Kernels k = Kernels.active();
        products(d, dys, w, (y, ld, r, n0, width) -> {
            if (xs != null) copy(d, y, ld, r, n0, width, xs);
            MemorySegment ys = MemorySegment.ofArray(y);
            for (int ch = 0; ch < channels; ch++) {
                long lossAt = ((long) r * channels + ch) * d.ld() + (long) n0 * d.q();
                SoftmaxBlocks.inOrder(k, ys, classes, ld, (long) ch * classes * ld, width, (st, base, j0, n) -> {
                    for (int j = 0; j < n; j++) {
                        long at = lossAt + j0 + j;
                        out.setAtIndex(F, at, (float) (st.logSumExp(j) - y[(int) base + target[(int) at] * ld + j]));
                    }
                });
            }
        });
    }

    /** Fills g [C, ld] with phase r's large side for images n0 … (its first width columns). */
    @FunctionalInterface
    interface Source { void fill(float[] g, int ld, int r, int n0, int width); }

    /** x_r's rows from the phases x [R, C, N·q] (xs). */
    static Source rowsOf(Dims d, MemorySegment xs) {
        return (g, ld, r, n0, width) -> {
            for (int row = 0; row < d.c(); row++) MemorySegment.copy(xs, F, (d.at(r, n0) + (long) row * d.ld()) * Float.BYTES, g, row * ld, width);
        };
    }

    /**
     * The gradient of crossEntropy(logits, targets, 2) for dloss, the logits x_r viewed as [channels, classes, N·q]: per
     * position, exp(x − max) · dloss / Σ, less dloss at the target, as CpuLoss#crossEntropyBackward computes it (the same
     * bits: every lane a vector lane), written to the heap without the gradient ever being a tensor.
     */
    static Source crossEntropyGradient(Dims d, MemorySegment logits, int[] target, MemorySegment dloss, int channels, int classes) {
        Kernels k = Kernels.active();
        return (g, ld, r, n0, width) -> {
            MemorySegment gs = MemorySegment.ofArray(g);
            for (int ch = 0; ch < channels; ch++) {
                long lossAt = ((long) r * channels + ch) * d.ld() + (long) n0 * d.q();
                int row0 = ch * classes;
                SoftmaxBlocks.inOrder(k, logits, classes, d.ld(), d.at(r, n0) + (long) row0 * d.ld(), width, (st, base, j0, n) -> {
                    int col = (int) j0;
                    for (int j = 0; j < n; j++) st.scale[j] = dloss.getAtIndex(F, lossAt + col + j) / st.sum[j];
                    for (int c = 0; c < classes; c++) k.expScaledLanes(logits, base + (long) c * d.ld(), st.shift, st.scale, gs, (long) (row0 + c) * ld + col, n);
                    for (int j = 0; j < n; j++) g[(row0 + target[(int) lossAt + col + j]) * ld + col + j] -= dloss.getAtIndex(F, lossAt + col + j);
                });
            }
        };
    }

    /**
     * The adjoint products of each phase's chunk g_r [C, width] from source: dcols_r = W_rᵀ · g_r by the product, added
     * into the images' dy gradient (dyGrad); and where dys is given, dW_r += g_r · cols_rᵀ by
     * DirectConvKernels#weightGradient, returned in the phases' split layout [R, C, depth] (each core's images summed
     * apart, the parts added in order), else null. Groups of WEIGHT_COLUMNS columns: each weight-gradient tile sums its
     * lanes once per group, which at 512 columns cost as much as the tile (130 against 205 GFLOP/s at 2,048).
     */
    static float[] fromPhases(Dims d, Source source, MemorySegment w, MemorySegment dyGrad, MemorySegment dys) {
        int group = Math.min(d.group(SubPixelPhases.WEIGHT_COLUMNS), Math.ceilDiv(d.n(), Parallel.threads()));   // a group a core at least
        int phases = d.phases().size(), c = d.c(), depth = d.depth();
        int depthRows = DirectConv.roundUp(depth, DirectConvKernels.ROWS), rows = DirectConv.roundUp(c, DirectConvKernels.GRAD_ROWS);
        int taps = DirectConv.roundUp(depth, DirectConvKernels.GRAD_TAPS), tiles = rows / DirectConvKernels.GRAD_ROWS * (taps / DirectConvKernels.GRAD_TAPS);
        float[][] packed = packed(d, w, true);
        int parts = Chunks.count(d.n(), group);
        float[][][] sums = new float[parts][phases][dys == null ? 0 : rows * taps];
        Chunks.run(d.n(), parts, (part, from, to) -> {
            int most = rowStride(group * d.q());
            float[] grads = new float[group * d.small()], images = dys == null ? null : new float[group * d.small()], cols = dys == null ? null : new float[depth * most];
            float[] g = new float[rows * most], dcols = new float[depthRows * most];   // rows of g past c stay 0
            int[] offG = new int[c], offCols = new int[taps];
            for (int n0 = (int) from; n0 < to; n0 += group) {
                int count = (int) Math.min(group, to - n0), width = count * d.q(), ld = rowStride(width);
                for (int t = 0; t < c; t++) offG[t] = t * ld;
                for (int t = 0; t < depth; t++) offCols[t] = t * ld;   // padding taps read column 0; their sums are dropped
                if (dys != null) MemorySegment.copy(dys, F, (long) n0 * d.small() * Float.BYTES, images, 0, count * d.small());
                Arrays.fill(grads, 0f);
                for (int r = 0; r < phases; r++) {
                    source.fill(g, ld, r, n0, width);
                    DirectConvKernels.product(packed[r], c, offG, g, dcols, depthRows, width, ld);
                    d.scatterAdd(dcols, ld, count, r, grads);
                    if (dys != null) {
                        d.gather(images, count, r, cols, ld);
                        DirectConvKernels.weightGradient(g, ld, cols, offCols, width, sums[part][r], 0, tiles);
                    }
                }
                MemorySegment.copy(grads, 0, dyGrad, F, (long) n0 * d.small() * Float.BYTES, count * d.small());
            }
        });
        if (dys == null) return null;
        float[] dw = new float[phases * c * depth];
        for (float[][] part : sums)   // parts in a fixed order: the same bits whatever the timing
            for (int r = 0; r < phases; r++)
                for (int row = 0; row < c; row++)
                    for (int t = 0; t < depth; t++) dw[(r * c + row) * depth + t] += part[r][row * taps + t];
        return dw;
    }

    /** Each phase's weights W_r [C, depth] in row panels, or with transposed, W_rᵀ [depth, C]. */
    private static float[][] packed(Dims d, MemorySegment w, boolean transposed) {
        int phaseFloats = d.c() * d.depth();
        float[][] packed = new float[d.phases().size()][];
        try (HostStorage wp = d.split(w)) {
            float[] split = wp.segment().toArray(F);
            for (int r = 0; r < packed.length; r++)
                packed[r] = DirectConv.packRows(Arrays.copyOfRange(split, r * phaseFloats, (r + 1) * phaseFloats), d.c(), d.depth(), 1, 1, transposed);
        }
        return packed;
    }

    /** What is done with one phase's product for a group of images: y [rows, ld], its first width columns images n0 …. */
    @FunctionalInterface
    private interface Product { void take(float[] y, int ld, int r, int n0, int width); }

    /** Each phase's product for each group of images handed to body, parallel over the groups. */
    private static void products(Dims d, MemorySegment dys, MemorySegment w, Product body) {
        int group = d.group(SubPixelPhases.COLUMNS), rows = DirectConv.roundUp(d.c(), DirectConvKernels.ROWS);
        float[][] packed = packed(d, w, false);
        Parallel.forRange(d.n(), group, (from, to) -> {
            int most = rowStride(group * d.q());
            float[] images = new float[group * d.small()], cols = new float[d.depth() * most], y = new float[rows * most];
            int[] off = new int[d.depth()];
            for (int n0 = from; n0 < to; n0 += group) {
                int count = Math.min(group, to - n0), width = count * d.q(), ld = rowStride(width);
                for (int t = 0; t < off.length; t++) off[t] = t * ld;
                MemorySegment.copy(dys, F, (long) n0 * d.small() * Float.BYTES, images, 0, count * d.small());
                for (int r = 0; r < packed.length; r++) {
                    d.gather(images, count, r, cols, ld);
                    DirectConvKernels.product(packed[r], d.depth(), off, cols, y, rows, DirectConvKernels.wholeVectors(width), ld);
                    body.take(y, ld, r, n0, width);
                }
            }
        });
    }

    /**
     * Floats between rows of the heap columns and products: width in whole vectors, and one vector more, so that rows
     * are not a power of two apart (512 floats put a tile's loads in the same few L1 sets: 395 against 441 GFLOP/s on
     * both cores with 528, a scratch program timing the product alone).
     */
    private static int rowStride(int width) { return DirectConvKernels.wholeVectors(width) + LANES; }
}
