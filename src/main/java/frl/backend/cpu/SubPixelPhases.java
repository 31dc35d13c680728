package frl.backend.cpu;

import static frl.backend.cpu.CpuConv.scratch;

import frl.backend.Backend;
import frl.backend.ConvGeometry;
import frl.backend.PhasesByComposition;
import frl.backend.Shapes;
import frl.tensor.HostStorage;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;

/**
 * The phase convolutions of {@link Backend} when the stride divides the kernel. Phase r of the large tensor x,
 * [C, N·Q] in the phases layout, is one GEMM away from the small tensor dy: x_r = W_r · cols_r, with W_r [C, depth]
 * the phase's taps and cols_r [depth, N·Q] the pixels of dy each phase pixel meets ({@link SubPixel}'s split and
 * gather). The GEMMs write x_r, or read its gradient, where it lies: no NCHW tensor, no scatter and no gather of
 * the large side. Images go in groups, so each GEMM is at least {@link #COLUMNS} wide.
 */
final class SubPixelPhases {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    /** Columns per GEMM for the forward and input gradient, and (longer sums) for the weight gradient. */
    static final int COLUMNS = 512, WEIGHT_COLUMNS = 2048;

    private SubPixelPhases() {}

    /** x [N,C,H,W] the large tensor, w [K,C,kh,kw], dy [N,K,oh,ow]; every phase qh × qw = q pixels. */
    record Dims(int n, int c, int k, int kh, int kw, int oh, int ow, ConvGeometry g, List<ConvGeometry.Phase> phases) {
        static Dims of(Shape x, Shape w, ConvGeometry g) {
            return new Dims(x.dim(0), x.dim(1), w.dim(0), w.dim(2), w.dim(3), g.outH(x.dim(2), w.dim(2)), g.outW(x.dim(3), w.dim(3)), g,
                    g.subPixelPhases(x.dim(2), x.dim(3)));
        }

        int th() { return kh / g.strideH(); }

        int tw() { return kw / g.strideW(); }

        int depth() { return k * th() * tw(); }

        int q() { return phases.get(0).q(); }

        int small() { return k * oh * ow; }

        /** Images per GEMM for at least {@code columns} columns. */
        int group(int columns) { return Math.clamp(Math.ceilDiv(columns, q()), 1, n); }

        /** Where phase r's [C, N·q] matrix has image n0's first column. */
        long at(int r, int n0) { return (long) r * c * n * q() + (long) n0 * q(); }

        int ld() { return Math.toIntExact((long) n * q()); }

        long weightsAt(int r) { return (long) r * c * depth(); }

        HostStorage split(MemorySegment w) {
            HostStorage out = scratch((long) phases.size() * c * depth());
            SubPixel.splitWeights(w, k, c, kh, kw, g.strideH(), g.strideW(), out.segment());
            return out;
        }

        /** Images [n0, n0 + count) with a task's scratch: their dy on the heap, and cols [depth, count·q] on the heap and native. */
        interface Group { void run(MemorySegment wp, float[] images, float[] cols, MemorySegment colsMem, int n0, int count); }

        /** Splits w, then runs body on each group of up to {@code group} images, parallel over the images. */
        void forEachGroup(MemorySegment w, int group, Group body) {
            try (HostStorage wp = split(w)) {
                Parallel.forRange(n, group, (from, to) -> {
                    float[] images = new float[group * small()], cols = new float[depth() * group * q()];
                    try (HostStorage colsMem = scratch(cols.length)) {
                        for (int n0 = from; n0 < to; n0 += group) body.run(wp.segment(), images, cols, colsMem.segment(), n0, Math.min(group, to - n0));
                    }
                });
            }
        }

        /** cols [depth, count·q] of phase r for the {@code count} images of dy in {@code images}, built in cols and copied to colsMem for a GEMM. */
        void gather(float[] images, int count, int r, float[] cols, MemorySegment colsMem) {
            gather(images, count, r, cols, count * q());
            MemorySegment.copy(cols, 0, colsMem, F, 0, depth() * count * q());
        }

        /** The same columns on the heap only, rows ld apart (ld ≥ count·q). */
        void gather(float[] images, int count, int r, float[] cols, int ld) {
            ConvGeometry.Phase p = phases.get(r);
            for (int i = 0; i < count; i++)
                SubPixel.gather(images, i * small(), k, oh, ow, th(), tw(), p.qy0(), p.qh(), p.qx0(), p.qw(), cols, ld, i * q());
        }

        /** The adjoint of the heap {@link #gather}: adds cols [depth, count·q] (rows ld apart) of phase r into the images' dy. */
        void scatterAdd(float[] cols, int ld, int count, int r, float[] images) {
            ConvGeometry.Phase p = phases.get(r);
            for (int i = 0; i < count; i++)
                SubPixel.scatterAdd(cols, ld, i * q(), k, oh, ow, th(), tw(), p.qy0(), p.qh(), p.qx0(), p.qw(), images, i * small());
        }

        /** The adjoint of {@link #gather}: adds a GEMM's cols [depth, count·q] of phase r (in colsMem, read via cols) into the images' dy. */
        void scatterAdd(MemorySegment colsMem, float[] cols, int count, int r, float[] images) {
            MemorySegment.copy(colsMem, F, 0, cols, 0, depth() * count * q());
            ConvGeometry.Phase p = phases.get(r);
            for (int i = 0; i < count; i++)
                SubPixel.scatterAdd(cols, count * q(), i * q(), k, oh, ow, th(), tw(), p.qy0(), p.qh(), p.qx0(), p.qw(), images, i * small());
        }
    }

    static boolean applies(Shape w, ConvGeometry g) { return w.dim(2) % g.strideH() == 0 && w.dim(3) % g.strideW() == 0; }

    /** toPhases(conv2dBackwardInput(dy, w, xShape, g)): x_r = W_r · cols_r, written in place. */
    static Tensor backwardInputToPhases(Backend be, Gemm gemm, Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        Shapes.conv2dBackward(dy.shape(), xShape, w.shape(), g);
        Shape out = Shapes.phases("conv2dBackwardInputToPhases", xShape, g);
        if (!applies(w.shape(), g)) return PhasesByComposition.conv2dBackwardInputToPhases(be, dy, w, xShape, g);
        Dims d = Dims.of(xShape, w.shape(), g);
        Tensor x = CpuBackend.alloc(out);
        MemorySegment dys = dy.segment(), xs = x.segment();
        if (VectorSupport.present()) {
            PhasePanels.toPhases(d, dys, w.segment(), xs);
            return x;
        }
        d.forEachGroup(w.segment(), d.group(COLUMNS), (wp, images, cols, colsMem, n0, count) -> {
            int width = count * d.q();
            MemorySegment.copy(dys, F, (long) n0 * d.small() * Float.BYTES, images, 0, count * d.small());
            for (int r = 0; r < d.phases().size(); r++) {
                d.gather(images, count, r, cols, colsMem);
                gemm.sgemm(false, false, d.c(), width, d.depth(), 1f, wp, d.weightsAt(r), d.depth(), colsMem, 0, width, 0f, xs, d.at(r, n0), d.ld());
            }
        });
        return x;
    }

    /**
     * {losses, logits}: crossEntropy(backwardInputToPhases(dy, w, xShape, g) viewed as logits [R, C/classes, classes,
     * N·Q], targets, 2), and with keep the phases it scored (else null), by {@link PhasePanels}: each group's product
     * scored while it is in cache, the logits never stored without keep. Null where that path does not take the phases
     * (the caller composes the two ops then); the shapes are checked either way.
     */
    static Tensor[] crossEntropyOfPhases(Tensor dy, Tensor w, Shape xShape, ConvGeometry g, Tensor targets, int classes, boolean keep) {
        Shape phases = Shapes.phases("crossEntropyOfPhases", xShape, g);
        Shapes.conv2dBackward(dy.shape(), xShape, w.shape(), g);
        if (classes < 1 || xShape.dim(1) % classes != 0)
            throw new IllegalArgumentException("crossEntropyOfPhases: " + xShape.dim(1) + " channels are not groups of " + classes + " classes");
        int channels = xShape.dim(1) / classes;
        Shape loss = Shape.of(phases.dim(0), channels, phases.dim(2) * phases.dim(3));
        if (!targets.shape().equals(loss))
            throw new IllegalArgumentException("crossEntropyOfPhases: targets " + targets.shape() + " must be " + loss + " ([phases, channels, N·Q])");
        if (!applies(w.shape(), g)) return null;
        Dims d = Dims.of(xShape, w.shape(), g);
        if (!byPanels(d)) return null;
        Tensor out = CpuBackend.alloc(loss), logits = keep ? CpuBackend.alloc(phases) : null;
        PhasePanels.crossEntropy(d, dy.segment(), w.segment(), CpuLoss.classes(targets, classes), channels, classes, out.segment(), keep ? logits.segment() : null);
        return new Tensor[] {out, logits};
    }

    /**
     * Backend#crossEntropyOfPhasesBackward by {@link PhasePanels}, the logits' gradient never a tensor: {d(dy), dw}; or
     * null where that path does not take it (the caller composes the ops then).
     */
    static Tensor[] crossEntropyOfPhasesBackward(Tensor logits, Tensor targets, Tensor dloss, int axis, Tensor w, Tensor dy, Shape xShape, ConvGeometry g) {
        String op = "crossEntropyOfPhasesBackward";
        Shape phases = Shapes.phases(op, xShape, g);
        Shapes.conv2dBackward(dy.shape(), xShape, w.shape(), g);
        Shapes.requireSameShape(op + " (targets vs dloss)", targets, dloss);
        Shape ls = logits.shape();
        if (axis != 2 || ls.rank() != 4 || ls.dim(0) != phases.dim(0) || (long) ls.dim(1) * ls.dim(2) != phases.dim(1)
                || ls.dim(3) != (long) phases.dim(2) * phases.dim(3) || !applies(w.shape(), g))
            return null;
        Dims d = Dims.of(xShape, w.shape(), g);
        if (!byPanels(d)) return null;
        Shapes.crossEntropy(logits, targets, axis);
        Tensor ddy = CpuBackend.alloc(dy.shape()), dw = CpuBackend.alloc(w.shape());
        PhasePanels.Source gradient = PhasePanels.crossEntropyGradient(d, logits.segment(), CpuLoss.classes(targets, ls.dim(2)), dloss.segment(), ls.dim(1), ls.dim(2));
        unsplit(d, PhasePanels.fromPhases(d, gradient, w.segment(), ddy.segment(), dy.segment()), dw);
        return new Tensor[] {ddy, dw};
    }

    /** dw from its phases' taps in the split layout [R, C, depth]. */
    private static void unsplit(Dims d, float[] split, Tensor dw) {
        try (HostStorage s = scratch(split.length)) {
            MemorySegment.copy(split, 0, s.segment(), F, 0, split.length);
            SubPixel.unsplitWeights(s.segment(), d.k(), d.c(), d.kh(), d.kw(), d.g().strideH(), d.g().strideW(), dw.segment());
        }
    }

    /** Whether {@link PhasePanels} takes the phases of x (the Vector API present, the phases whole vectors). */
    private static boolean byPanels(Dims d) { return VectorSupport.present() && PhasePanels.takes(d.q()); }

    /** conv2d(fromPhases(xPhases)): dy's columns W_rᵀ · x_r, read in place, added back phase by phase. */
    static Tensor conv2dFromPhases(Backend be, Gemm gemm, Tensor xPhases, Tensor w, Shape xShape, ConvGeometry g) {
        Shapes.requirePhases("conv2dFromPhases", xPhases, xShape, g);
        if (!applies(w.shape(), g)) return PhasesByComposition.conv2dFromPhases(be, xPhases, w, xShape, g);
        Shape yShape = Shapes.conv2d(xShape, w.shape(), g);
        Dims d = Dims.of(xShape, w.shape(), g);
        Tensor y = CpuBackend.alloc(yShape);
        MemorySegment xs = xPhases.segment(), ys = y.segment();
        if (byPanels(d)) {
            PhasePanels.fromPhases(d, PhasePanels.rowsOf(d, xs), w.segment(), ys, null);
            return y;
        }
        d.forEachGroup(w.segment(), d.group(COLUMNS), (wp, images, cols, colsMem, n0, count) -> {
            int width = count * d.q();
            Arrays.fill(images, 0f);
            for (int r = 0; r < d.phases().size(); r++) {
                gemm.sgemm(true, false, d.depth(), width, d.c(), 1f, wp, d.weightsAt(r), d.depth(), xs, d.at(r, n0), d.ld(), 0f, colsMem, 0, width);
                d.scatterAdd(colsMem, cols, count, r, images);
            }
            MemorySegment.copy(images, 0, ys, F, (long) n0 * d.small() * Float.BYTES, count * d.small());
        });
        return y;
    }

    /** conv2dBackwardWeight(fromPhases(xPhases), dy): dW_r = Σ x_r · cols_rᵀ, one partial sum per parallel part. */
    static Tensor backwardWeightFromPhases(Backend be, Gemm gemm, Tensor xPhases, Tensor dy, Shape xShape, Shape wShape, ConvGeometry g) {
        Shapes.requirePhases("conv2dBackwardWeightFromPhases", xPhases, xShape, g);
        Shapes.conv2dBackward(dy.shape(), xShape, wShape, g);
        if (!applies(wShape, g)) return PhasesByComposition.conv2dBackwardWeightFromPhases(be, xPhases, dy, xShape, wShape, g);
        Dims d = Dims.of(xShape, wShape, g);
        int group = d.group(WEIGHT_COLUMNS), parts = Chunks.count(d.n(), group);
        long size = wShape.numel();
        MemorySegment xs = xPhases.segment(), dys = dy.segment();
        Tensor dw = CpuBackend.alloc(wShape);
        try (HostStorage partials = scratch(parts * size)) {
            MemorySegment acc = partials.segment();
            Chunks.run(d.n(), parts, (part, from, to) -> {
                float[] images = new float[group * d.small()], cols = new float[d.depth() * group * d.q()];
                try (HostStorage colsMem = scratch(cols.length)) {
                    for (int n0 = (int) from; n0 < to; n0 += group) {
                        int count = (int) Math.min(group, to - n0), width = count * d.q();
                        MemorySegment.copy(dys, F, (long) n0 * d.small() * Float.BYTES, images, 0, count * d.small());
                        for (int r = 0; r < d.phases().size(); r++) {
                            d.gather(images, count, r, cols, colsMem.segment());
                            gemm.sgemm(false, true, d.c(), d.depth(), width, 1f, xs, d.at(r, n0), d.ld(), colsMem.segment(), 0, width,
                                    n0 == from ? 0f : 1f, acc, part * size + d.weightsAt(r), d.depth());
                        }
                    }
                }
            });
            Chunks.addParts(acc, acc, size, parts - 1, size);
            SubPixel.unsplitWeights(acc, d.k(), d.c(), d.kh(), d.kw(), g.strideH(), g.strideW(), dw.segment());
        }
        return dw;
    }
}
