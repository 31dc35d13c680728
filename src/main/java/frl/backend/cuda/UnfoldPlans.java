package frl.backend.cuda;

import frl.backend.ConvGeometry;
import frl.backend.cuda.SubPixelPlans.Blocks;
import frl.backend.cuda.SubPixelPlans.Steps;
import frl.tensor.Shape;

/**
 * A convolution as unfolded GEMMs: x [N,C,H,W] unfolded into cols [C·kh·kw, N·OH·OW] (src/main/cuda/unfold.cu), then
 * one cuBLAS GEMM per op against w [K, C·kh·kw], in SGEMM or in 3xTF32 (SubPixelPlans.Gemm: both operands split into
 * their TF32 parts, three products) (CudaUnfold runs these plans on the GPU; the tests run them on a host emulation of
 * the {@link Steps}). Where the output has too few 128×128 tiles for the SMs (the VAE's middle layers:
 * y [256, 1024] over 2,048 terms is 16), the forward and the weight gradient sum their inner size in chunks, one
 * strided-batched GEMM of partial products, then one kernel that adds them up. Addresses are in bytes.
 */
final class UnfoldPlans {
    private UnfoldPlans() {}

    /** Most floats the unfolded cols may take (256 MiB): larger convolutions keep their other paths. */
    static final long MAX_COLS = 1L << 26;

    /** The sizes of a call: x [n,c,h,w], w [k,c,kh,kw], y [n,k,oh,ow]; splitK as in {@link SubPixelPlans.Dims}. */
    record Dims(int n, int c, int h, int w, int k, int kh, int kw, int oh, int ow, ConvGeometry g, boolean splitK) {
        static Dims of(Shape x, Shape wt, ConvGeometry g, boolean splitK) {
            return new Dims(x.dim(0), x.dim(1), x.dim(2), x.dim(3), wt.dim(0), wt.dim(2), wt.dim(3), g.outH(x.dim(2), wt.dim(2)),
                    g.outW(x.dim(3), wt.dim(3)), g, splitK);
        }

        /** Rows of cols: (c, i, j). */
        int ckk() { return c * kh * kw; }

        /** Columns of cols: (img, oy, ox). */
        int np() { return n * oh * ow; }

        long colsFloats() { return (long) ckk() * np(); }

        /** unfold.cu's geometry. */
        int[] ints() { return new int[] {n, c, h, w, k, kh, kw, oh, ow, g.strideH(), g.strideW(), g.padH(), g.padW()}; }
    }

    /** Where the plans may run: 4-D shapes with outputs, every GEMM size an int, and cols within {@link #MAX_COLS}. */
    static boolean applies(Shape x, Shape w, ConvGeometry g) {
        if (x.rank() != 4 || w.rank() != 4 || x.numel() == 0 || w.numel() == 0 || x.dim(1) != w.dim(1)) return false;
        if (x.dim(2) + 2L * g.padH() < w.dim(2) || x.dim(3) + 2L * g.padW() < w.dim(3)) return false; // no output
        int oh = g.outH(x.dim(2), w.dim(2)), ow = g.outW(x.dim(3), w.dim(3));
        long ckk = (long) w.dim(1) * w.dim(2) * w.dim(3), np = (long) x.dim(0) * oh * ow;
        return oh > 0 && ow > 0 && ckk <= Integer.MAX_VALUE && np <= Integer.MAX_VALUE && ckk * np <= MAX_COLS
                && (long) x.dim(0) * Math.max(x.dim(1), w.dim(0)) < Kernel.MAX_PLANES;
    }

    /**
     * An operand of a plan's GEMMs: at, or in 3xTF32 its TF32 parts [big; small] (tf32.cu's split, written into a
     * scratch of twice its floats, the small part {@code floats} after the big one).
     */
    private record Operand(long at, long small) {
        /** The operand of `rows` × `cols` floats (row-major) at `at`, split where gemm is 3xTF32 (the parts in blocks). */
        static Operand of(Steps s, SubPixelPlans.Gemm gemm, Blocks blocks, long at, long rows, int cols) {
            if (gemm != SubPixelPlans.Gemm.TF32X3) return new Operand(at, 0);
            long floats = rows * cols, parts = blocks.add(2 * floats);
            s.tf32Parts(at, parts, rows, cols, "bs", floats, cols);
            return new Operand(parts, parts + 4 * floats);
        }

        boolean split() { return small != 0; }
    }

    /**
     * C = op(A)·op(B) (column-major, a strided batch of `batch`; {@link SubPixelPlans#gemm}'s arguments): one SGEMM, or
     * where the operands are split, the 3xTF32 products big·big, then small·big and big·small accumulated.
     */
    private static void products(Steps s, int batch, boolean transA, boolean transB, int m, int n, int k, Operand a, int lda, long strideA, Operand b,
                                 int ldb, long strideB, long c, int ldc, long strideC) {
        boolean x3 = a.split();
        long[][] pairs = x3 ? new long[][] {{a.at(), b.at()}, {a.small(), b.at()}, {a.at(), b.small()}} : new long[][] {{a.at(), b.at()}};
        for (int i = 0; i < pairs.length; i++)
            SubPixelPlans.gemm(s, batch, transA, transB, m, n, k, pairs[i][0], lda, strideA, pairs[i][1], ldb, strideB, c, ldc, strideC, i > 0, x3);
    }

    /**
     * y = w · cols: column-major yᵀ [NP, K] = colsᵀ · wᵀ over the inner size C·kh·kw, in chunks where the steps split it,
     * then into y's layout (with the chunks' sum).
     */
    static void conv2d(Steps s, SubPixelPlans.Gemm gemm, Dims d, long x, long w, long y) {
        int np = d.np(), k = d.k(), ckk = d.ckk(), splits = d.splitK() ? s.weightSplits(np, k, ckk) : 1, chunk = ckk / splits;
        try (Blocks b = new Blocks(s)) {
            long cols = b.add(d.colsFloats()), partials = b.add((long) splits * k * np);
            s.unfold(d, x, cols);
            products(s, splits, false, false, np, k, chunk, Operand.of(s, gemm, b, cols, ckk, np), np, (long) chunk * np, Operand.of(s, gemm, b, w, k, ckk),
                    ckk, chunk, partials, np, (long) k * np);
            s.rowsToNchw(d, partials, splits, y);
        }
    }

    /** dcols = wᵀ · dy: column-major dcolsᵀ [NP, C·kh·kw] = dyᵀ · w over K, then folded back onto dx. */
    static void backwardInput(Steps s, SubPixelPlans.Gemm gemm, Dims d, long dy, long w, long dx) {
        int np = d.np(), ckk = d.ckk(), k = d.k();
        try (Blocks b = new Blocks(s)) {
            long rows = b.add((long) k * np), dcols = b.add(d.colsFloats());
            s.nchwToRows(d, dy, rows);
            products(s, 1, false, true, np, ckk, k, Operand.of(s, gemm, b, rows, k, np), np, 0, Operand.of(s, gemm, b, w, k, ckk), ckk, 0, dcols, np, 0);
            s.fold(d, dcols, dx);
        }
    }

    /**
     * dw = dy · colsᵀ: column-major dwᵀ [C·kh·kw, K] = cols · dyᵀ over the N·OH·OW pixels, in chunks where the steps
     * split it (then the partials added up into dw).
     */
    static void backwardWeight(Steps s, SubPixelPlans.Gemm gemm, Dims d, long x, long dy, long dw) {
        int np = d.np(), k = d.k(), ckk = d.ckk(), splits = d.splitK() ? s.weightSplits(ckk, k, np) : 1, chunk = np / splits;
        try (Blocks b = new Blocks(s)) {
            long cols = b.add(d.colsFloats()), rows = b.add((long) k * np);
            s.unfold(d, x, cols);
            s.nchwToRows(d, dy, rows);
            Operand a = Operand.of(s, gemm, b, cols, ckk, np), bt = Operand.of(s, gemm, b, rows, k, np);
            if (splits == 1) {
                products(s, 1, true, false, ckk, k, np, a, np, 0, bt, np, 0, dw, ckk, 0);
                return;
            }
            long partials = b.add((long) splits * k * ckk);
            products(s, splits, true, false, ckk, k, chunk, a, np, chunk, bt, np, chunk, partials, ckk, (long) k * ckk);
            s.sumSlices(partials, splits, (long) k * ckk, dw);
        }
    }
}
