package frl.backend.cpu;

import frl.backend.ConvGeometry;
import frl.backend.Shapes;
import frl.backend.Shift;
import frl.tensor.Device;
import frl.tensor.HostStorage;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Matmul and 2-D convolutions as GEMMs over im2col column matrices, parallel over the batch. Images with
 * few output pixels are taken several at a time, their columns side by side, so each GEMM is at least
 * {@link #MIN_GEMM_COLS} wide; scratch is per chunk of images, never the whole batch. Strided convs with
 * deep inputs and few output channels skip im2col through {@link PhaseConv}, stride-1 convs through
 * {@link DirectConv} (a plain 1×1 only forward and for the input gradient).
 */
final class CpuConv {
    /** GEMMs narrower than this run far below peak; small images are grouped up to this width. */
    static final int MIN_GEMM_COLS = 256;
    /** Size of one column block: written by im2col, read at once by the GEMM, so it should fit in L2. */
    static final long COLS_BLOCK_BYTES = 512 << 10;

    private CpuConv() {}

    static Tensor matmul(Tensor a, boolean transA, Tensor b, boolean transB) { return matmul(Gemm.active(), a, transA, b, transB); }

    static Tensor conv2d(Tensor x, Tensor w, ConvGeometry g) { return conv2d(Gemm.active(), x, w, g); }

    static Tensor backwardInput(Tensor dy, Tensor w, Shape xShape, ConvGeometry g) { return backwardInput(Gemm.active(), dy, w, xShape, g); }

    static Tensor backwardWeight(Tensor x, Tensor dy, Shape wShape, ConvGeometry g) { return backwardWeight(Gemm.active(), x, dy, wShape, g); }

    static Tensor shiftedConv2d(Tensor x, Tensor w, Shift s) { return shiftedConv2d(Gemm.active(), x, w, s); }

    static Tensor shiftedBackwardInput(Tensor dy, Tensor w, Shape xShape, Shift s) { return shiftedBackwardInput(Gemm.active(), dy, w, xShape, s); }

    static Tensor shiftedBackwardWeight(Tensor x, Tensor dy, Shape wShape, Shift s) { return shiftedBackwardWeight(Gemm.active(), x, dy, wShape, s); }

    static Tensor matmul(Gemm gemm, Tensor a, boolean transA, Tensor b, boolean transB) {
        Shape s = Shapes.matmul(a, transA, b, transB);
        int k = transA ? a.dim(0) : a.dim(1);
        Tensor c = CpuBackend.alloc(s);
        gemm.sgemm(transA, transB, s.dim(0), s.dim(1), k, 1f, a.segment(), 0, Math.max(1, a.dim(1)),
                b.segment(), 0, Math.max(1, b.dim(1)), 0f, c.segment(), 0, Math.max(1, s.dim(1)));
        return c;
    }

    static Tensor conv2d(Gemm gemm, Tensor x, Tensor w, ConvGeometry g) {
        return conv2d(gemm, x, w, Im2col.of(x.shape(), w.shape(), g), Shapes.conv2d(x.shape(), w.shape(), g));
    }

    /**
     * relu(conv2d(x, w) + bias) on the direct path, the bias and the clip applied as its output is written; null where
     * that path does not take the conv (the caller composes the two ops then).
     */
    static Tensor directConv2dBiasRelu(Tensor x, Tensor w, Tensor bias, ConvGeometry g) {
        Shape ys = Shapes.conv2d(x.shape(), w.shape(), g);
        Shapes.channelBias("conv2dBiasRelu", ys, bias);
        Im2col columns = Im2col.of(x.shape(), w.shape(), g);
        return DirectConv.appliesForward(columns) ? DirectConv.conv2dBiasRelu(x, w, bias.toFloats(), columns, ys) : null;
    }

    /** PixelCNN++'s shifted conv: the same GEMMs, over columns with the causal (asymmetric) zero padding. */
    static Tensor shiftedConv2d(Gemm gemm, Tensor x, Tensor w, Shift s) {
        Shape ys = Shapes.shiftedConv2d(x.shape(), w.shape(), s);
        return conv2d(gemm, x, w, Im2col.shifted(x.shape(), w.shape(), s), ys);
    }

    static Tensor shiftedBackwardInput(Gemm gemm, Tensor dy, Tensor w, Shape xShape, Shift s) {
        Shapes.shiftedConv2dBackward(dy.shape(), xShape, w.shape(), s);
        return backwardInput(gemm, dy, w, xShape, Im2col.shifted(xShape, w.shape(), s));
    }

    static Tensor shiftedBackwardWeight(Gemm gemm, Tensor x, Tensor dy, Shape wShape, Shift s) {
        Shapes.shiftedConv2dBackward(dy.shape(), x.shape(), wShape, s);
        return backwardWeight(gemm, x, dy, wShape, Im2col.shifted(x.shape(), wShape, s));
    }

    /** y_n [K, P] = W [K, C·kh·kw] · cols(x_n) [C·kh·kw, P], P = oh·ow, summed over channel blocks. */
    private static Tensor conv2d(Gemm gemm, Tensor x, Tensor w, Im2col columns, Shape yShape) {
        if (columns.rows() == 0) return CpuBackend.instance().full(yShape, 0);   // no input channels: nothing to sum
        if (DirectConv.appliesForward(columns)) return DirectConv.conv2d(x, w, columns, yShape);
        if (PhaseConv.applies(columns, w.dim(0))) return PhaseConv.conv2d(gemm, x, w, columns, yShape);
        Tensor y = CpuBackend.alloc(yShape);
        Plan plan = Plan.of(columns, w.dim(0));
        Im2col geo = plan.geo;
        int k = plan.k, rows = geo.rows(), p = geo.cols(), rpc = geo.rowsPerChannel();
        MemorySegment xs = x.segment(), ws = w.segment(), ys = y.segment();
        Parallel.forRange(x.dim(0), plan.group, (from, to) -> {
            try (HostStorage colsMem = plan.colsScratch(); HostStorage outMem = plan.groupScratch()) {
                MemorySegment cols = colsMem.segment(), out = outMem.segment();
                for (int n0 = from; n0 < to; n0 += plan.group) {
                    int count = Math.min(plan.group, to - n0), width = count * p;
                    if (plan.direct()) {
                        gemm.sgemm(false, false, k, p, rows, 1f, ws, 0, rows, xs, n0 * geo.imageSize(), p, 0f, ys, (long) n0 * k * p, p);
                        continue;
                    }
                    MemorySegment dst = count == 1 ? ys : out;   // a group's y_n is the n-th P-wide slice of out's rows
                    long dstAt = count == 1 ? (long) n0 * k * p : 0;
                    for (int c0 = 0; c0 < geo.channels(); c0 += plan.channelBlock) {
                        int c1 = Math.min(geo.channels(), c0 + plan.channelBlock);
                        for (int i = 0; i < count; i++) geo.toColumns(xs, (n0 + i) * geo.imageSize(), c0, c1, cols, (long) i * p, width);
                        gemm.sgemm(false, false, k, width, (c1 - c0) * rpc, 1f, ws, (long) c0 * rpc, rows, cols, 0, width, c0 == 0 ? 0f : 1f, dst, dstAt, width);
                    }
                    if (count > 1) for (int i = 0; i < count; i++) copyBlocks(out, (long) i * p, width, ys, (long) (n0 + i) * k * p, p, k, p);
                }
            }
        });
        return y;
    }

    /**
     * dx_n = col2im(Wᵀ [C·kh·kw, K] · dy_n [K, P]) block of channels by block, into an output of shape
     * {@code xShape}; pixels no kernel window reaches (a transposed conv's output padding) stay 0.
     */
    static Tensor backwardInput(Gemm gemm, Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        Shapes.conv2dBackward(dy.shape(), xShape, w.shape(), g);
        if (SubPixel.applies(xShape, w.shape(), g)) return SubPixel.backwardInput(gemm, dy, w, xShape, g);
        return backwardInput(gemm, dy, w, xShape, Im2col.of(xShape, w.shape(), g));
    }

    private static Tensor backwardInput(Gemm gemm, Tensor dy, Tensor w, Shape xShape, Im2col columns) {
        if (w.dim(0) == 0) return CpuBackend.instance().full(xShape, 0);   // no output channels: nothing to sum
        if (DirectConv.appliesForward(columns)) return DirectConv.backwardInput(dy, w, xShape, columns);
        if (PhaseConv.applies(columns, w.dim(0))) return PhaseConv.backwardInput(gemm, dy, w, xShape, columns);
        Tensor dx = CpuBackend.alloc(xShape);
        Plan plan = Plan.of(columns, w.dim(0));
        Im2col geo = plan.geo;
        int k = plan.k, rows = geo.rows(), p = geo.cols(), rpc = geo.rowsPerChannel();
        MemorySegment dys = dy.segment(), ws = w.segment(), dxs = dx.segment();
        Parallel.forRange(xShape.dim(0), plan.group, (from, to) -> {
            try (HostStorage colsMem = plan.colsScratch(); HostStorage dyMem = plan.groupScratch()) {
                MemorySegment cols = colsMem.segment(), dyGroup = dyMem.segment();
                for (int n0 = from; n0 < to; n0 += plan.group) {
                    int count = Math.min(plan.group, to - n0), width = count * p;
                    long dxAt = n0 * geo.imageSize();
                    if (plan.direct()) {
                        gemm.sgemm(true, false, rows, p, k, 1f, ws, 0, rows, dys, (long) n0 * k * p, p, 0f, dxs, dxAt, p);
                        continue;
                    }
                    MemorySegment b = count == 1 ? dys : plan.gather(dys, n0, count, dyGroup);
                    long bAt = count == 1 ? (long) n0 * k * p : 0;
                    for (int c0 = 0; c0 < geo.channels(); c0 += plan.channelBlock) {
                        int c1 = Math.min(geo.channels(), c0 + plan.channelBlock);
                        gemm.sgemm(true, false, (c1 - c0) * rpc, width, k, 1f, ws, (long) c0 * rpc, rows, b, bAt, width, 0f, cols, 0, width);
                        for (int i = 0; i < count; i++) geo.fromColumns(cols, (long) i * p, width, c0, c1, dxs, dxAt + i * geo.imageSize());
                    }
                }
            }
        });
        return dx;
    }

    /**
     * dW [K, C·kh·kw] = Σ_n dy_n [K, P] · cols(x_n)ᵀ. Each parallel part sums its images into its own buffer
     * (part 0 straight into dW); the parts are added at the end.
     */
    static Tensor backwardWeight(Gemm gemm, Tensor x, Tensor dy, Shape wShape, ConvGeometry g) {
        Shapes.conv2dBackward(dy.shape(), x.shape(), wShape, g);
        return backwardWeight(gemm, x, dy, wShape, Im2col.of(x.shape(), wShape, g));
    }

    private static Tensor backwardWeight(Gemm gemm, Tensor x, Tensor dy, Shape wShape, Im2col columns) {
        if (DirectConv.applies(columns)) return DirectConv.backwardWeight(x, dy, wShape, columns);
        if (PhaseConv.applies(columns, wShape.dim(0))) return PhaseConv.backwardWeight(gemm, x, dy, wShape, columns);
        Tensor dw = CpuBackend.alloc(wShape);
        Plan plan = Plan.of(columns, wShape.dim(0));
        Im2col geo = plan.geo;
        int n = x.dim(0), k = plan.k, rows = geo.rows(), p = geo.cols(), rpc = geo.rowsPerChannel();
        int parts = Chunks.count(n, plan.group);
        long size = (long) k * rows;
        MemorySegment xs = x.segment(), dys = dy.segment(), dws = dw.segment();
        try (HostStorage partials = HostStorage.allocate((parts - 1) * size * Float.BYTES, Device.CPU)) {
            MemorySegment ps = partials.segment();
            Chunks.run(n, parts, (part, from, to) -> {
                MemorySegment acc = part == 0 ? dws : ps;
                long accAt = part == 0 ? 0 : (part - 1) * size;
                try (HostStorage colsMem = plan.colsScratch(); HostStorage dyMem = plan.groupScratch()) {
                    MemorySegment cols = colsMem.segment(), dyGroup = dyMem.segment();
                    for (int n0 = (int) from; n0 < to; n0 += plan.group) {
                        int count = (int) Math.min(plan.group, to - n0), width = count * p;
                        float beta = n0 == from ? 0f : 1f;
                        MemorySegment a = count == 1 ? dys : plan.gather(dys, n0, count, dyGroup);
                        long aAt = count == 1 ? (long) n0 * k * p : 0;
                        if (plan.direct()) {
                            gemm.sgemm(false, true, k, rows, p, 1f, a, aAt, p, xs, n0 * geo.imageSize(), p, beta, acc, accAt, rows);
                            continue;
                        }
                        for (int c0 = 0; c0 < geo.channels(); c0 += plan.channelBlock) {
                            int c1 = Math.min(geo.channels(), c0 + plan.channelBlock);
                            for (int i = 0; i < count; i++) geo.toColumns(xs, (n0 + i) * geo.imageSize(), c0, c1, cols, (long) i * p, width);
                            gemm.sgemm(false, true, k, (c1 - c0) * rpc, width, 1f, a, aAt, width, cols, 0, width, beta, acc, accAt + (long) c0 * rpc, rows);
                        }
                    }
                }
            });
            Chunks.addParts(dws, ps, 0, parts - 1, size);
        }
        return dw;
    }

    /**
     * How one conv call is cut: {@code group} images per GEMM (so it is at least {@link #MIN_GEMM_COLS} wide; one for a 1×1)
     * and {@code channelBlock} input channels per column block (so the block stays in cache between im2col and
     * the GEMM that reads it, and scratch stays small whatever the channel count).
     */
    private record Plan(Im2col geo, int k, int group, int channelBlock) {
        static Plan of(Im2col geo, int k) {
            int p = geo.cols(), group = geo.isIdentity() ? 1 : Math.max(1, Math.ceilDiv(MIN_GEMM_COLS, p));
            long blockRowBytes = (long) geo.rowsPerChannel() * group * p * Float.BYTES;
            return new Plan(geo, k, group, (int) Math.clamp(COLS_BLOCK_BYTES / blockRowBytes, 1, Math.max(1, geo.channels())));
        }

        /**
         * A 1×1 stride-1 unpadded conv: each image is its own column matrix, so images go one GEMM each
         * (grouping them would first copy them side by side: measured 2–5× slower for Glow's 48 channels at 8×8 and 4×4).
         */
        boolean direct() { return group == 1 && geo.isIdentity(); }

        /** Column block of one group, or nothing when {@link #direct()}. */
        HostStorage colsScratch() { return scratch(direct() ? 0 : (long) channelBlock * geo.rowsPerChannel() * group * geo.cols()); }

        /** A [K, group·P] matrix for grouped images' outputs or gradients, or nothing when images go one at a time. */
        HostStorage groupScratch() { return scratch(group > 1 ? (long) k * group * geo.cols() : 0); }

        /** Lays dy of images [n0, n0+count) side by side as [K, count·P] in {@code buf}; returns buf. */
        MemorySegment gather(MemorySegment dy, int n0, int count, MemorySegment buf) {
            int p = geo.cols();
            for (int i = 0; i < count; i++) copyBlocks(dy, (long) (n0 + i) * k * p, p, buf, (long) i * p, (long) count * p, k, p);
            return buf;
        }
    }

    /** Uninitialised scratch (not a confined arena: a GEMM called outside a parallel loop reads it from the pool's threads). */
    static HostStorage scratch(long floats) { return HostStorage.allocate(floats * Float.BYTES, Device.CPU); }

    /** Copies {@code blocks} runs of {@code len} floats, each from src[srcAt + b·srcStride] to dst[dstAt + b·dstStride]. */
    private static void copyBlocks(MemorySegment src, long srcAt, long srcStride, MemorySegment dst, long dstAt, long dstStride, int blocks, int len) {
        for (int b = 0; b < blocks; b++)
            MemorySegment.copy(src, (srcAt + b * srcStride) * Float.BYTES, dst, (dstAt + b * dstStride) * Float.BYTES, (long) len * Float.BYTES);
    }
}
