package frl.backend.cpu;

import frl.backend.ConvGeometry;
import frl.tensor.Device;
import frl.tensor.HostStorage;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * conv2dBackwardInput (a transposed convolution) when the stride divides the kernel, as stride² small
 * stride-1 convolutions, one per output phase: output pixel y = q·s + r − pad only receives the taps
 * i = r + s·t, from dy row q − t. Each phase is one GEMM  dx_r [C, Q] = W_r [C, K·T²] · cols_r [K·T², Q]
 * over a column matrix K·T² rows tall, instead of col2im scattering a C·kh·kw-row matrix: for the VAE's
 * 4×4 stride-2 decoders the scratch is 16× smaller and nothing is added twice.
 */
final class SubPixel {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    private SubPixel() {}

    /**
     * Taken when the stride divides the kernel and each phase GEMM is at least 128 columns wide and 32 rows
     * tall: thinner GEMMs run slower than im2col's one big one (bench/run.sh ConvBench: Conv2d(64→128)
     * backward-input fell from 89 to 41 GFLOP/s with 64 columns, Conv2d(4→64) from 62 to 9 with 4 rows), while
     * the VAE's last decoder layer went from 97 to 165 GFLOP/s (cifar) and from 55 to 94 (fmnist).
     */
    static boolean applies(Shape x, Shape w, ConvGeometry g) {
        int sh = g.strideH(), sw = g.strideW();
        return (sh > 1 || sw > 1) && w.dim(2) % sh == 0 && w.dim(3) % sw == 0
                && (long) (x.dim(2) / sh) * (x.dim(3) / sw) >= 128 && x.dim(1) >= 32;
    }

    /** dy [N,K,OH,OW], w [K,C,kh,kw] → dx of shape xShape [N,C,H,W] (shapes already checked). */
    static Tensor backwardInput(Gemm gemm, Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        int n = xShape.dim(0), c = xShape.dim(1), h = xShape.dim(2), wd = xShape.dim(3);
        int k = w.dim(0), kh = w.dim(2), kw = w.dim(3), sh = g.strideH(), sw = g.strideW();
        int th = kh / sh, tw = kw / sw, oh = dy.dim(2), ow = dy.dim(3), depth = k * th * tw;
        Tensor dx = CpuBackend.alloc(xShape);
        try (HostStorage phases = HostStorage.allocate((long) sh * sw * c * depth * Float.BYTES, Device.CPU)) {
            MemorySegment wp = phases.segment();
            splitWeights(w.segment(), k, c, kh, kw, sh, sw, wp);
            MemorySegment dys = dy.segment(), dxs = dx.segment();
            int qMax = Math.ceilDiv(h, sh) * Math.ceilDiv(wd, sw);
            Parallel.forRange(n, 1, (from, to) -> {
                float[] dyImage = new float[k * oh * ow], cols = new float[depth * qMax], part = new float[c * qMax], image = new float[c * h * wd];
                try (HostStorage colsMem = HostStorage.allocate((long) depth * qMax * Float.BYTES, Device.CPU);
                     HostStorage outMem = HostStorage.allocate((long) c * qMax * Float.BYTES, Device.CPU)) {
                    for (int img = from; img < to; img++) {
                        MemorySegment.copy(dys, F, (long) img * dyImage.length * Float.BYTES, dyImage, 0, dyImage.length);
                        for (ConvGeometry.Phase p : g.subPixelPhases(h, wd)) {
                            int q = p.q(), qh = p.qh(), qw = p.qw();
                            gather(dyImage, 0, k, oh, ow, th, tw, p.qy0(), qh, p.qx0(), qw, cols, q, 0);
                            MemorySegment.copy(cols, 0, colsMem.segment(), F, 0, depth * q);
                            gemm.sgemm(false, false, c, q, depth, 1f, wp, (long) (p.ry() * sw + p.rx()) * c * depth, depth,
                                    colsMem.segment(), 0, q, 0f, outMem.segment(), 0, q);
                            MemorySegment.copy(outMem.segment(), F, 0, part, 0, c * q);
                            for (int ci = 0; ci < c; ci++)
                                for (int a = 0; a < qh; a++) {
                                    int y = (p.qy0() + a) * sh + p.ry() - g.padH(), dst = (ci * h + y) * wd + p.qx0() * sw + p.rx() - g.padW(), src = (ci * qh + a) * qw;
                                    for (int b = 0; b < qw; b++) image[dst + b * sw] = part[src + b];
                                }
                        }
                        MemorySegment.copy(image, 0, dxs, F, (long) img * image.length * Float.BYTES, image.length);
                    }
                }
            });
        }
        return dx;
    }

    /** W_r[c, (o, t, u)] = w[o, c, ry + s·t, rx + s·u] for every phase r = (ry, rx), phases one after another. */
    static void splitWeights(MemorySegment w, int k, int c, int kh, int kw, int sh, int sw, MemorySegment out) { moveWeights(true, w, k, c, kh, kw, sh, sw, out); }

    /** The inverse of {@link #splitWeights}: w from its phases' taps. */
    static void unsplitWeights(MemorySegment split, int k, int c, int kh, int kw, int sh, int sw, MemorySegment w) { moveWeights(false, w, k, c, kh, kw, sh, sw, split); }

    private static void moveWeights(boolean split, MemorySegment w, int k, int c, int kh, int kw, int sh, int sw, MemorySegment phases) {
        int th = kh / sh, tw = kw / sw;
        long at = 0;
        for (int ry = 0; ry < sh; ry++)
            for (int rx = 0; rx < sw; rx++)
                for (int ci = 0; ci < c; ci++)
                    for (int o = 0; o < k; o++)
                        for (int t = 0; t < th; t++)
                            for (int u = 0; u < tw; u++, at++) {
                                long wi = ((long) (o * c + ci) * kh + ry + sh * t) * kw + rx + sw * u;
                                if (split) phases.setAtIndex(F, at, w.getAtIndex(F, wi));
                                else w.setAtIndex(F, wi, phases.getAtIndex(F, at));
                            }
    }

    /** cols[(o, t, u)·ld + at + (a, b)] = dy[dyAt + (o, qy0 + a − t, qx0 + b − u)], 0 outside dy (one image [K, oh, ow]). */
    static void gather(float[] dy, int dyAt, int k, int oh, int ow, int th, int tw, int qy0, int qh, int qx0, int qw, float[] cols, int ld, int at) {
        for (int o = 0, row = 0; o < k; o++)
            for (int t = 0; t < th; t++)
                for (int u = 0; u < tw; u++, row++)
                    for (int a = 0; a < qh; a++) {
                        int oy = qy0 + a - t, dst = row * ld + at + a * qw;
                        if (oy < 0 || oy >= oh) {
                            java.util.Arrays.fill(cols, dst, dst + qw, 0f);
                            continue;
                        }
                        int base = dyAt + (o * oh + oy) * ow + qx0 - u, b0 = Math.clamp(u - qx0, 0, qw), b1 = Math.clamp(ow + u - qx0, b0, qw);
                        java.util.Arrays.fill(cols, dst, dst + b0, 0f);    // ox = qx0 + b − u outside dy
                        System.arraycopy(dy, base + b0, cols, dst + b0, b1 - b0);
                        java.util.Arrays.fill(cols, dst + b1, dst + qw, 0f);
                    }
    }

    /** The adjoint of {@link #gather}: dy[dyAt + (o, qy0 + a − t, qx0 + b − u)] += cols[(o, t, u)·ld + at + (a, b)] inside dy. */
    static void scatterAdd(float[] cols, int ld, int at, int k, int oh, int ow, int th, int tw, int qy0, int qh, int qx0, int qw, float[] dy, int dyAt) {
        for (int o = 0, row = 0; o < k; o++)
            for (int t = 0; t < th; t++)
                for (int u = 0; u < tw; u++, row++)
                    for (int a = 0; a < qh; a++) {
                        int oy = qy0 + a - t, src = row * ld + at + a * qw;
                        if (oy < 0 || oy >= oh) continue;
                        int base = dyAt + (o * oh + oy) * ow + qx0 - u, b0 = Math.clamp(u - qx0, 0, qw), b1 = Math.clamp(ow + u - qx0, b0, qw);
                        for (int b = b0; b < b1; b++) dy[base + b] += cols[src + b];   // ox = qx0 + b − u inside dy
                    }
    }
}
