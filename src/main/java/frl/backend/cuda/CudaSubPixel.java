package frl.backend.cuda;

import frl.backend.ConvGeometry;
import frl.backend.ConvGeometry.Phase;
import frl.backend.Shapes;
import frl.backend.cuda.SubPixelPlans.Dims;
import frl.backend.cuda.SubPixelPlans.Gemm;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.bytedeco.cuda.global.cudart;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The three ops of a strided convolution whose stride divides its kernel, as one cuBLAS GEMM per phase of the large
 * tensor x [N,C,H,W] (its pixel y = q·s + r − pad only meets the taps i = r + s·t, against row q − t of the small
 * tensor dy [N,K,OH,OW]); src/main/cuda/subpixel.cu gathers and scatters. The plans are {@link SubPixelPlans}'; here
 * they run on the GPU ({@link #GPU}: the kernels, cuBLAS, the context's allocator). x lies either in NCHW or in the
 * phases layout ({@link frl.backend.Backend#toPhases}: phase r's block [C, N·q] is read and written in place).
 * CPU twins: frl.backend.cpu.SubPixel and SubPixelPhases, same decomposition. For the VAE's last decoder layer
 * (64→1024 channels, 16→32) cuDNN ran these at 17–24 TFLOP/s on the H100 (FMA math), cuBLAS reached 48 on 2048³.
 * There, in phases, they ran at 36–41 (2026-11-27); -Dfrl.cuda.subpixel=cudnn turns them off. -Dfrl.cuda.gemm: the
 * GEMMs in SGEMM, in 3xTF32 (TF32 tensor cores at float32's accuracy), or auto, the default, which times both per op
 * and size and keeps the faster. On an H200 (2026-11-27) 3xTF32 took the layer's forward in 0.62 ms instead of 0.94,
 * its two gradients in 1.84 instead of 1.77.
 */
final class CudaSubPixel {
    private static final String FAMILY = "subpixel";
    private static final Kernel SPLIT = new Kernel(FAMILY, "subpixel_split_weights", "ppiiiiii");
    private static final Kernel UNSPLIT = new Kernel(FAMILY, "subpixel_unsplit_weights", "ppiiiiii");
    private static final Kernel GATHER = new Kernel(FAMILY, "subpixel_gather", "ppiiiiiiiiiill");
    private static final Kernel GATHER_LINES = new Kernel(FAMILY, "subpixel_gather_lines", "ppiiiiiiiiiill");
    private static final Kernel GATHER_PARTS = new Kernel(FAMILY, "subpixel_gather_parts", "ppiiiiiiiiiilliil");
    /** SUBPIXEL_LINES in subpixel.cu: the lines of cols one thread of subpixel_gather_lines fills. */
    private static final int LINES = 8;
    private static final Kernel SCATTER = new Kernel(FAMILY, "subpixel_scatter", "ppiiiiiiiiiiiiiill");
    private static final Kernel GATHER_PIXELS = new Kernel(FAMILY, "subpixel_gather_pixels", "ppiiiiiiiiiiiiiill");
    private static final Kernel SUM = new Kernel(FAMILY, "subpixel_sum_phases", "ppiiiiiiiilllaa");
    private static final Kernel SUM_S2T2 = new Kernel(FAMILY, "subpixel_sum_phases_s2t2", "ppiiiiiiiilllaa");
    private static final Kernel SUM_SLICES = new Kernel(FAMILY, "subpixel_sum_slices", "ppil");
    private static final Kernel TF32_PARTS = new Kernel("tf32", "tf32_parts", "ppliiill");
    private static final Kernel TF32_PARTS4 = new Kernel("tf32", "tf32_parts4", "ppliiill");

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

    // ---- the ops (shapes already checked, applies; the phase ops: uniform phases) -------------------------------------

    /** dy [N,K,OH,OW], w [K,C,kh,kw] → dx of shape xShape [N,C,H,W]. */
    static Tensor backwardInput(Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        Tensor dx = CudaBackend.alloc(xShape);
        Dims d = Dims.of(xShape, w.shape(), g);
        run("backwardInput", d, false, (gemm, m) -> SubPixelPlans.backwardInput(GPU, gemm, m, at(dy), at(w), at(dx)));
        return dx;
    }

    /** x [N,C,H,W] ⋆ w [K,C,kh,kw] → y [N,K,OH,OW]. */
    static Tensor conv2d(Tensor x, Tensor w, ConvGeometry g) {
        Dims d = Dims.of(x.shape(), w.shape(), g);
        Tensor y = CudaBackend.alloc(Shape.of(d.n(), d.k(), d.oh(), d.ow()));
        run("conv2d", d, false, (gemm, m) -> SubPixelPlans.conv2d(GPU, gemm, m, at(x), at(w), at(y)));
        return y;
    }

    /** x [N,C,H,W], dy [N,K,OH,OW] → dw of shape wShape [K,C,kh,kw]. */
    static Tensor backwardWeight(Tensor x, Tensor dy, Shape wShape, ConvGeometry g) {
        Tensor dw = CudaBackend.alloc(wShape);
        Dims d = Dims.of(x.shape(), wShape, g);
        run("backwardWeight", d, true, (gemm, m) -> SubPixelPlans.backwardWeight(GPU, gemm, m, at(x), at(dy), at(dw)));
        return dw;
    }

    /** dy, w → x of shape xShape in phases [R, C, N, q]. */
    static Tensor backwardInputToPhases(Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        Tensor x = CudaBackend.alloc(Shapes.phases("conv2dBackwardInputToPhases", xShape, g));
        Dims d = Dims.of(xShape, w.shape(), g);
        run("backwardInputToPhases", d, false, (gemm, m) -> SubPixelPlans.backwardInputToPhases(GPU, gemm, m, at(dy), at(w), at(x)));
        return x;
    }

    /** x of shape xShape in phases ⋆ w → y [N,K,OH,OW]. */
    static Tensor conv2dFromPhases(Tensor xPhases, Tensor w, Shape xShape, ConvGeometry g) {
        Dims d = Dims.of(xShape, w.shape(), g);
        Tensor y = CudaBackend.alloc(Shape.of(d.n(), d.k(), d.oh(), d.ow()));
        run("conv2dFromPhases", d, false, (gemm, m) -> SubPixelPlans.conv2dFromPhases(GPU, gemm, m, at(xPhases), at(w), at(y)));
        return y;
    }

    /** x of shape xShape in phases, dy → dw of shape wShape. */
    static Tensor backwardWeightFromPhases(Tensor xPhases, Tensor dy, Shape xShape, Shape wShape, ConvGeometry g) {
        Tensor dw = CudaBackend.alloc(wShape);
        Dims d = Dims.of(xShape, wShape, g);
        run("backwardWeightFromPhases", d, true, (gemm, m) -> SubPixelPlans.backwardWeightFromPhases(GPU, gemm, m, at(xPhases), at(dy), at(dw)));
        return dw;
    }

    /** conv2dFromPhases and backwardWeightFromPhases of one xPhases by one plan, which splits it once in 3xTF32 mode: {y, dw}. */
    static Tensor[] gradsFromPhases(Tensor xPhases, Tensor w, Tensor dy, Shape xShape, ConvGeometry g) {
        Dims d = Dims.of(xShape, w.shape(), g);
        Tensor y = CudaBackend.alloc(Shape.of(d.n(), d.k(), d.oh(), d.ow())), dw = CudaBackend.alloc(w.shape());
        run("gradsFromPhases", d, true, (gemm, m) -> SubPixelPlans.gradsFromPhases(GPU, gemm, m, at(xPhases), at(w), at(dy), at(y), at(dw)));
        return new Tensor[] {y, dw};
    }

    /**
     * Backend#crossEntropyOfPhasesBackward by one plan: logits [R, C, classes, N·q] (x of shape xShape in phases, its
     * C·classes channels as C groups) → {the gradient of dy, dw}. SGEMM: crossEntropyBackward, then gradsFromPhases.
     * 3xTF32: the cross-entropy's backward writes the logits' gradient as its TF32 parts, which gradsFromPhaseParts
     * reads (the VAE's 268 MB gradient never written as such, nor read back to be split). Auto times each mode whole.
     */
    static Tensor[] crossEntropyGrads(Tensor logits, Tensor targets, Tensor dloss, Tensor w, Tensor dy, Shape xShape, ConvGeometry g) {
        Dims d = Dims.of(xShape, w.shape(), g);
        Tensor y = CudaBackend.alloc(Shape.of(d.n(), d.k(), d.oh(), d.ow())), dw = CudaBackend.alloc(w.shape());
        run("crossEntropyGrads", d, true, (gemm, m) -> {
            if (gemm == Gemm.SGEMM) {
                try (Tensor dx = CudaLoss.crossEntropyBackward(logits, targets, dloss, 2)) {
                    SubPixelPlans.gradsFromPhases(GPU, gemm, m, at(dx), at(w), at(dy), at(y), at(dw));
                }
                return;
            }
            try (SubPixelPlans.Scratch parts = GPU.scratch(2L * d.xBlockFloats() * d.sh() * d.sw())) {
                CudaLoss.crossEntropyBackwardParts(logits, targets, dloss, parts.address());
                SubPixelPlans.gradsFromPhaseParts(GPU, m, parts.address(), at(w), at(dy), at(y), at(dw));
            }
        });
        return new Tensor[] {y, dw};
    }

    /**
     * -Dfrl.cuda.ceParts=fused: Backend#crossEntropyOfPhasesBackward by {@link #crossEntropyGrads} where the sub-pixel
     * plans take both gradients: the default since the H200 run of 2026-11-28 (cifar training 1.05× alone); two,
     * crossEntropyBackward, then the gradients' op.
     */
    static boolean crossEntropyFused() { return CudaFlags.oneOf("frl.cuda.ceParts", "fused", "two", "fused").equals("fused"); }

    /** x [N,C,H,W] → its phases [R, C, N, q] ({@link frl.backend.Backend#toPhases}), one gather per phase. */
    static Tensor toPhases(Tensor x, ConvGeometry g) {
        Tensor out = CudaBackend.alloc(Shapes.phases("toPhases", x.shape(), g));
        if (x.numel() > 0) SubPixelPlans.movePhases(GPU, x.shape(), g, at(x), at(out), true);
        return out;
    }

    static Tensor fromPhases(Tensor phases, Shape xShape, ConvGeometry g) {
        Shapes.requirePhases("fromPhases", phases, xShape, g);
        Tensor x = CudaBackend.alloc(xShape);
        if (x.numel() > 0) SubPixelPlans.movePhases(GPU, xShape, g, at(x), at(phases), false);
        return x;
    }

    private static long at(Tensor t) { return t.storage().address(); }

    /**
     * -Dfrl.cuda.phaseLoads=batched: the gather, the phase sum of stride 2 with 2×2 taps per phase, and the TF32
     * split keep several loads in flight per thread (subpixel_gather_lines, subpixel_sum_phases_s2t2, tf32_parts4 for
     * aligned rows of 4·n floats), and in 3xTF32 the gather writes cols' TF32 parts itself (subpixel_gather_parts: the
     * forward's 64 MB of cols are no longer written, read back and split): the default since the H200 run of
     * 2026-11-28 (cifar training 1.12× alone); plain, one load in flight per thread.
     */
    static boolean batched() { return CudaFlags.oneOf("frl.cuda.phaseLoads", "batched", "plain", "batched").equals("batched"); }

    /** Forgets the modes auto chose (tests: so a test sees its own timings). */
    static void forgetModeChoices() { MODES.clear(); }

    /** The weights' count, which subpixel.cu indexes in 32 bits. */
    private static long weights(Dims d) {
        long n = d.splitFloats();
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("sub-pixel convolution: " + n + " weights; at most 2^31 - 1");
        return n;
    }

    /** How a plan runs: its GEMMs' arithmetic, and the two ways of {@link Dims} (phases batched, weight gradients split). */
    record Mode(Gemm gemm, boolean batchPhases, boolean splitK) {
        @Override public String toString() { return gemm + (batchPhases ? " phases batched" : "") + (splitK ? " split" : ""); }
    }

    /** A plan over its GEMM mode and its Dims' ways. */
    private interface Plan { void run(Gemm gemm, Dims d); }

    /** Where more than one mode may run (an auto switch), the mode each op and size took: all timed at its first call. */
    private static final TimedChoices<Mode> MODES = new TimedChoices<>();

    static Map<String, Mode> modeChoices() { return MODES.snapshot(); }

    /**
     * The modes the switches allow for this call: -Dfrl.cuda.gemm (auto: SGEMM and 3xTF32), -Dfrl.cuda.phaseGemms where
     * the phases are uniform, -Dfrl.cuda.splitK for a plan with a weight gradient.
     */
    static List<Mode> modes(Dims d, boolean weightGradient) { return modes(d.g().uniformPhases(d.h(), d.w()), weightGradient); }

    /** The modes the switches allow for a plan whose GEMMs may batch phases (batchable) and split (splittable): CudaUnfold's too. */
    static List<Mode> modes(boolean batchable, boolean splittable) {
        Gemm forced = Gemm.forced();
        List<Mode> modes = new ArrayList<>();
        for (Gemm gemm : forced != null ? List.of(forced) : List.of(Gemm.values()))
            for (boolean batch : batchable ? SubPixelPlans.phaseGemms().candidates() : List.of(false))
                for (boolean split : splittable ? SubPixelPlans.splitK().candidates() : List.of(false))
                    modes.add(new Mode(gemm, batch, split));
        return modes;
    }

    /**
     * A plan in the one mode the switches allow, or in the fastest for this op and size. A plan writes its outputs
     * whole (no accumulation across calls), so the timed runs leave nothing behind that the last run does not overwrite.
     */
    private static void run(String op, Dims d, boolean weightGradient, Plan plan) {
        Mode m = MODES.fastest(() -> op + " " + d.sizes(), modes(d, weightGradient), mode -> run(plan, d, mode));
        run(plan, d, m);
    }

    /** The plan in a mode: its GEMM arithmetic, and d run its ways. */
    private static void run(Plan plan, Dims d, Mode m) {
        plan.run(m.gemm(), d.running(m.batchPhases(), m.splitK()));
    }

    // ---- the plans' steps on the GPU (SubPixelPlans', and UnfoldPlans' with CudaUnfold's kernels): stream-ordered, so a
    // freed scratch block is reused only by later work

    static final SubPixelPlans.Steps GPU = new SubPixelPlans.Steps() {
        @Override public SubPixelPlans.Scratch scratch(long floats) {
            DeviceStorage block = new DeviceStorage(CudaContext.get(), 4L * floats);
            return new SubPixelPlans.Scratch() {
                @Override public long address() { return block.address(); }

                @Override public void close() { block.close(); }
            };
        }

        @Override public void zero(long address, long floats) {
            Cuda.check(cudart.cudaMemsetAsync(new DevicePointer(address), 0, 4L * floats, CudaContext.get().stream()), "cudaMemsetAsync(sub-pixel dw)");
        }

        @Override public void splitWeights(Dims d, long w, long split) {
            SPLIT.launchN(weights(d), w, split, d.k(), d.c(), d.kh(), d.kw(), d.sh(), d.sw());
        }

        @Override public void unsplitWeights(Dims d, long split, long dw) {
            UNSPLIT.launchN(weights(d), split, dw, d.k(), d.c(), d.kh(), d.kw(), d.sh(), d.sw());
        }

        /** cols_r [depth, N·q]: cols[(o, t, u), img·q + (a, b)] = dy[img, o, qy0 + a − t, qx0 + b − u], 0 outside dy. */
        @Override public void gather(Dims d, Phase p, long dy, long cols) {
            boolean batched = batched();
            long lines = lines(d);
            (batched ? GATHER_LINES : GATHER).launchPlanes(p.q(), batched ? Math.ceilDiv(lines, LINES) : lines, dy, cols, d.n(), d.k(), d.oh(), d.ow(),
                    d.th(), d.tw(), p.qy0(), p.qh(), p.qx0(), p.qw(), (long) p.q(), (long) d.nq(p));
        }

        /** Under -Dfrl.cuda.phaseLoads=batched: the gather writes the TF32 parts itself. */
        @Override public boolean gathersParts() { return batched(); }

        @Override public void gatherParts(Dims d, Phase p, long dy, long dst, String parts, long partStride) {
            GATHER_PARTS.launchPlanes(p.q(), Math.ceilDiv(lines(d), LINES), dy, dst, d.n(), d.k(), d.oh(), d.ow(), d.th(), d.tw(), p.qy0(), p.qh(),
                    p.qx0(), p.qw(), (long) p.q(), (long) d.nq(p), parts.length(), smallMask(parts), partStride);
        }

        /** The lines of cols (images × kernel rows × taps): an int in the gathers, which stride it by less than 2^24 · LINES. */
        private static long lines(Dims d) {
            long lines = (long) d.n() * d.depth();
            if (lines > Integer.MAX_VALUE - (1L << 27))
                throw new IllegalArgumentException("sub-pixel gather: " + lines + " lines of cols (images × kernel rows × taps); at most 2^31 - 2^27");
            return lines;
        }

        /** Bit j set where letter j of parts is 's' (the small part). */
        private static int smallMask(String parts) {
            int small = 0;
            for (int j = 0; j < parts.length(); j++) if (parts.charAt(j) == 's') small |= 1 << j;
            return small;
        }

        /** Strides (q, N·q) for image and channel. */
        @Override public void movePixels(Shape x, ConvGeometry g, Phase p, long nchw, long block, boolean toBlock) {
            long from = toBlock ? nchw : block, to = toBlock ? block : nchw;
            (toBlock ? GATHER_PIXELS : SCATTER).launchPlanes(p.q(), (long) x.dim(0) * x.dim(1), from, to, x.dim(0), x.dim(1), x.dim(2), x.dim(3), p.qy0(), p.qh(), p.qx0(), p.qw(),
                    g.strideH(), g.strideW(), p.ry(), p.rx(), g.padH(), g.padW(), (long) p.q(), (long) x.dim(0) * p.q());
        }

        /** outs_r's strides in units of the phase's q: image 1, row N. */
        @Override public void sumPhases(Dims d, long outs, long slot, long y) {
            boolean s2t2 = batched() && d.sh() == 2 && d.sw() == 2 && d.th() == 2 && d.tw() == 2;
            (s2t2 ? SUM_S2T2 : SUM).launchN((long) d.n() * d.k() * d.oh() * d.ow(), outs, y, d.n(), d.k(), d.oh(), d.ow(), d.th(), d.tw(), d.sh(), d.sw(), slot, 1L,
                    (long) d.n(), d.ranges(true), d.ranges(false));
        }

        /** Rows (c, i, j) as planes, the N·OH·OW columns as elements. */
        @Override public void unfold(UnfoldPlans.Dims d, long x, long cols) { CudaUnfold.IM2COL.launchPlanes(d.np(), d.ckk(), x, cols, d.ints()); }

        @Override public void fold(UnfoldPlans.Dims d, long dcols, long dx) {
            CudaUnfold.COL2IM.launchPlanes((long) d.h() * d.w(), (long) d.n() * d.c(), dcols, dx, d.ints());
        }

        @Override public void rowsToNchw(UnfoldPlans.Dims d, long partials, int slices, long y) {
            CudaUnfold.ROWS_TO_NCHW.launchPlanes((long) d.oh() * d.ow(), (long) d.n() * d.k(), partials, y, slices, d.ints());
        }

        @Override public void nchwToRows(UnfoldPlans.Dims d, long dy, long rows) {
            CudaUnfold.NCHW_TO_ROWS.launchPlanes((long) d.oh() * d.ow(), (long) d.n() * d.k(), dy, rows, d.ints());
        }

        @Override public int weightSplits(int m, int n, int k) {
            return SubPixelPlans.splits(m, n, k, CudaContext.get().multiprocessors(), SubPixelPlans.minChunk);
        }

        @Override public void sumSlices(long src, int slices, long floats, long dst) { SUM_SLICES.launchN(floats, src, dst, slices, floats); }

        @Override public void gemm(boolean transA, boolean transB, int m, int n, int k, long a, int lda, long b, int ldb, long c, int ldc,
                                   boolean accumulate, boolean tf32) {
            CudaBlas.gemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, tf32);
        }

        @Override public void gemmBatched(boolean transA, boolean transB, int m, int n, int k, long a, int lda, long strideA, long b, int ldb,
                                          long strideB, long c, int ldc, long strideC, int batch, boolean accumulate, boolean tf32) {
            CudaBlas.gemmBatched(transA, transB, m, n, k, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, batch, accumulate, tf32);
        }

        @Override public void tf32Parts(long src, long dst, long rows, int cols, String parts, long partStride, long rowStride) {
            int small = smallMask(parts);
            boolean quads = batched() && cols % 4 == 0 && partStride % 4 == 0 && rowStride % 4 == 0 && src % 16 == 0 && dst % 16 == 0;
            (quads ? TF32_PARTS4 : TF32_PARTS).launchPlanes(quads ? cols / 4 : cols, rows, src, dst, rows, cols, parts.length(), small, partStride, rowStride);
        }
    };
}
