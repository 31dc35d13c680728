package frl.backend.cuda;

import frl.backend.ConvGeometry;
import frl.backend.ConvGeometry.Phase;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.bytedeco.cuda.global.cudart;

/**
 * The three ops of a strided convolution whose stride divides its kernel, as cuBLAS GEMMs per phase of the large
 * tensor x [N,C,H,W] (its pixel y = q·s + r − pad only meets the taps i = r + s·t, against row q − t of the small
 * tensor dy [N,K,OH,OW]); src/main/cuda/subpixel.cu gathers and scatters. With W_r [C, K·T²] the phase's taps:
 * <ul>
 *   <li>{@link #backwardInput} (a transposed convolution): dx_r[img] = W_r · cols_r[img], strided batched over
 *       the images, cols_r the gathered dy, scattered into dx;</li>
 *   <li>{@link #conv2d}: out_r[img] = W_rᵀ · x_r[img] likewise, x_r the gathered phase pixels; one kernel sums
 *       every phase's and tap's share of each output pixel (no atomics);</li>
 *   <li>{@link #backwardWeight}: dW_r = x_r · cols_rᵀ, one GEMM over all images (image index outside the pixel),
 *       its phases put back into dw's taps.</li>
 * </ul>
 * CPU twin of the first: frl.backend.cpu.SubPixel, same decomposition. For the VAE's last decoder layer (64→1024
 * channels, 16→32) cuDNN ran these at 17–24 TFLOP/s on the H100 (FMA math), cuBLAS reached 48 on 2048³. CudaConv takes them
 * only under -Dfrl.cuda.subpixel=auto|kernel until a GPU run has checked and timed them.
 */
final class CudaSubPixel {
    private static final String FAMILY = "subpixel";
    private static final Kernel SPLIT = new Kernel(FAMILY, "subpixel_split_weights", "ppiiiiii");
    private static final Kernel UNSPLIT = new Kernel(FAMILY, "subpixel_unsplit_weights", "ppiiiiii");
    private static final Kernel GATHER = new Kernel(FAMILY, "subpixel_gather", "ppiiiiiiiiiill");
    private static final Kernel SCATTER = new Kernel(FAMILY, "subpixel_scatter", "ppiiiiiiiiiiiiii");
    private static final Kernel GATHER_PIXELS = new Kernel(FAMILY, "subpixel_gather_pixels", "ppiiiiiiiiiiiiiill");
    private static final Kernel SUM = new Kernel(FAMILY, "subpixel_sum_phases", "ppiiiiiiiilaa");

    private CudaSubPixel() {}

    /**
     * x [N,C,H,W] and w [K,C,kh,kw] non-empty, a stride of at most 16 (subpixel_sum_phases takes the phases'
     * ranges in two FrlInts) that divides the kernel (4×4 stride 2, say), and more than 1 somewhere.
     */
    static boolean applies(Shape x, Shape w, ConvGeometry g) {
        int sh = g.strideH(), sw = g.strideW();
        return x.rank() == 4 && w.rank() == 4 && (sh > 1 || sw > 1) && sh <= 16 && sw <= 16 && w.dim(2) % sh == 0 && w.dim(3) % sw == 0
                && x.numel() > 0 && w.numel() > 0
                // the weight gradient's GEMM sums over n·q pixels, an int for cuBLAS
                && (long) x.dim(0) * Math.ceilDiv(x.dim(2), sh) * Math.ceilDiv(x.dim(3), sw) <= Integer.MAX_VALUE;
    }

    /** The sizes of a call: x [n,c,h,w] the large tensor, w [k,c,kh,kw], dy [n,k,oh,ow]; th × tw taps per phase (tests share it). */
    record Dims(int n, int c, int h, int w, int k, int kh, int kw, int oh, int ow, ConvGeometry g) {
        static Dims of(Shape x, Shape wt, ConvGeometry g) {
            return new Dims(x.dim(0), x.dim(1), x.dim(2), x.dim(3), wt.dim(0), wt.dim(2), wt.dim(3), g.outH(x.dim(2), wt.dim(2)),
                    g.outW(x.dim(3), wt.dim(3)), g);
        }

        int sh() { return g.strideH(); }

        int sw() { return g.strideW(); }

        int th() { return kh / sh(); }

        int tw() { return kw / sw(); }

        /** Rows of cols_r: (o, t, u). */
        int depth() { return k * th() * tw(); }

        /** Pixels of the largest phase. */
        int qMax() { return Math.ceilDiv(h, sh()) * Math.ceilDiv(w, sw()); }

        java.util.List<Phase> phases() { return g.subPixelPhases(h, w); }

        /** Where W_r [c, depth] starts in the split weights [sh·sw, c, depth] at {@code base}. */
        long weights(long base, Phase p) { return base + 4L * (p.ry() * sw() + p.rx()) * c * depth(); }

        long splitBytes() { return 4L * sh() * sw() * c * depth(); }

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

    /** dy [N,K,OH,OW], w [K,C,kh,kw] → dx of shape xShape [N,C,H,W] (shapes already checked, applies). */
    static Tensor backwardInput(Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        Dims d = Dims.of(xShape, w.shape(), g);
        Tensor dx = CudaBackend.alloc(xShape);
        CudaContext ctx = CudaContext.get();
        try (DeviceStorage phases = new DeviceStorage(ctx, d.splitBytes());
             DeviceStorage cols = new DeviceStorage(ctx, 4L * d.n() * d.depth() * d.qMax());
             DeviceStorage part = new DeviceStorage(ctx, 4L * d.n() * d.c() * d.qMax())) {
            SPLIT.launchN(w.numel(), w, phases.address(), d.k(), d.c(), d.kh(), d.kw(), d.sh(), d.sw());
            for (Phase p : d.phases()) {
                int q = p.q();
                gather(d, p, dy, cols.address(), (long) d.depth() * q, q);
                // part[img] [c, q] = W_r [c, depth] · cols[img] [depth, q], all images in one call
                CudaBlas.gemm(false, false, q, d.c(), d.depth(), cols.address(), q, (long) d.depth() * q, d.weights(phases.address(), p), d.depth(), 0,
                        part.address(), q, (long) d.c() * q, d.n());
                SCATTER.launchN((long) d.n() * d.c() * q, pixelArgs(d, p, part.address(), dx));
            }
        } // freed blocks are reused only by work queued after these kernels (one stream)
        return dx;
    }

    /** x [N,C,H,W] ⋆ w [K,C,kh,kw] → y [N,K,OH,OW] (shapes already checked, applies). */
    static Tensor conv2d(Tensor x, Tensor w, ConvGeometry g) {
        Dims d = Dims.of(x.shape(), w.shape(), g);
        Tensor y = CudaBackend.alloc(Shape.of(d.n(), d.k(), d.oh(), d.ow()));
        long slot = (long) d.n() * d.depth() * d.qMax();
        CudaContext ctx = CudaContext.get();
        try (DeviceStorage phases = new DeviceStorage(ctx, d.splitBytes());
             DeviceStorage part = new DeviceStorage(ctx, 4L * d.n() * d.c() * d.qMax());
             DeviceStorage outs = new DeviceStorage(ctx, 4L * d.sh() * d.sw() * slot)) {
            SPLIT.launchN(w.numel(), w, phases.address(), d.k(), d.c(), d.kh(), d.kw(), d.sh(), d.sw());
            for (Phase p : d.phases()) {
                int q = p.q();
                GATHER_PIXELS.launchN((long) d.n() * d.c() * q, pixelArgs(d, p, x, part.address(), (long) d.c() * q, (long) q));
                // outs_r[img] [depth, q] = W_rᵀ [depth, c] · part[img] [c, q], all images in one call
                CudaBlas.gemm(false, true, q, d.depth(), d.c(), part.address(), q, (long) d.c() * q, d.weights(phases.address(), p), d.depth(), 0,
                        outs.address() + 4L * (p.ry() * d.sw() + p.rx()) * slot, q, (long) d.depth() * q, d.n());
            }
            SUM.launchN(y.numel(), outs.address(), y, d.n(), d.k(), d.oh(), d.ow(), d.th(), d.tw(), d.sh(), d.sw(), slot,
                    d.ranges(true), d.ranges(false));
        }
        return y;
    }

    /** x [N,C,H,W], dy [N,K,OH,OW] → dw of shape wShape [K,C,kh,kw] (shapes already checked, applies). */
    static Tensor backwardWeight(Tensor x, Tensor dy, Shape wShape, ConvGeometry g) {
        Dims d = Dims.of(x.shape(), wShape, g);
        Tensor dw = CudaBackend.alloc(wShape);
        long most = (long) d.n() * d.qMax();
        CudaContext ctx = CudaContext.get();
        try (DeviceStorage phases = new DeviceStorage(ctx, d.splitBytes());
             DeviceStorage part = new DeviceStorage(ctx, 4L * d.c() * most);
             DeviceStorage cols = new DeviceStorage(ctx, 4L * d.depth() * most)) {
            // a phase that owns no pixel of x (x smaller than the stride) leaves its taps' gradient 0
            Cuda.check(cudart.cudaMemsetAsync(new DevicePointer(phases.address()), 0, d.splitBytes(), ctx.stream()), "cudaMemsetAsync(sub-pixel dw)");
            for (Phase p : d.phases()) {
                int q = p.q(), nq = d.n() * q;
                GATHER_PIXELS.launchN((long) nq * d.c(), pixelArgs(d, p, x, part.address(), (long) q, (long) nq)); // [c, n·q]
                gather(d, p, dy, cols.address(), q, nq);                                                            // [depth, n·q]
                // dW_r [c, depth] = part [c, n·q] · colsᵀ [n·q, depth]: every image and pixel summed by one GEMM
                CudaBlas.gemm(true, false, d.depth(), d.c(), nq, cols.address(), nq, 0, part.address(), nq, 0, d.weights(phases.address(), p),
                        d.depth(), 0, 1);
            }
            UNSPLIT.launchN(dw.numel(), phases.address(), dw, d.k(), d.c(), d.kh(), d.kw(), d.sh(), d.sw());
        }
        return dw;
    }

    /** cols[img·imgStride + (o, t, u)·rowStride + (a, b)] = dy[img, o, qy0 + a − t, qx0 + b − u], 0 outside dy. */
    private static void gather(Dims d, Phase p, Tensor dy, long cols, long imgStride, long rowStride) {
        GATHER.launchN((long) d.n() * d.depth() * p.q(), dy, cols, d.n(), d.k(), d.oh(), d.ow(), d.th(), d.tw(), p.qy0(), p.qh(), p.qx0(), p.qw(),
                imgStride, rowStride);
    }

    /** The arguments of subpixel_scatter and subpixel_gather_pixels: source, destination, the phase's place in x, then {@code more}. */
    private static Object[] pixelArgs(Dims d, Phase p, Object from, Object to, Object... more) {
        Object[] head = {from, to, d.n(), d.c(), d.h(), d.w(), p.qy0(), p.qh(), p.qx0(), p.qw(), d.sh(), d.sw(), p.ry(), p.rx(), d.g().padH(), d.g().padW()};
        Object[] all = java.util.Arrays.copyOf(head, head.length + more.length);
        System.arraycopy(more, 0, all, head.length, more.length);
        return all;
    }
}
