package frl.backend.cuda;

import frl.backend.ConvGeometry;
import frl.backend.cuda.SubPixelPlans.Scratch;
import frl.backend.cuda.SubPixelPlans.Steps;
import frl.tensor.Shape;

/**
 * A convolution as unfolded GEMMs: x [N,C,H,W] unfolded into cols [C·kh·kw, N·OH·OW] (src/main/cuda/unfold.cu), then
 * one cuBLAS SGEMM per op against w [K, C·kh·kw] (CudaUnfold runs these plans on the GPU; the tests run them on a host
 * emulation of the {@link Steps}). Where the output has too few 128×128 tiles for the SMs (the VAE's middle layers:
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
     * y = w · cols: column-major yᵀ [NP, K] = colsᵀ · wᵀ over the inner size C·kh·kw, in chunks where the steps split it,
     * then into y's layout (with the chunks' sum).
     */
    static void conv2d(Steps s, Dims d, long x, long w, long y) {
        int np = d.np(), k = d.k(), ckk = d.ckk(), splits = d.splitK() ? s.weightSplits(np, k, ckk) : 1, chunk = ckk / splits;
        try (Scratch cols = s.scratch(d.colsFloats()); Scratch partials = s.scratch((long) splits * k * np)) {
            s.unfold(d, x, cols.address());
            SubPixelPlans.gemm(s, splits, false, false, np, k, chunk, cols.address(), np, (long) chunk * np, w, ckk, chunk,
                    partials.address(), np, (long) k * np, false, false);
            s.rowsToNchw(d, partials.address(), splits, y);
        }
    }

    /** dcols = wᵀ · dy: column-major dcolsᵀ [NP, C·kh·kw] = dyᵀ · w over K, then folded back onto dx. */
    static void backwardInput(Steps s, Dims d, long dy, long w, long dx) {
        int np = d.np(), ckk = d.ckk();
        try (Scratch rows = s.scratch((long) d.k() * np); Scratch dcols = s.scratch(d.colsFloats())) {
            s.nchwToRows(d, dy, rows.address());
            s.gemm(false, true, np, ckk, d.k(), rows.address(), np, w, ckk, dcols.address(), np, false, false);
            s.fold(d, dcols.address(), dx);
        }
    }

    /**
     * dw = dy · colsᵀ: column-major dwᵀ [C·kh·kw, K] = cols · dyᵀ over the N·OH·OW pixels, in chunks where the steps
     * split it (then the partials added up into dw).
     */
    static void backwardWeight(Steps s, Dims d, long x, long dy, long dw) {
        int np = d.np(), k = d.k(), ckk = d.ckk(), splits = d.splitK() ? s.weightSplits(ckk, k, np) : 1, chunk = np / splits;
        try (Scratch cols = s.scratch(d.colsFloats()); Scratch rows = s.scratch((long) k * np)) {
            s.unfold(d, x, cols.address());
            s.nchwToRows(d, dy, rows.address());
            if (splits == 1) {
                s.gemm(true, false, ckk, k, np, cols.address(), np, rows.address(), np, dw, ckk, false, false);
                return;
            }
            try (Scratch partials = s.scratch((long) splits * k * ckk)) {
                s.gemmBatched(true, false, ckk, k, chunk, cols.address(), np, chunk, rows.address(), np, chunk, partials.address(), ckk,
                        (long) k * ckk, splits, false, false);
                s.sumSlices(partials.address(), splits, (long) k * ckk, dw);
            }
        }
    }
}
