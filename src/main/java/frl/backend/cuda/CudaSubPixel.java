package frl.backend.cuda;

import frl.backend.ConvGeometry;
import frl.backend.ConvGeometry.Phase;
import frl.backend.Shapes;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.bytedeco.cuda.global.cudart;

import java.util.function.Consumer;
import java.util.function.ToLongFunction;

/**
 * The three ops of a strided convolution whose stride divides its kernel, as one cuBLAS GEMM per phase of the large
 * tensor x [N,C,H,W] (its pixel y = q·s + r − pad only meets the taps i = r + s·t, against row q − t of the small
 * tensor dy [N,K,OH,OW]); src/main/cuda/subpixel.cu gathers and scatters. Every GEMM sees phase r of x as one
 * row-major block x_r [C, N·q] (all images side by side) and W_r [C, depth = K·T²] the phase's taps:
 * <ul>
 *   <li>{@link #transposed} (backwardInput, a transposed convolution): x_r = W_r · cols_r, cols_r [depth, N·q] the
 *       gathered dy;</li>
 *   <li>{@link #forward} (conv2d): outs_r = W_rᵀ · x_r, then one kernel sums every phase's and tap's share of each
 *       output pixel (no atomics);</li>
 *   <li>{@link #weightGradient} (backwardWeight): dW_r = x_r · cols_rᵀ, its phases put back into dw's taps.</li>
 * </ul>
 * x_r lies either in the phases layout ({@link frl.backend.Backend#toPhases}: phase r's block is x_r itself, read
 * and written in place) or, for NCHW x, in one scratch block that each phase is gathered into or scattered from.
 * CPU twins: frl.backend.cpu.SubPixel and SubPixelPhases, same decomposition. For the VAE's last decoder layer
 * (64→1024 channels, 16→32) cuDNN ran these at 17–24 TFLOP/s on the H100 (FMA math), cuBLAS reached 48 on 2048³.
 * There, in phases, they ran at 36–41 (2026-11-27); -Dfrl.cuda.subpixel=cudnn turns them off.
 */
final class CudaSubPixel {
    private static final String FAMILY = "subpixel";
    private static final Kernel SPLIT = new Kernel(FAMILY, "subpixel_split_weights", "ppiiiiii");
    private static final Kernel UNSPLIT = new Kernel(FAMILY, "subpixel_unsplit_weights", "ppiiiiii");
    private static final Kernel GATHER = new Kernel(FAMILY, "subpixel_gather", "ppiiiiiiiiiill");
    private static final Kernel SCATTER = new Kernel(FAMILY, "subpixel_scatter", "ppiiiiiiiiiiiiiill");
    private static final Kernel GATHER_PIXELS = new Kernel(FAMILY, "subpixel_gather_pixels", "ppiiiiiiiiiiiiiill");
    private static final Kernel SUM = new Kernel(FAMILY, "subpixel_sum_phases", "ppiiiiiiiilllaa");

    private CudaSubPixel() {}

    /** This path or cuDNN, per op and shape: -Dfrl.cuda.subpixel (CudaConv takes it; here so no GPU is needed to ask it). */
    static final FasterPath CHOICE = new FasterPath("frl.cuda.subpixel");

    /**
     * Whether the phase ops for weights w may take the direct GEMMs (the choice is not forced to cuDNN, and the stride
     * divides the kernel); else they would be cuDNN's NCHW op plus a layout change, and a caller should stay in NCHW.
     * Decided by the switch alone, not by auto's timings: a step recorded as a graph after the first one must issue
     * the same ops, whose timings that first step made (under auto, cuDNN may still win a phase op, layout change and all).
     */
    static boolean convolvesInPhases(Shape w, ConvGeometry g) {
        return CHOICE.forced() != FasterPath.Path.CUDNN && w.rank() == 4 && applies(Shape.of(1, w.dim(1), g.strideH(), g.strideW()), w, g);
    }

    /**
     * x [N,C,H,W] and w [K,C,kh,kw] non-empty, a stride of at most 16 (subpixel_sum_phases takes the phases'
     * ranges in two FrlInts) that divides the kernel (4×4 stride 2, say), and more than 1 somewhere.
     */
    static boolean applies(Shape x, Shape w, ConvGeometry g) {
        int sh = g.strideH(), sw = g.strideW();
        return x.rank() == 4 && w.rank() == 4 && (sh > 1 || sw > 1) && sh <= 16 && sw <= 16 && w.dim(2) % sh == 0 && w.dim(3) % sw == 0
                && x.numel() > 0 && w.numel() > 0
                // every GEMM spans n·q columns, an int for cuBLAS
                && (long) x.dim(0) * Math.ceilDiv(x.dim(2), sh) * Math.ceilDiv(x.dim(3), sw) <= Integer.MAX_VALUE;
    }

    /** The sizes of a call: x [n,c,h,w] the large tensor, w [k,c,kh,kw], dy [n,k,oh,ow]; th × tw taps per phase (tests share it). */
    record Dims(int n, int c, int h, int w, int k, int kh, int kw, int oh, int ow, ConvGeometry g) {
        static Dims of(Shape x, Shape wt, ConvGeometry g) {
            return new Dims(x.dim(0), x.dim(1), x.dim(2), x.dim(3), wt.dim(0), wt.dim(2), wt.dim(3), g.outH(x.dim(2), wt.dim(2)),
                    g.outW(x.dim(3), wt.dim(3)), g);
        }

        Shape x() { return Shape.of(n, c, h, w); }

        int sh() { return g.strideH(); }

        int sw() { return g.strideW(); }

        int th() { return kh / sh(); }

        int tw() { return kw / sw(); }

        /** Rows of cols_r: (o, t, u). */
        int depth() { return k * th() * tw(); }

        /** Pixels of the largest phase. */
        int qMax() { return Math.ceilDiv(h, sh()) * Math.ceilDiv(w, sw()); }

        /** Columns of phase p's GEMMs, every image's pixels: an int ({@link #applies}). */
        int nq(Phase p) { return n * p.q(); }

        long nqMax() { return (long) n * qMax(); }

        java.util.List<Phase> phases() { return g.subPixelPhases(h, w); }

        /** Where W_r [c, depth] starts in the split weights [sh·sw, c, depth] at {@code base}. */
        long weights(long base, Phase p) { return base + 4L * index(g, p) * c * depth(); }

        long splitFloats() { return (long) sh() * sw() * c * depth(); }

        /** subpixel_sum_phases' FrlInts: (qy0, qh) for each ry, or (qx0, qw) for each rx; 0, 0 where no phase has it. */
        int[] ranges(boolean rows) {
            int[] out = new int[2 * (rows ? sh() : sw())];
            for (Phase p : phases()) {
                int r = rows ? p.ry() : p.rx();
                out[2 * r] = rows ? p.qy0() : p.qx0();
                out[2 * r + 1] = rows ? p.qh() : p.qw();
            }
            return out;
        }
    }

    /** Phase p's place r = ry·sw + rx among all sh·sw, in the split weights and the phases layout. */
    static int index(ConvGeometry g, Phase p) { return p.ry() * g.strideW() + p.rx(); }

    /** Where phase p's block [C, N·q] starts in the phases [R, C, N, q] at {@code base} of x [N,C,H,W] (tests share it). */
    static long block(long base, Shape x, ConvGeometry g, Phase p) { return base + 4L * index(g, p) * x.dim(1) * x.dim(0) * p.q(); }

    // ---- the NCHW ops: each phase of x gathered into, or scattered from, one scratch block [C, N·q] ----------------

    /** dy [N,K,OH,OW], w [K,C,kh,kw] → dx of shape xShape [N,C,H,W] (shapes already checked, applies). */
    static Tensor backwardInput(Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        Dims d = Dims.of(xShape, w.shape(), g);
        Tensor dx = CudaBackend.alloc(xShape);
        try (DeviceStorage part = scratch(d.c() * d.nqMax())) {
            transposed(d, dy, w, p -> part.address(), p -> movePixels(xShape, g, p, dx, part.address(), false));
        } // freed blocks are reused only by work queued after these kernels (one stream)
        return dx;
    }

    /** x [N,C,H,W] ⋆ w [K,C,kh,kw] → y [N,K,OH,OW] (shapes already checked, applies). */
    static Tensor conv2d(Tensor x, Tensor w, ConvGeometry g) {
        Dims d = Dims.of(x.shape(), w.shape(), g);
        try (DeviceStorage part = scratch(d.c() * d.nqMax())) {
            return forward(d, w, gatheredInto(part.address(), x, g));
        }
    }

    /** x [N,C,H,W], dy [N,K,OH,OW] → dw of shape wShape [K,C,kh,kw] (shapes already checked, applies). */
    static Tensor backwardWeight(Tensor x, Tensor dy, Shape wShape, ConvGeometry g) {
        Dims d = Dims.of(x.shape(), wShape, g);
        try (DeviceStorage part = scratch(d.c() * d.nqMax())) {
            return weightGradient(d, dy, wShape, gatheredInto(part.address(), x, g));
        }
    }

    // ---- the phase ops (Backend#conv2dBackwardInputToPhases and the two FromPhases): the GEMMs use x's blocks in place

    /** dy, w → x of shape xShape in phases [R, C, N, q] (shapes already checked, uniform phases, applies). */
    static Tensor backwardInputToPhases(Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        Tensor x = CudaBackend.alloc(Shapes.phases("conv2dBackwardInputToPhases", xShape, g));
        transposed(Dims.of(xShape, w.shape(), g), dy, w, inPlace(x, xShape, g), p -> {});
        return x;
    }

    /** x of shape xShape in phases ⋆ w → y [N,K,OH,OW] (shapes already checked, applies). */
    static Tensor conv2dFromPhases(Tensor xPhases, Tensor w, Shape xShape, ConvGeometry g) {
        return forward(Dims.of(xShape, w.shape(), g), w, inPlace(xPhases, xShape, g));
    }

    /** x of shape xShape in phases, dy → dw of shape wShape (shapes already checked, applies). */
    static Tensor backwardWeightFromPhases(Tensor xPhases, Tensor dy, Shape xShape, Shape wShape, ConvGeometry g) {
        return weightGradient(Dims.of(xShape, wShape, g), dy, wShape, inPlace(xPhases, xShape, g));
    }

    /** For x in phases: phase p's block itself. */
    private static ToLongFunction<Phase> inPlace(Tensor phases, Shape x, ConvGeometry g) {
        return p -> block(phases.storage().address(), x, g, p);
    }

    /** For NCHW x: phase p gathered into the scratch block {@code part} first. */
    private static ToLongFunction<Phase> gatheredInto(long part, Tensor x, ConvGeometry g) {
        return p -> {
            movePixels(x.shape(), g, p, x, part, true);
            return part;
        };
    }

    // ---- the three plans, over phase p's block x_r [C, N·q] at blockOf(p) ------------------------------------------

    /** x_r = W_r · cols_r per phase, written at blockOf(p), then handed to {@code written} (NCHW: the scatter). */
    private static void transposed(Dims d, Tensor dy, Tensor w, ToLongFunction<Phase> blockOf, Consumer<Phase> written) {
        try (DeviceStorage split = scratch(d.splitFloats()); DeviceStorage cols = scratch(d.depth() * d.nqMax())) {
            SPLIT.launchN(w.numel(), w, split.address(), d.k(), d.c(), d.kh(), d.kw(), d.sh(), d.sw());
            for (Phase p : d.phases()) {
                int nq = d.nq(p);
                long x = blockOf.applyAsLong(p);
                gather(d, p, dy, cols.address());
                // row-major x_r [c, nq] = W_r [c, depth] · cols [depth, nq]: column-major x_rᵀ = colsᵀ · W_rᵀ
                CudaBlas.gemm(false, false, nq, d.c(), d.depth(), cols.address(), nq, d.weights(split.address(), p), d.depth(), x, nq);
                written.accept(p);
            }
        }
    }

    /** y [N,K,OH,OW] = Σ over phases and taps of outs_r = W_rᵀ · x_r, x_r read at blockOf(p). */
    private static Tensor forward(Dims d, Tensor w, ToLongFunction<Phase> blockOf) {
        Tensor y = CudaBackend.alloc(Shape.of(d.n(), d.k(), d.oh(), d.ow()));
        long slot = d.depth() * d.nqMax(); // outs_r [depth, N·q] at outs + r·slot
        try (DeviceStorage split = scratch(d.splitFloats()); DeviceStorage outs = scratch(d.sh() * d.sw() * slot)) {
            SPLIT.launchN(w.numel(), w, split.address(), d.k(), d.c(), d.kh(), d.kw(), d.sh(), d.sw());
            for (Phase p : d.phases()) {
                int nq = d.nq(p);
                long x = blockOf.applyAsLong(p);
                // row-major outs_r [depth, nq] = W_rᵀ [depth, c] · x_r [c, nq]: column-major outs_rᵀ = x_rᵀ · W_r
                CudaBlas.gemm(false, true, nq, d.depth(), d.c(), x, nq, d.weights(split.address(), p), d.depth(), outs.address() + 4L * index(d.g(), p) * slot, nq);
            }
            // outs_r's strides in units of the phase's q: image 1, row N
            SUM.launchN(y.numel(), outs.address(), y, d.n(), d.k(), d.oh(), d.ow(), d.th(), d.tw(), d.sh(), d.sw(), slot, 1L, (long) d.n(),
                    d.ranges(true), d.ranges(false));
        }
        return y;
    }

    /** dW_r = x_r · cols_rᵀ per phase, x_r read at blockOf(p), then the phases back into dw [K,C,kh,kw]. */
    private static Tensor weightGradient(Dims d, Tensor dy, Shape wShape, ToLongFunction<Phase> blockOf) {
        Tensor dw = CudaBackend.alloc(wShape);
        try (DeviceStorage split = scratch(d.splitFloats()); DeviceStorage cols = scratch(d.depth() * d.nqMax())) {
            if (d.phases().size() < d.sh() * d.sw()) // a phase that owns no pixel of x (x smaller than the stride): its taps get 0
                Cuda.check(cudart.cudaMemsetAsync(new DevicePointer(split.address()), 0, 4L * d.splitFloats(), CudaContext.get().stream()),
                        "cudaMemsetAsync(sub-pixel dw)");
            for (Phase p : d.phases()) {
                int nq = d.nq(p);
                long x = blockOf.applyAsLong(p);
                gather(d, p, dy, cols.address());
                // row-major dW_r [c, depth] = x_r [c, nq] · colsᵀ [nq, depth]: column-major dW_rᵀ = cols · x_rᵀ, every image and pixel summed
                CudaBlas.gemm(true, false, d.depth(), d.c(), nq, cols.address(), nq, x, nq, d.weights(split.address(), p), d.depth());
            }
            UNSPLIT.launchN(dw.numel(), split.address(), dw, d.k(), d.c(), d.kh(), d.kw(), d.sh(), d.sw());
        }
        return dw;
    }

    private static DeviceStorage scratch(long floats) { return new DeviceStorage(CudaContext.get(), 4L * floats); }

    /** cols_r [depth, N·q]: cols[(o, t, u), img·q + (a, b)] = dy[img, o, qy0 + a − t, qx0 + b − u], 0 outside dy. */
    private static void gather(Dims d, Phase p, Tensor dy, long cols) {
        GATHER.launchN((long) d.depth() * d.nq(p), dy, cols, d.n(), d.k(), d.oh(), d.ow(), d.th(), d.tw(), p.qy0(), p.qh(), p.qx0(), p.qw(),
                (long) p.q(), (long) d.nq(p));
    }

    // ---- the layout: toPhases, fromPhases --------------------------------------------------------------------------

    /** x [N,C,H,W] → its phases [R, C, N, q] ({@link frl.backend.Backend#toPhases}), one gather per phase. */
    static Tensor toPhases(Tensor x, ConvGeometry g) {
        Tensor out = CudaBackend.alloc(Shapes.phases("toPhases", x.shape(), g));
        movePhases(x, out, g, true);
        return out;
    }

    static Tensor fromPhases(Tensor phases, Shape xShape, ConvGeometry g) {
        Shapes.requirePhases("fromPhases", phases, xShape, g);
        Tensor x = CudaBackend.alloc(xShape);
        movePhases(x, phases, g, false);
        return x;
    }

    private static void movePhases(Tensor x, Tensor phases, ConvGeometry g, boolean toPhases) {
        if (x.numel() == 0) return;
        for (Phase p : g.subPixelPhases(x.dim(2), x.dim(3)))
            movePixels(x.shape(), g, p, x, block(phases.storage().address(), x.shape(), g, p), toPhases);
    }

    /**
     * Phase p of x [N,C,H,W] (a tensor or address) into the block [C, N·q] at {@code block} (subpixel_gather_pixels), or
     * back (subpixel_scatter): strides (q, N·q) for image and channel.
     */
    private static void movePixels(Shape x, ConvGeometry g, Phase p, Object nchw, long block, boolean toBlock) {
        long count = (long) x.dim(0) * x.dim(1) * p.q();
        Object from = toBlock ? nchw : block, to = toBlock ? block : nchw;
        (toBlock ? GATHER_PIXELS : SCATTER).launchN(count, from, to, x.dim(0), x.dim(1), x.dim(2), x.dim(3), p.qy0(), p.qh(), p.qx0(), p.qw(),
                g.strideH(), g.strideW(), p.ry(), p.rx(), g.padH(), g.padW(), (long) p.q(), (long) x.dim(0) * p.q());
    }
}
