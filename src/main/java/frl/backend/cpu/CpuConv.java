package frl.backend.cpu;

import frl.backend.ConvGeometry;
import frl.backend.Shapes;
import frl.tensor.Device;
import frl.tensor.HostStorage;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Matmul and 2-D convolutions as GEMMs over im2col column matrices, parallel over the batch. Images with
 * few output pixels are taken several at a time, their columns side by side, so each GEMM is at least
 * {@link #MIN_GEMM_COLS} wide; scratch is per chunk of images, never the whole batch.
 */
final class CpuConv {
    /** GEMMs narrower than this run far below peak; small images are grouped up to this width. */
    static final int MIN_GEMM_COLS = 256;

    private CpuConv() {}

    static Tensor matmul(Tensor a, boolean transA, Tensor b, boolean transB) { return matmul(Gemm.active(), a, transA, b, transB); }

    static Tensor conv2d(Tensor x, Tensor w, ConvGeometry g) { return conv2d(Gemm.active(), x, w, g); }

    static Tensor backwardInput(Tensor dy, Tensor w, Shape xShape, ConvGeometry g) { return backwardInput(Gemm.active(), dy, w, xShape, g); }

    static Tensor backwardWeight(Tensor x, Tensor dy, Shape wShape, ConvGeometry g) { return backwardWeight(Gemm.active(), x, dy, wShape, g); }

    static Tensor matmul(Gemm gemm, Tensor a, boolean transA, Tensor b, boolean transB) {
        Shape s = Shapes.matmul(a, transA, b, transB);
        int k = transA ? a.dim(0) : a.dim(1);
        Tensor c = CpuBackend.alloc(s);
        gemm.sgemm(transA, transB, s.dim(0), s.dim(1), k, 1f, a.segment(), 0, Math.max(1, a.dim(1)),
                b.segment(), 0, Math.max(1, b.dim(1)), 0f, c.segment(), 0, Math.max(1, s.dim(1)));
        return c;
    }

    /** y_n [K, P] = W [K, C·kh·kw] · cols(x_n) [C·kh·kw, P], P = oh·ow. */
    static Tensor conv2d(Gemm gemm, Tensor x, Tensor w, ConvGeometry g) {
        Tensor y = CpuBackend.alloc(Shapes.conv2d(x.shape(), w.shape(), g));
        Im2col geo = Im2col.of(x.shape(), w.shape(), g);
        int k = w.dim(0), rows = geo.rows(), p = geo.cols(), group = groupSize(p);
        MemorySegment xs = x.segment(), ws = w.segment(), ys = y.segment();
        Parallel.forRange(x.dim(0), group, (from, to) -> {
            try (HostStorage colsMem = scratch(rows, group, p, group > 1 || !geo.isIdentity());
                 HostStorage outMem = scratch(k, group, p, group > 1)) {
                MemorySegment cols = colsMem.segment(), out = outMem.segment();
                for (int n0 = from; n0 < to; n0 += group) {
                    int count = Math.min(group, to - n0), width = count * p;
                    if (count == 1 && geo.isIdentity()) {
                        gemm.sgemm(false, false, k, p, rows, 1f, ws, 0, rows, xs, n0 * geo.imageSize(), p, 0f, ys, (long) n0 * k * p, p);
                        continue;
                    }
                    for (int i = 0; i < count; i++) geo.toColumns(xs, (n0 + i) * geo.imageSize(), cols, (long) i * p, width);
                    if (count == 1) {
                        gemm.sgemm(false, false, k, p, rows, 1f, ws, 0, rows, cols, 0, p, 0f, ys, (long) n0 * k * p, p);
                    } else {   // y_n is the n-th P-wide slice of every row of out
                        gemm.sgemm(false, false, k, width, rows, 1f, ws, 0, rows, cols, 0, width, 0f, out, 0, width);
                        for (int i = 0; i < count; i++) copyBlocks(out, (long) i * p, width, ys, (long) (n0 + i) * k * p, p, k, p);
                    }
                }
            }
        });
        return y;
    }

    /**
     * dx_n = col2im(Wᵀ [C·kh·kw, K] · dy_n [K, P]), into an output of shape {@code xShape}; pixels no kernel
     * window reaches (a transposed conv's output padding) stay 0.
     */
    static Tensor backwardInput(Gemm gemm, Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        Shapes.conv2dBackward(dy.shape(), xShape, w.shape(), g);
        Tensor dx = CpuBackend.alloc(xShape);
        Im2col geo = Im2col.of(xShape, w.shape(), g);
        int k = w.dim(0), rows = geo.rows(), p = geo.cols(), group = groupSize(p);
        MemorySegment dys = dy.segment(), ws = w.segment(), dxs = dx.segment();
        Parallel.forRange(xShape.dim(0), group, (from, to) -> {
            try (HostStorage colsMem = scratch(rows, group, p, group > 1 || !geo.isIdentity());
                 HostStorage dyMem = scratch(k, group, p, group > 1)) {
                MemorySegment cols = colsMem.segment(), dyGroup = dyMem.segment();
                for (int n0 = from; n0 < to; n0 += group) {
                    int count = Math.min(group, to - n0), width = count * p;
                    long dxAt = n0 * geo.imageSize();
                    if (count == 1 && geo.isIdentity()) {
                        gemm.sgemm(true, false, rows, p, k, 1f, ws, 0, rows, dys, (long) n0 * k * p, p, 0f, dxs, dxAt, p);
                        continue;
                    }
                    MemorySegment b = dys;
                    long bAt = (long) n0 * k * p;
                    if (count > 1) {
                        for (int i = 0; i < count; i++) copyBlocks(dys, (long) (n0 + i) * k * p, p, dyGroup, (long) i * p, width, k, p);
                        b = dyGroup;
                        bAt = 0;
                    }
                    gemm.sgemm(true, false, rows, width, k, 1f, ws, 0, rows, b, bAt, width, 0f, cols, 0, width);
                    Im2col.zero(dxs, dxAt, count * geo.imageSize());
                    for (int i = 0; i < count; i++) geo.addColumns(cols, (long) i * p, width, dxs, dxAt + i * geo.imageSize());
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
        Tensor dw = CpuBackend.alloc(wShape);
        Im2col geo = Im2col.of(x.shape(), wShape, g);
        int n = x.dim(0), k = wShape.dim(0), rows = geo.rows(), p = geo.cols(), group = groupSize(p);
        int parts = Math.max(1, Math.min(Parallel.threads(), n / group));
        long size = (long) k * rows;
        MemorySegment xs = x.segment(), dys = dy.segment(), dws = dw.segment();
        try (HostStorage partials = HostStorage.allocate(Math.max(1, (parts - 1) * size) * Float.BYTES, Device.CPU)) {
            MemorySegment ps = partials.segment();
            Parallel.forRange(parts, 1, (part0, part1) -> {
                for (int part = part0; part < part1; part++) {
                    MemorySegment acc = part == 0 ? dws : ps;
                    long accAt = part == 0 ? 0 : (part - 1) * size;
                    int from = (int) ((long) n * part / parts), to = (int) ((long) n * (part + 1) / parts);
                    try (HostStorage colsMem = scratch(rows, group, p, group > 1 || !geo.isIdentity());
                         HostStorage dyMem = scratch(k, group, p, group > 1)) {
                        MemorySegment cols = colsMem.segment(), dyGroup = dyMem.segment();
                        for (int n0 = from; n0 < to; n0 += group) {
                            int count = Math.min(group, to - n0), width = count * p;
                            float beta = n0 == from ? 0f : 1f;
                            MemorySegment a = dys, b = cols;
                            long aAt = (long) n0 * k * p, bAt = 0;
                            if (count > 1) {
                                for (int i = 0; i < count; i++) copyBlocks(dys, (long) (n0 + i) * k * p, p, dyGroup, (long) i * p, width, k, p);
                                a = dyGroup;
                                aAt = 0;
                            }
                            if (count == 1 && geo.isIdentity()) {
                                b = xs;
                                bAt = n0 * geo.imageSize();
                            } else {
                                for (int i = 0; i < count; i++) geo.toColumns(xs, (n0 + i) * geo.imageSize(), cols, (long) i * p, width);
                            }
                            gemm.sgemm(false, true, k, rows, width, 1f, a, aAt, width, b, bAt, width, beta, acc, accAt, rows);
                        }
                    }
                }
            });
            if (parts > 1) {
                Parallel.forRange((int) size, 1 << 14, (i0, i1) -> {
                    for (int part = 1; part < parts; part++) {
                        long at = (part - 1) * size;
                        for (int i = i0; i < i1; i++)
                            dws.setAtIndex(ValueLayout.JAVA_FLOAT, i, dws.getAtIndex(ValueLayout.JAVA_FLOAT, i)
                                    + ps.getAtIndex(ValueLayout.JAVA_FLOAT, at + i));
                    }
                });
            }
        }
        return dw;
    }

    /** Images per GEMM so that it is at least {@link #MIN_GEMM_COLS} columns wide. */
    private static int groupSize(int pixels) { return Math.max(1, Math.ceilDiv(MIN_GEMM_COLS, pixels)); }

    /**
     * Uninitialised scratch for a rows × (group·pixels) matrix, or an empty one when this shape never uses it.
     * Not a confined arena: a GEMM called outside a parallel loop reads it from the pool's threads too.
     */
    private static HostStorage scratch(int rows, int group, int pixels, boolean needed) {
        return HostStorage.allocate(needed ? (long) rows * group * pixels * Float.BYTES : 0, Device.CPU);
    }

    /** Copies {@code blocks} runs of {@code len} floats, each from src[srcAt + b·srcStride] to dst[dstAt + b·dstStride]. */
    private static void copyBlocks(MemorySegment src, long srcAt, long srcStride, MemorySegment dst, long dstAt, long dstStride, int blocks, int len) {
        for (int b = 0; b < blocks; b++)
            MemorySegment.copy(src, (srcAt + b * srcStride) * Float.BYTES, dst, (dstAt + b * dstStride) * Float.BYTES, (long) len * Float.BYTES);
    }
}
