package frl.backend.cpu;

import static frl.backend.cpu.CpuConv.scratch;

import frl.tensor.HostStorage;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The three conv ops without im2col when the stride divides the kernel. The zero-padded input is cut into its
 * sh·sw phase planes ("space to depth": plane (c, ry, rx) pixel (a, b) is input pixel (a·sh + ry − top,
 * b·sw + rx − left)), which makes the conv a stride-1 one with a th×tw kernel (t = kernel / stride) over
 * C·sh·sw channels. Each of its th·tw taps is one GEMM straight over the planes: output pixel (oy, ox) is
 * column oy·pw + ox of a plane pw wide, and tap (t, u) reads column oy·pw + ox + t·pw + u, so a tap is a
 * shift of the whole plane block. Columns with ox ≥ ow are computed and dropped (pw / ow more work, 17/16
 * for the VAE's layers). The planes are the size of the input where im2col's columns are kh·kw / (sh·sw)
 * times it (4× for the VAE's 4×4 stride-2 layers), and they are read in place instead of being built row by
 * row. Images whose planes are small sit side by side (image i at column i·ph·pw) to widen the GEMMs.
 */
final class PhaseConv {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    private PhaseConv() {}

    /**
     * Taken for strided convs whose stride divides the kernel, with taps at least 64 deep (C·sh·sw) and
     * K·(ph·pw) / (oh·ow) ≤ 128: im2col's cost per column element is spread over K output channels, while the
     * planes cost their dropped columns and rows, (ph·pw) / (oh·ow) − 1 more work (13% at 16×16 outputs, 27%
     * at 8×8, 56% at 4×4). Measured at batch 64 on 2 busy cores, old and new alternating in one JVM, median of
     * 7 paired ratios: conv2d 512→32 32→16 (the fmnist decoder's last layer) 1.20× forward, 1.19×
     * backward-weight; 1024→64 (cifar's) 1.16× / 1.12×; 32→64 16→8 1.01× / 1.29×, backward-input 1.23× (batch
     * 640). Left to im2col: 4→64 and 2→32 (taps 8 or 16 deep, 0.5–0.9×), 64→128 8→4 (0.8× forward), and
     * stride 1 (a 4×4 kernel on a 4×4 image would compute 16× its outputs; other stride-1 convs are not measured).
     */
    static boolean applies(Im2col g, int k) {
        int th = g.kh() / g.sh(), tw = g.kw() / g.sw();
        long plane = (long) (g.oh() + th - 1) * (g.ow() + tw - 1);
        return g.sh() * g.sw() > 1 && g.kh() % g.sh() == 0 && g.kw() % g.sw() == 0 && g.channels() * g.sh() * g.sw() >= 64
                && k * plane <= 128L * g.cols();
    }

    /** The phase planes of {@code geo} for output channels k: plane ph×pw, th·tw taps, image groups and channel blocks. */
    private record Plan(Im2col geo, int k, int th, int tw, int ph, int pw, int group, int channelBlock) {
        static Plan of(Im2col geo, int k) {
            int th = geo.kh() / geo.sh(), tw = geo.kw() / geo.sw(), ph = geo.oh() + th - 1, pw = geo.ow() + tw - 1;
            int group = Math.max(1, Math.ceilDiv(CpuConv.MIN_GEMM_COLS, ph * pw));
            long channelBytes = (long) geo.sh() * geo.sw() * group * ph * pw * Float.BYTES;
            return new Plan(geo, k, th, tw, ph, pw, group, (int) Math.clamp(CpuConv.COLS_BLOCK_BYTES / channelBytes, 1, geo.channels()));
        }

        int phases() { return geo.sh() * geo.sw(); }

        int depth() { return geo.channels() * phases(); }

        int plane() { return ph * pw; }

        int taps() { return th * tw; }

        /** Columns a tap's GEMM covers for {@code count} images: up to the last image's last output pixel. */
        int span(int count) { return (count - 1) * plane() + (geo.oh() - 1) * pw + geo.ow(); }

        /** Column shift of tap (t, u). */
        int shift(int tap) { return tap / tw * pw + tap % tw; }

        /** Leading dimension of a group's planes and outputs. */
        int ld() { return group * plane(); }

        /** Rows of channel block [c0, c1) within the planes. */
        long rowOf(int c) { return (long) c * phases(); }

        /** Offset of channel c0's columns in tap {@code tap}'s weights (see {@link #splitWeights}). */
        long weightsAt(int tap, int c0) { return (long) tap * k * depth() + rowOf(c0); }

        /** One group of images: its planes and wide [K, ld] outputs or output gradients, both per-chunk scratch. */
        @FunctionalInterface interface Group { void run(MemorySegment planes, MemorySegment wide, int n0, int count); }

        /** Runs {@code body} on each group of up to {@link #group} of the n images, parallel over the images. */
        void forEachGroup(int n, Group body) {
            Parallel.forRange(n, group, (from, to) -> {
                try (HostStorage planes = planes(); HostStorage wide = outputs()) {
                    for (int n0 = from; n0 < to; n0 += group) body.run(planes.segment(), wide.segment(), n0, Math.min(group, to - n0));
                }
            });
        }

        HostStorage planes() { return scratch((long) channelBlock * phases() * ld()); }

        HostStorage outputs() { return scratch((long) k * ld()); }

        /** wt[tap][k][(c, ry, rx)] = w[k, c, t·sh + ry, u·sw + rx]: each tap's weights as a [K, C·sh·sw] matrix. */
        HostStorage splitWeights(MemorySegment w) {
            int[] from = tapOrder();
            float[] src = new float[from.length], dst = new float[from.length];
            MemorySegment.copy(w, F, 0, src, 0, src.length);
            for (int i = 0; i < dst.length; i++) dst[i] = src[from[i]];
            HostStorage out = scratch(dst.length);
            MemorySegment.copy(dst, 0, out.segment(), F, 0, dst.length);
            return out;
        }

        /** The inverse of {@link #splitWeights}, adding {@code parts} stacked copies. */
        void joinWeights(MemorySegment split, int parts, MemorySegment w) {
            int[] to = tapOrder();
            float[] src = new float[to.length], sum = new float[to.length], dst = new float[to.length];
            for (int part = 0; part < parts; part++) {
                MemorySegment.copy(split, F, (long) part * to.length * Float.BYTES, src, 0, src.length);
                for (int i = 0; i < src.length; i++) sum[i] += src[i];
            }
            for (int i = 0; i < sum.length; i++) dst[to[i]] = sum[i];
            MemorySegment.copy(dst, 0, w, F, 0, dst.length);
        }

        /** For each entry of the split weights, in order, the index of its weight in w [K, C, kh, kw]. */
        private int[] tapOrder() {
            int c = geo.channels(), kh = geo.kh(), kw = geo.kw(), sh = geo.sh(), sw = geo.sw();
            int[] order = new int[k * c * kh * kw];
            for (int tap = 0, at = 0; tap < taps(); tap++)
                for (int o = 0; o < k; o++)
                    for (int ci = 0; ci < c; ci++)
                        for (int ry = 0; ry < sh; ry++)
                            for (int rx = 0; rx < sw; rx++) order[at++] = ((o * c + ci) * kh + tap / tw * sh + ry) * kw + tap % tw * sw + rx;
            return order;
        }

        /**
         * Between channels [c0, c1) of images [n0, n0 + count) of x and their phase planes: {@code toPlanes}
         * writes the planes (zeros in the padding); otherwise the adjoint sets x from the planes (pixels past
         * the last plane row or column get 0, entries in the padding are dropped).
         */
        void movePlanes(boolean toPlanes, MemorySegment x, int n0, int count, int c0, int c1, MemorySegment planes) {
            int h = geo.h(), w = geo.w(), sh = geo.sh(), sw = geo.sw();
            float[] image = new float[h * w], plane = new float[plane()];
            for (int i = 0; i < count; i++)
                for (int c = c0; c < c1; c++) {
                    long imageAt = ((n0 + i) * geo.imageSize() + (long) c * h * w) * Float.BYTES;
                    if (toPlanes) MemorySegment.copy(x, F, imageAt, image, 0, h * w);
                    else Arrays.fill(image, 0f);
                    for (int ry = 0; ry < sh; ry++)
                        for (int rx = 0; rx < sw; rx++) {
                            long at = ((rowOf(c - c0) + ry * sw + rx) * ld() + (long) i * plane()) * Float.BYTES;
                            if (toPlanes) Arrays.fill(plane, 0f);
                            else MemorySegment.copy(planes, F, at, plane, 0, plane.length);
                            int b0 = Math.clamp(Math.ceilDiv(geo.left() - rx, sw), 0, pw), b1 = Math.clamp(Math.floorDiv(w - 1 + geo.left() - rx, sw) + 1, b0, pw);
                            for (int a = 0; a < ph; a++) {
                                int y = a * sh + ry - geo.top();
                                if (y < 0 || y >= h) continue;
                                for (int b = b0, p = a * pw + b0, q = y * w + b0 * sw + rx - geo.left(); b < b1; b++, p++, q += sw)
                                    if (toPlanes) plane[p] = image[q];
                                    else image[q] = plane[p];
                            }
                            if (toPlanes) MemorySegment.copy(plane, 0, planes, F, at, plane.length);
                        }
                    if (!toPlanes) MemorySegment.copy(image, 0, x, F, imageAt, h * w);
                }
        }

        /** Copies y of images [n0, n0 + count) ([K, P] each) from the wide [K, ld] outputs (dropped columns skipped). */
        void narrow(MemorySegment wide, int n0, int count, MemorySegment y) {
            int oh = geo.oh(), ow = geo.ow(), p = oh * ow, ld = ld();
            float[] src = new float[k * ld], dst = new float[count * k * p];
            MemorySegment.copy(wide, F, 0, src, 0, src.length);
            for (int i = 0; i < count; i++)
                for (int o = 0; o < k; o++)
                    for (int oy = 0; oy < oh; oy++) System.arraycopy(src, o * ld + i * plane() + oy * pw, dst, (i * k + o) * p + oy * ow, ow);
            MemorySegment.copy(dst, 0, y, F, (long) n0 * k * p * Float.BYTES, dst.length);
        }

        /** The adjoint of {@link #narrow}: dy of images [n0, n0 + count) laid out wide, zeros in the dropped columns. */
        void widen(MemorySegment dy, int n0, int count, MemorySegment wide) {
            int oh = geo.oh(), ow = geo.ow(), p = oh * ow, ld = ld();
            float[] src = new float[count * k * p], dst = new float[k * ld];
            MemorySegment.copy(dy, F, (long) n0 * k * p * Float.BYTES, src, 0, src.length);
            for (int i = 0; i < count; i++)
                for (int o = 0; o < k; o++)
                    for (int oy = 0; oy < oh; oy++) System.arraycopy(src, (i * k + o) * p + oy * ow, dst, o * ld + i * plane() + oy * pw, ow);
            MemorySegment.copy(dst, 0, wide, F, 0, dst.length);
        }
    }

    /** y [K, span] = Σ_taps wt_tap [K, C·sh·sw] · planes shifted by the tap, channel block by block. */
    static Tensor conv2d(Gemm gemm, Tensor x, Tensor w, Im2col columns, Shape yShape) {
        Tensor y = CpuBackend.alloc(yShape);
        Plan plan = Plan.of(columns, w.dim(0));
        MemorySegment xs = x.segment(), ys = y.segment();
        try (HostStorage wt = plan.splitWeights(w.segment())) {
            plan.forEachGroup(x.dim(0), (planes, out, n0, count) -> {
                for (int c0 = 0; c0 < columns.channels(); c0 += plan.channelBlock()) {
                    int c1 = Math.min(columns.channels(), c0 + plan.channelBlock());
                    plan.movePlanes(true, xs, n0, count, c0, c1, planes);
                    for (int tap = 0; tap < plan.taps(); tap++)
                        gemm.sgemm(false, false, plan.k(), plan.span(count), (c1 - c0) * plan.phases(), 1f, wt.segment(), plan.weightsAt(tap, c0), plan.depth(),
                                planes, plan.shift(tap), plan.ld(), c0 == 0 && tap == 0 ? 0f : 1f, out, 0, plan.ld());
                }
                plan.narrow(out, n0, count, ys);
            });
        }
        return y;
    }

    /** planes [C·sh·sw, ld] = Σ_taps (wt_tap)ᵀ · dy_wide, each tap added at its shift; then back to dx. */
    static Tensor backwardInput(Gemm gemm, Tensor dy, Tensor w, Shape xShape, Im2col columns) {
        Tensor dx = CpuBackend.alloc(xShape);
        Plan plan = Plan.of(columns, w.dim(0));
        MemorySegment dys = dy.segment(), dxs = dx.segment();
        try (HostStorage wt = plan.splitWeights(w.segment())) {
            plan.forEachGroup(xShape.dim(0), (planes, wide, n0, count) -> {
                plan.widen(dys, n0, count, wide);
                for (int c0 = 0; c0 < columns.channels(); c0 += plan.channelBlock()) {
                    int c1 = Math.min(columns.channels(), c0 + plan.channelBlock()), rows = (c1 - c0) * plan.phases();
                    planes.asSlice(0, (long) rows * plan.ld() * Float.BYTES).fill((byte) 0);
                    for (int tap = 0; tap < plan.taps(); tap++)
                        gemm.sgemm(true, false, rows, plan.span(count), plan.k(), 1f, wt.segment(), plan.weightsAt(tap, c0), plan.depth(),
                                wide, 0, plan.ld(), 1f, planes, plan.shift(tap), plan.ld());
                    plan.movePlanes(false, dxs, n0, count, c0, c1, planes);
                }
            });
        }
        return dx;
    }

    /** dwt_tap [K, C·sh·sw] = Σ_n dy_wide · (planes shifted by the tap)ᵀ, per parallel part, then joined into dW. */
    static Tensor backwardWeight(Gemm gemm, Tensor x, Tensor dy, Shape wShape, Im2col columns) {
        Tensor dw = CpuBackend.alloc(wShape);
        Plan plan = Plan.of(columns, wShape.dim(0));
        int n = x.dim(0), k = plan.k(), depth = plan.depth(), ld = plan.ld();
        int parts = Chunks.count(n, plan.group());
        long size = wShape.numel();
        MemorySegment xs = x.segment(), dys = dy.segment();
        try (HostStorage partials = scratch(parts * size)) {
            MemorySegment acc = partials.segment();
            Chunks.run(n, parts, (part, from, to) -> {
                long accAt = part * size;
                try (HostStorage planesMem = plan.planes(); HostStorage dyMem = plan.outputs()) {
                    MemorySegment planes = planesMem.segment(), wide = dyMem.segment();
                    for (int n0 = (int) from; n0 < to; n0 += plan.group()) {
                        int count = (int) Math.min(plan.group(), to - n0), span = plan.span(count);
                        plan.widen(dys, n0, count, wide);
                        for (int c0 = 0; c0 < columns.channels(); c0 += plan.channelBlock()) {
                            int c1 = Math.min(columns.channels(), c0 + plan.channelBlock()), rows = (c1 - c0) * plan.phases();
                            plan.movePlanes(true, xs, n0, count, c0, c1, planes);
                            for (int tap = 0; tap < plan.taps(); tap++)
                                gemm.sgemm(false, true, k, rows, span, 1f, wide, 0, ld, planes, plan.shift(tap), ld,
                                        n0 == from ? 0f : 1f, acc, accAt + plan.weightsAt(tap, c0), depth);
                        }
                    }
                }
            });
            plan.joinWeights(acc, parts, dw.segment());
        }
        return dw;
    }
}
