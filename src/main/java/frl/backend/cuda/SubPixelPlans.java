package frl.backend.cuda;

import frl.backend.ConvGeometry;
import frl.backend.ConvGeometry.Phase;
import frl.tensor.Shape;

import java.util.ArrayDeque;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.ToLongFunction;

/**
 * CudaSubPixel's plans: which kernel and GEMM runs on which block, in what order, over a {@link Steps} that does the
 * work (the GPU's kernels and cuBLAS in CudaSubPixel, a host emulation in the tests, so the plans a GPU runs are the
 * plans tested everywhere). Addresses are in bytes. x [N,C,H,W] is the large tensor, w [K,C,kh,kw], dy [N,K,OH,OW];
 * phase r of x is one row-major block x_r [C, N·q] and W_r [C, depth = K·T²] the phase's taps:
 * <ul>
 *   <li>{@link #transposed}: x_r = W_r · cols_r, cols_r [depth, N·q] the gathered dy (backwardInput);</li>
 *   <li>{@link #forward}: outs_r = W_rᵀ · x_r, then one kernel sums every phase's and tap's share (conv2d);</li>
 *   <li>{@link #weightGradient}: dW_r = x_r · cols_rᵀ, its phases put back into dw's taps (backwardWeight).</li>
 * </ul>
 * In {@link Gemm#TF32X3} each GEMM runs on TF32 tensor cores over parts that TF32 holds exactly (tf32.cu): a·b as
 * big·big' + big·small' + small·big', float32's accuracy (~2^-22 per product) at tensor-core speed. The three products
 * are stacked along the inner size where the operand to split is small, else summed by accumulating GEMMs.
 * Phase by phase, one scratch block serves every phase; where the phases are uniform and {@link Dims#batchPhases},
 * each phase has a slot of its own ({@link Dims#slot}) and each GEMM runs once for all of them.
 */
final class SubPixelPlans {
    private SubPixelPlans() {}

    /** How the GEMMs multiply: cuBLAS SGEMM (FP32 FMA), or 3xTF32. */
    enum Gemm {
        SGEMM, TF32X3;

        /** -Dfrl.cuda.gemm = sgemm, 3xtf32, or auto (the default): null (CudaSubPixel times both per op and shape). */
        static Gemm forced() {
            return switch (CudaFlags.oneOf("frl.cuda.gemm", "auto", "sgemm", "3xtf32", "auto")) {
                case "sgemm" -> SGEMM;
                case "3xtf32" -> TF32X3;
                default -> null;
            };
        }
    }

    /** Scratch memory, freed on close (on the GPU: reused only by work queued after what was queued on it). */
    interface Scratch extends AutoCloseable {
        long address();

        @Override void close();
    }

    /** The device work of a plan (and of {@link UnfoldPlans}'): one method per kernel launch or GEMM. */
    interface Steps {
        Scratch scratch(long floats);

        void zero(long address, long floats);

        /** subpixel_split_weights: w [K,C,kh,kw] → the phases' W_r [sh·sw, C, depth]. */
        void splitWeights(Dims d, long w, long split);

        /** subpixel_unsplit_weights: the inverse. */
        void unsplitWeights(Dims d, long split, long dw);

        /** subpixel_gather: cols_r [depth, N·q] of phase p from dy. */
        void gather(Dims d, Phase p, long dy, long cols);

        /** Whether {@link #gatherParts} runs as one step: then the 3xTF32 plans gather straight into the TF32 parts. */
        default boolean gathersParts() { return false; }

        /**
         * subpixel_gather_parts: what gather then tf32Parts (rows depth, cols N·q, row stride N·q) would write, cols_r
         * itself never written: one copy per letter of parts, the j-th at dst + 4·j·partStride.
         */
        default void gatherParts(Dims d, Phase p, long dy, long dst, String parts, long partStride) {
            throw new UnsupportedOperationException("gatherParts: these steps gather, then split");
        }

        /** Phase p of x [N,C,H,W] into the block [C, N·q] (subpixel_gather_pixels), or back (subpixel_scatter). */
        void movePixels(Shape x, ConvGeometry g, Phase p, long nchw, long block, boolean toBlock);

        /**
         * The chunks a weight gradient's GEMM, column-major [m, n] over the inner size k (every image's pixels), runs
         * in where its Dims ask for splitK: 1, or S dividing k (then S partial products by one strided-batched GEMM,
         * added up by {@link #sumSlices}).
         */
        default int weightSplits(int m, int n, int k) { return 1; }

        /** subpixel_sum_slices: dst[e] = Σ_j src[j·floats + e], j ascending, for e below floats. */
        default void sumSlices(long src, int slices, long floats, long dst) {
            throw new UnsupportedOperationException("sumSlices: these steps never split a weight gradient");
        }

        /** unfold_im2col: cols [C·kh·kw, N·OH·OW] of x, 0 in the padding. */
        default void unfold(UnfoldPlans.Dims d, long x, long cols) { throw new UnsupportedOperationException("unfold: not a step of these plans"); }

        /** unfold_col2im: dx, each pixel the sum of the dcols its taps reached, taps ascending. */
        default void fold(UnfoldPlans.Dims d, long dcols, long dx) { throw new UnsupportedOperationException("fold: not a step of these plans"); }

        /** unfold_rows_to_nchw: y [N,K,OH,OW] = the sum over j ascending of the slices [K, N·OH·OW] at partials + j·K·N·OH·OW. */
        default void rowsToNchw(UnfoldPlans.Dims d, long partials, int slices, long y) {
            throw new UnsupportedOperationException("rowsToNchw: not a step of these plans");
        }

        /** unfold_nchw_to_rows: rows [K, N·OH·OW] from dy [N,K,OH,OW]. */
        default void nchwToRows(UnfoldPlans.Dims d, long dy, long rows) {
            throw new UnsupportedOperationException("nchwToRows: not a step of these plans");
        }

        /** subpixel_sum_phases: y [N,K,OH,OW] from outs_r [depth, N·q] at outs + r·slot floats. */
        void sumPhases(Dims d, long outs, long slot, long y);

        /** CudaBlas.gemm: column-major C = op(A)·op(B) (+ C where accumulate), on TF32 tensor cores where tf32. */
        void gemm(boolean transA, boolean transB, int m, int n, int k, long a, int lda, long b, int ldb, long c, int ldc, boolean accumulate, boolean tf32);

        /**
         * The same GEMM on {@code batch} operand triples, the i-th at a + 4·i·strideA, b + 4·i·strideB and c + 4·i·strideC
         * (strides in floats): on the GPU one cuBLAS strided-batched call, here its meaning.
         */
        default void gemmBatched(boolean transA, boolean transB, int m, int n, int k, long a, int lda, long strideA, long b, int ldb, long strideB,
                                 long c, int ldc, long strideC, int batch, boolean accumulate, boolean tf32) {
            for (int i = 0; i < batch; i++)
                gemm(transA, transB, m, n, k, a + 4L * i * strideA, lda, b + 4L * i * strideB, ldb, c + 4L * i * strideC, ldc, accumulate, tf32);
        }

        /**
         * tf32_parts: src [rows, cols] row-major → one copy per letter of parts ('b' the big part, 's' the small), copy
         * j of element (r, c) at dst + 4·(j·partStride + r·rowStride + c).
         */
        void tf32Parts(long src, long dst, long rows, int cols, String parts, long partStride, long rowStride);
    }

    /**
     * The sizes of a call: x [n,c,h,w] the large tensor, w [k,c,kh,kw], dy [n,k,oh,ow]; th × tw taps per phase. And two
     * ways to run it: batchPhases (uniform phases share each GEMM call, {@link #batched}) and splitK (weight gradients
     * sum their pixels in chunks, {@link #splits}); {@link #of} leaves both off.
     */
    record Dims(int n, int c, int h, int w, int k, int kh, int kw, int oh, int ow, ConvGeometry g, boolean batchPhases, boolean splitK) {
        static Dims of(Shape x, Shape wt, ConvGeometry g) {
            return new Dims(x.dim(0), x.dim(1), x.dim(2), x.dim(3), wt.dim(0), wt.dim(2), wt.dim(3), g.outH(x.dim(2), wt.dim(2)),
                    g.outW(x.dim(3), wt.dim(3)), g, false, false);
        }

        /** The same sizes, run the given ways. */
        Dims running(boolean batchPhases, boolean splitK) { return new Dims(n, c, h, w, k, kh, kw, oh, ow, g, batchPhases, splitK); }

        /** The sizes alone, for keys: x, w's kernel and channels, the geometry. */
        String sizes() { return "x" + x() + " w[" + k + ", " + c + ", " + kh + ", " + kw + "] " + g; }

        Shape x() { return Shape.of(n, c, h, w); }

        int sh() { return g.strideH(); }

        int sw() { return g.strideW(); }

        int th() { return kh / sh(); }

        int tw() { return kw / sw(); }

        /** Rows of cols_r: (o, t, u). */
        int depth() { return k * th() * tw(); }

        /** Pixels of the largest phase. */
        int qMax() { return Math.ceilDiv(h, sh()) * Math.ceilDiv(w, sw()); }

        /** Columns of phase p's GEMMs, every image's pixels: an int (CudaSubPixel.applies). */
        int nq(Phase p) { return n * p.q(); }

        long nqMax() { return (long) n * qMax(); }

        List<Phase> phases() { return g.subPixelPhases(h, w); }

        /** Where W_r [c, depth] starts in the split weights [sh·sw, c, depth] at {@code base}. */
        long weights(long base, Phase p) { return base + 4L * index(g, p) * c * depth(); }

        long splitFloats() { return (long) sh() * sw() * c * depth(); }

        /**
         * Whether this call's GEMMs run once for every phase: batchPhases, and all sh·sw phases own the same pixels, so
         * each operand's phases lie one stride apart (phase r in slot r of its scratch).
         */
        boolean batched() { return batchPhases && g.uniformPhases(h, w); }

        /** Phase p's slot in a plan's scratch: its index when batched, else 0 (one block reused phase after phase). */
        int slot(Phase p) { return batched() ? index(g, p) : 0; }

        int slots() { return batched() ? sh() * sw() : 1; }

        /** Floats of one phase's block of x, [c, N·q] (the largest phase's): the stride between phases, in place or in scratch. */
        long xBlockFloats() { return c * nqMax(); }

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

    /** A switch for one way of running the plans: off, on, or auto (CudaSubPixel times both per op and size). */
    enum Option {
        OFF, ON, AUTO;

        /** -Dproperty as one of the words for off, on and "auto"; unset: auto. */
        static Option of(String property, String off, String on) {
            String v = CudaFlags.oneOf(property, "auto", off, on, "auto");
            return v.equals(off) ? OFF : v.equals(on) ? ON : AUTO;
        }

        /** The values to run: one, or both where auto. */
        List<Boolean> candidates() { return this == AUTO ? List.of(false, true) : List.of(this == ON); }
    }

    /**
     * -Dfrl.cuda.phaseGemms=auto|batched|each: where the phases are uniform, each GEMM of a plan runs once for all of them
     * (cuBLAS strided batched: sh·sw times the tiles of one phase's GEMM in one launch, for the VAE's middle layers
     * whose phase GEMMs leave most SMs idle), their gathers and splits first into a slot per phase; auto times both
     * ways per op and size, the default since the H200 run of 2026-11-28 (cifar training 1.06× alone, either
     * way). The same products; cuBLAS may order a batch's sums otherwise than one GEMM's.
     */
    static Option phaseGemms() { return Option.of("frl.cuda.phaseGemms", "each", "batched"); }

    /**
     * -Dfrl.cuda.splitK=auto|on|off: a weight gradient whose GEMM has too few output tiles to fill the GPU sums its pixels
     * in chunks ({@link #splits}); auto, the default since the H200 run of 2026-11-28 (cifar training 1.05× alone),
     * times both ways per op and size.
     * The VAE's last layer: dW_r [1024, 256] over 16,384 pixels is 16 tiles of 128×128 for 132 SMs, and its TF32
     * GEMMs ran at 175 TFLOP/s on the H200, a third of what its tensor cores do.
     */
    static Option splitK() { return Option.of("frl.cuda.splitK", "off", "on"); }

    /** The most chunks a split makes. */
    static final int MAX_SPLITS = 16;
    /**
     * The shortest chunk of the inner size a split leaves on the GPU (tests lower it, to split small cases). 128: the
     * VAE's middle weight gradients, 4 to 8 tiles over 1,024 to 4,096 pixels, where cuDNN ran at 7–15 TFLOP/s on the
     * H200 and the sub-pixel plan slower still, split 8 and 16 ways.
     */
    static volatile int minChunk = 128;

    /**
     * The chunks for an [m, n] output over the inner size k on {@code sms} SMs: the largest power of two S at most
     * {@link #MAX_SPLITS} with S times the output's 128×128 tiles at most two per SM, S dividing k, and chunks of at
     * least {@code minChunk}; 1 where the output alone has that many tiles.
     */
    static int splits(int m, int n, int k, int sms, int minChunk) {
        long tiles = (long) Math.ceilDiv(m, 128) * Math.ceilDiv(n, 128);
        int s = 1;
        while (2 * s <= MAX_SPLITS && tiles * 2 * s <= 2L * sms && k % (2 * s) == 0 && k / (2 * s) >= minChunk) s *= 2;
        return s;
    }

    /** Phase p's place r = ry·sw + rx among all sh·sw, in the split weights and the phases layout. */
    static int index(ConvGeometry g, Phase p) { return p.ry() * g.strideW() + p.rx(); }

    /** Where phase p's block [C, N·q] starts in the phases [R, C, N, q] at {@code base} of x [N,C,H,W]. */
    static long block(long base, Shape x, ConvGeometry g, Phase p) { return base + 4L * index(g, p) * x.dim(1) * x.dim(0) * p.q(); }

    // ---- the six ops over addresses: x in NCHW (each phase gathered into, or scattered from, one scratch block) or in phases

    static void backwardInput(Steps s, Gemm gemm, Dims d, long dy, long w, long dx) {
        try (Scratch part = s.scratch(d.xBlockFloats() * d.slots())) {
            transposed(s, gemm, d, dy, w, p -> inSlot(d, part, p), p -> s.movePixels(d.x(), d.g(), p, dx, inSlot(d, part, p), false));
        }
    }

    static void conv2d(Steps s, Gemm gemm, Dims d, long x, long w, long y) {
        try (Scratch part = s.scratch(d.xBlockFloats() * d.slots())) {
            forward(s, gemm, d, w, gatheredInto(s, d, part, x), y);
        }
    }

    static void backwardWeight(Steps s, Gemm gemm, Dims d, long x, long dy, long dw) {
        try (Scratch part = s.scratch(d.xBlockFloats() * d.slots())) {
            weightGradient(s, gemm, d, dy, gatheredInto(s, d, part, x), dw);
        }
    }

    static void backwardInputToPhases(Steps s, Gemm gemm, Dims d, long dy, long w, long xPhases) {
        transposed(s, gemm, d, dy, w, inPlace(d, xPhases), p -> {});
    }

    static void conv2dFromPhases(Steps s, Gemm gemm, Dims d, long xPhases, long w, long y) { forward(s, gemm, d, w, inPlace(d, xPhases), y); }

    static void backwardWeightFromPhases(Steps s, Gemm gemm, Dims d, long xPhases, long dy, long dw) {
        weightGradient(s, gemm, d, dy, inPlace(d, xPhases), dw);
    }

    /** x [N,C,H,W] to its phases [R, C, N, q] at {@code phases}, or back: one move per phase. */
    static void movePhases(Steps s, Shape xShape, ConvGeometry g, long x, long phases, boolean toPhases) {
        for (Phase p : g.subPixelPhases(xShape.dim(2), xShape.dim(3))) s.movePixels(xShape, g, p, x, block(phases, xShape, g, p), toPhases);
    }

    /** For x in phases: phase p's block itself. */
    private static ToLongFunction<Phase> inPlace(Dims d, long phases) { return p -> block(phases, d.x(), d.g(), p); }

    /** For NCHW x: phase p gathered into its slot of the scratch {@code part} first. */
    private static ToLongFunction<Phase> gatheredInto(Steps s, Dims d, Scratch part, long x) {
        return p -> {
            long block = inSlot(d, part, p);
            s.movePixels(d.x(), d.g(), p, x, block, true);
            return block;
        };
    }

    /** Phase p's block of x in its slot of the scratch {@code part}. */
    private static long inSlot(Dims d, Scratch part, Phase p) { return part.address() + 4L * d.slot(p) * d.xBlockFloats(); }

    // ---- the three plans, over phase p's block x_r [C, N·q] at blockOf(p) ------------------------------------------

    /**
     * x_r = W_r · cols_r per phase, written at blockOf(p), then handed to {@code written} (NCHW: the scatter). 3xTF32:
     * one GEMM over the inner size 3·depth, [W_b | W_b | W_s] · [cols_b; cols_s; cols_b] (both operands small).
     */
    private static void transposed(Steps s, Gemm gemm, Dims d, long dy, long w, ToLongFunction<Phase> blockOf, Consumer<Phase> written) {
        boolean x3 = gemm == Gemm.TF32X3, batched = d.batched();
        int depth = d.depth(), inner = x3 ? 3 * depth : depth;
        long colsFloats = depth * d.nqMax(), slotFloats = colsFloats * (x3 ? 4 : 1); // a slot: cols, then 3xTF32's [3·depth, nq]
        try (Scratch split = s.scratch(d.splitFloats() * (x3 ? 4 : 1)); Scratch cols = s.scratch(slotFloats * d.slots())) {
            long weights = split.address() + (x3 ? 4L * d.splitFloats() : 0);
            s.splitWeights(d, w, split.address());
            if (x3) s.tf32Parts(split.address(), weights, (long) d.sh() * d.sw() * d.c(), depth, "bbs", depth, 3L * depth); // [R·C, 3·depth]
            long x0 = 0;
            for (Phase p : d.phases()) {
                int nq = d.nq(p);
                long x = blockOf.applyAsLong(p), wr = weights + 4L * index(d.g(), p) * d.c() * inner;
                long at = cols.address() + 4L * d.slot(p) * slotFloats, stacked = at + 4L * colsFloats;
                gatherCols(s, d, p, dy, at, colsFloats, x3 ? "bsb" : null); // 3xTF32: [3·depth, nq] at stacked
                if (index(d.g(), p) == 0) x0 = x;
                if (batched) continue;
                // row-major x_r [c, nq] = W_r [c, inner] · cols [inner, nq]: column-major x_rᵀ = colsᵀ · W_rᵀ
                s.gemm(false, false, nq, d.c(), inner, x3 ? stacked : at, nq, wr, inner, x, nq, false, x3);
                written.accept(p);
            }
            if (!batched) return;
            int nq = d.nq(d.phases().getFirst());
            s.gemmBatched(false, false, nq, d.c(), inner, cols.address() + (x3 ? 4L * colsFloats : 0), nq, slotFloats, weights, inner,
                    (long) d.c() * inner, x0, nq, d.xBlockFloats(), d.sh() * d.sw(), false, x3);
            d.phases().forEach(written);
        }
    }

    /** y [N,K,OH,OW] = Σ over phases and taps of outs_r = W_rᵀ · x_r, x_r read at blockOf(p) ({@link Forward}). */
    private static void forward(Steps s, Gemm gemm, Dims d, long w, ToLongFunction<Phase> blockOf, long y) {
        try (Forward f = new Forward(s, gemm, d, w)) {
            overPhases(s, gemm, d, blockOf, 0, f);
            f.finish(y);
        }
    }

    /** dW_r = x_r · cols_rᵀ per phase, x_r read at blockOf(p), then the phases back into dw [K,C,kh,kw] ({@link WeightGradient}). */
    private static void weightGradient(Steps s, Gemm gemm, Dims d, long dy, ToLongFunction<Phase> blockOf, long dw) {
        try (WeightGradient g = new WeightGradient(s, gemm, d, dy)) {
            overPhases(s, gemm, d, blockOf, 0, g);
            g.finish(dw);
        }
    }

    /**
     * conv2dFromPhases into y and backwardWeightFromPhases into dw over the same x in phases (a transposed
     * convolution's two gradients from its output's): in 3xTF32 mode each phase of x is split once for both.
     */
    static void gradsFromPhases(Steps s, Gemm gemm, Dims d, long xPhases, long w, long dy, long y, long dw) {
        grads(s, gemm, d, inPlace(d, xPhases), 0, w, dy, y, dw);
    }

    /**
     * gradsFromPhases in 3xTF32 from x's TF32 parts alone, written by the caller: phase r's [x_b; x_s] at
     * {@code parts} + r·2·xBlockFloats floats (CudaLoss.crossEntropyBackwardParts writes the logits' gradient so), x
     * itself never read. The phases uniform.
     */
    static void gradsFromPhaseParts(Steps s, Dims d, long parts, long w, long dy, long y, long dw) {
        if (!d.g().uniformPhases(d.h(), d.w())) throw new IllegalArgumentException("gradsFromPhaseParts: the phases of x" + d.x() + " differ in size");
        grads(s, Gemm.TF32X3, d, p -> 0L, parts, w, dy, y, dw); // 3xTF32 passes read x's parts only
    }

    /** Both gradients' passes over x_r at blockOf(p) (its parts given where not 0, as in {@link #overPhases}). */
    private static void grads(Steps s, Gemm gemm, Dims d, ToLongFunction<Phase> blockOf, long given, long w, long dy, long y, long dw) {
        try (Forward f = new Forward(s, gemm, d, w); WeightGradient g = new WeightGradient(s, gemm, d, dy)) {
            overPhases(s, gemm, d, blockOf, given, f, g);
            f.finish(y);
            g.finish(dw);
        }
    }

    /** A plan's work over x_r at x (its TF32 parts at xParts in 3xTF32 mode). */
    private interface Pass {
        /** Phase p's own steps, then its GEMMs unless batched. */
        void phase(Phase p, long x, long xParts);

        /** Batched: the GEMMs of every phase at once, phase 0's x_r at x0 and its parts at parts0, the others a slot apart. */
        void gemms(long x0, long parts0);
    }

    /**
     * Each pass over every phase's x_r at blockOf(p), split into its TF32 parts once per phase in 3xTF32 mode (unless
     * given: where not 0, every phase's parts already at given + r·2·xBlockFloats).
     */
    private static void overPhases(Steps s, Gemm gemm, Dims d, ToLongFunction<Phase> blockOf, long given, Pass... passes) {
        try (XParts parts = new XParts(s, gemm, d, given)) {
            long x0 = 0, parts0 = 0;
            for (Phase p : d.phases()) {
                long x = blockOf.applyAsLong(p), split = parts.of(p, x);
                if (index(d.g(), p) == 0) {
                    x0 = x;
                    parts0 = split;
                }
                for (Pass pass : passes) pass.phase(p, x, split);
            }
            if (d.batched()) for (Pass pass : passes) pass.gemms(x0, parts0);
        }
    }

    /**
     * Phase p's cols_r [depth, N·q] gathered at {@code at}; with parts (3xTF32), its TF32 parts after the colsFloats of
     * cols' room, one copy per letter: gathered straight where the steps can, else split from cols.
     */
    private static void gatherCols(Steps s, Dims d, Phase p, long dy, long at, long colsFloats, String parts) {
        int nq = d.nq(p), depth = d.depth();
        long partsAt = at + 4L * colsFloats;
        if (parts != null && s.gathersParts()) s.gatherParts(d, p, dy, partsAt, parts, (long) depth * nq);
        else {
            s.gather(d, p, dy, at);
            if (parts != null) s.tf32Parts(at, partsAt, depth, nq, parts, (long) depth * nq, nq);
        }
    }

    /** One GEMM (batch 1: the call of the phase-by-phase plans, unchanged) or a strided batch of them, strides in floats. */
    static void gemm(Steps s, int batch, boolean transA, boolean transB, int m, int n, int k, long a, int lda, long strideA, long b, int ldb,
                             long strideB, long c, int ldc, long strideC, boolean accumulate, boolean tf32) {
        if (batch == 1) s.gemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, tf32);
        else s.gemmBatched(transA, transB, m, n, k, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, batch, accumulate, tf32);
    }

    /** Scratch blocks freed together, the last made first (so a failure while making them frees those made). */
    static final class Blocks implements AutoCloseable {
        private final ArrayDeque<Scratch> held = new ArrayDeque<>();
        private final Steps s;

        Blocks(Steps s) { this.s = s; }

        long add(long floats) {
            Scratch b = s.scratch(floats);
            held.push(b);
            return b.address();
        }

        @Override public void close() {
            while (!held.isEmpty()) held.pop().close();
        }
    }

    /**
     * In 3xTF32 mode, x_r's TF32 parts [x_b; x_s] (2·C rows of N·q), split per phase into its slot of one block, or
     * given (phase r's at given + r·2·xBlockFloats); else nothing.
     */
    private static final class XParts implements AutoCloseable {
        private final Steps s;
        private final Dims d;
        private final Blocks blocks;
        private final long block, given;

        XParts(Steps s, Gemm gemm, Dims d, long given) {
            this.s = s;
            this.d = d;
            this.given = given;
            blocks = new Blocks(s);
            block = gemm == Gemm.TF32X3 && given == 0 ? blocks.add(2L * d.xBlockFloats() * d.slots()) : 0;
        }

        /** The parts of phase p's x_r at x (0 in SGEMM mode). */
        long of(Phase p, long x) {
            if (given != 0) return given + 4L * index(d.g(), p) * 2 * d.xBlockFloats();
            if (block == 0) return 0;
            int nq = d.nq(p);
            long at = block + 4L * d.slot(p) * 2 * d.xBlockFloats();
            s.tf32Parts(x, at, d.c(), nq, "bs", (long) d.c() * nq, nq);
            return at;
        }

        @Override public void close() { blocks.close(); }
    }

    /**
     * conv2d's GEMMs, phase by phase: outs_r [depth, N·q] = W_rᵀ · x_r, summed over phases and taps at the end.
     * 3xTF32: [W_b; W_b]ᵀ · [x_b; x_s] over the inner size 2·C, plus W_sᵀ · x_b accumulated.
     */
    private static final class Forward implements Pass, AutoCloseable {
        private final Steps s;
        private final Dims d;
        private final boolean x3;
        private final Blocks blocks;
        private final long split, stacked, outs, slot;

        Forward(Steps s, Gemm gemm, Dims d, long w) {
            this.s = s;
            this.d = d;
            x3 = gemm == Gemm.TF32X3;
            slot = d.depth() * d.nqMax(); // outs_r at outs + r·slot
            blocks = new Blocks(s);
            try {
                split = blocks.add(d.splitFloats() * (x3 ? 4 : 1));
                stacked = split + 4L * d.splitFloats(); // 3xTF32: per phase [3·C, depth] = [W_b; W_b; W_s]
                outs = blocks.add(d.sh() * d.sw() * slot);
                s.splitWeights(d, w, split);
            } catch (RuntimeException e) {
                blocks.close();
                throw e;
            }
        }

        @Override public void phase(Phase p, long x, long xParts) {
            int c = d.c(), depth = d.depth();
            long wr = stacked + 4L * index(d.g(), p) * 3L * c * depth;
            if (x3) s.tf32Parts(d.weights(split, p), wr, c, depth, "bbs", (long) c * depth, depth);
            if (!d.batched()) gemms(d.nq(p), 1, x, xParts, d.weights(split, p), wr, outs + 4L * index(d.g(), p) * slot);
        }

        @Override public void gemms(long x0, long parts0) { gemms(d.nq(d.phases().getFirst()), d.sh() * d.sw(), x0, parts0, split, stacked, outs); }

        /** The GEMMs of `batch` phases from the first's operands (W_r at w, stacked at wr), the others a slot apart. */
        private void gemms(int nq, int batch, long x, long xParts, long w, long wr, long out) {
            int depth = d.depth(), c = d.c();
            long xs = d.xBlockFloats(), ws = (long) c * depth;
            if (!x3) { // row-major outs_r [depth, nq] = W_rᵀ [depth, c] · x_r [c, nq]: column-major outs_rᵀ = x_rᵀ · W_r
                gemm(s, batch, false, true, nq, depth, c, x, nq, xs, w, depth, ws, out, nq, slot, false, false);
                return;
            }
            gemm(s, batch, false, true, nq, depth, 2 * c, xParts, nq, 2 * xs, wr, depth, 3 * ws, out, nq, slot, false, true);
            gemm(s, batch, false, true, nq, depth, c, xParts, nq, 2 * xs, wr + 4L * 2 * ws, depth, 3 * ws, out, nq, slot, true, true);
        }

        void finish(long y) { s.sumPhases(d, outs, slot, y); }

        @Override public void close() { blocks.close(); }
    }

    /**
     * conv2dBackwardWeight's GEMMs, phase by phase: dW_r [C, depth] = x_r · cols_rᵀ, the phases put back into dw at
     * the end. 3xTF32: cols_r split too, then x_s·cols_bᵀ + x_b·cols_sᵀ + x_b·cols_bᵀ by three GEMMs into W_r (small).
     */
    private static final class WeightGradient implements Pass, AutoCloseable {
        private final Steps s;
        private final Dims d;
        private final boolean x3;
        private final long dy;
        private final Blocks blocks;
        private final long split, cols, colsFloats, slotFloats;

        WeightGradient(Steps s, Gemm gemm, Dims d, long dy) {
            this.s = s;
            this.d = d;
            this.dy = dy;
            x3 = gemm == Gemm.TF32X3;
            colsFloats = d.depth() * d.nqMax();
            slotFloats = colsFloats * (x3 ? 3 : 1); // 3xTF32: cols, then [cols_b; cols_s]
            blocks = new Blocks(s);
            try {
                split = blocks.add(d.splitFloats());
                cols = blocks.add(slotFloats * d.slots());
                if (d.phases().size() < d.sh() * d.sw()) s.zero(split, d.splitFloats()); // a phase that owns no pixel of x: its taps get 0
            } catch (RuntimeException e) {
                blocks.close();
                throw e;
            }
        }

        @Override public void phase(Phase p, long x, long xParts) {
            int nq = d.nq(p);
            long at = cols + 4L * d.slot(p) * slotFloats;
            gatherCols(s, d, p, dy, at, colsFloats, x3 ? "bs" : null);
            if (!d.batched()) gemms(nq, 1, at, x, xParts, d.weights(split, p));
        }

        @Override public void gemms(long x0, long parts0) { gemms(d.nq(d.phases().getFirst()), d.sh() * d.sw(), cols, x0, parts0, split); }

        /** The GEMMs of `batch` phases from the first's operands (cols at at, dW_r at wr), the others a slot apart. */
        private void gemms(int nq, int batch, long at, long x, long xParts, long wr) {
            int depth = d.depth(), c = d.c(), splits = d.splitK() ? s.weightSplits(depth, c, nq) : 1;
            long xs = d.xBlockFloats(), ws = (long) c * depth;
            if (splits > 1) {
                for (int r = 0; r < batch; r++) inChunks(nq, splits, at + 4L * r * slotFloats, x + 4L * r * xs, xParts + 4L * r * 2 * xs, wr + 4L * r * ws);
                return;
            }
            // row-major dW_r [c, depth] = x_r [c, nq] · colsᵀ [nq, depth]: column-major dW_rᵀ = cols · x_rᵀ, every image and pixel summed
            if (!x3) {
                gemm(s, batch, true, false, depth, c, nq, at, nq, slotFloats, x, nq, xs, wr, depth, ws, false, false);
                return;
            }
            long colsB = at + 4L * colsFloats, colsS = colsB + 4L * depth * nq, xB = xParts, xS = xB + 4L * c * nq;
            gemm(s, batch, true, false, depth, c, nq, colsB, nq, slotFloats, xS, nq, 2 * xs, wr, depth, ws, false, true);
            gemm(s, batch, true, false, depth, c, nq, colsS, nq, slotFloats, xB, nq, 2 * xs, wr, depth, ws, true, true);
            gemm(s, batch, true, false, depth, c, nq, colsB, nq, slotFloats, xB, nq, 2 * xs, wr, depth, ws, true, true);
        }

        /**
         * One phase's products in `splits` chunks of its nq pixels: each product (one, or 3xTF32's three, the later
         * two accumulated onto the first) by one strided-batched GEMM into a partial dW_r per chunk, then the
         * partials added up into dW_r at wr.
         */
        private void inChunks(int nq, int splits, long at, long x, long xParts, long wr) {
            int depth = d.depth(), c = d.c(), chunk = nq / splits;
            long ws = (long) c * depth, colsB = at + 4L * colsFloats, xB = xParts, xS = xB + 4L * c * nq;
            long[][] products = x3 ? new long[][] {{colsB, xS}, {colsB + 4L * depth * nq, xB}, {colsB, xB}} : new long[][] {{at, x}};
            try (Scratch partials = s.scratch(splits * ws)) {
                for (int i = 0; i < products.length; i++)
                    s.gemmBatched(true, false, depth, c, chunk, products[i][0], nq, chunk, products[i][1], nq, chunk,
                            partials.address(), depth, ws, splits, i > 0, x3);
                s.sumSlices(partials.address(), splits, ws, wr);
            }
        }

        void finish(long dw) { s.unsplitWeights(d, split, dw); }

        @Override public void close() { blocks.close(); }
    }
}
