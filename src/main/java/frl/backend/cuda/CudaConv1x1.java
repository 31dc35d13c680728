package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.ConvGeometry;
import frl.backend.Shapes;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.bytedeco.cuda.global.cudart;

/**
 * The 1×1 stride-1 unpadded convolution for small channel counts (Glow's invertible 1×1, C = 12–48): hand-written
 * kernels (src/main/cuda/conv1x1.cu) with the weight in shared memory, one thread per pixel, loads and stores
 * coalesced over pixels. {@link CudaConv} calls these where {@link #applies} holds and they beat cuDNN.
 * CPU twin: CpuConv's 1×1 path (the image is its own column matrix).
 */
final class CudaConv1x1 {
    /** Largest channel count (in and out) the kernels take. */
    static final int MAX_CHANNELS = 64;
    private static final String FAMILY = "conv1x1";
    private static final Kernel APPLY_16 = new Kernel(FAMILY, "conv1x1_apply_16", "pppiiiii");
    private static final Kernel APPLY_32 = new Kernel(FAMILY, "conv1x1_apply_32", "pppiiiii");
    private static final Kernel APPLY_64 = new Kernel(FAMILY, "conv1x1_apply_64", "pppiiiii");
    private static final Kernel DW_PART = new Kernel(FAMILY, "conv1x1_dw_part", "pppiiiii");
    private static final Kernel SUM_PARTS = new Kernel(FAMILY, "conv1x1_sum_parts", "ppli");
    private static final Kernel ACTNORM_16 = new Kernel(FAMILY, "conv1x1_actnorm_apply_16", "pppppiiiii");
    private static final Kernel ACTNORM_32 = new Kernel(FAMILY, "conv1x1_actnorm_apply_32", "pppppiiiii");
    private static final Kernel ACTNORM_64 = new Kernel(FAMILY, "conv1x1_actnorm_apply_64", "pppppiiiii");
    private static final Kernel ACTNORM_DW_PART = new Kernel(FAMILY, "conv1x1_actnorm_dw_part", "pppppiiiii");
    private static final Kernel ACTNORM_SUMS = new Kernel(FAMILY, "conv1x1_actnorm_sums", "pppppiii");
    /** Must match conv1x1.cu: pixels per block and output channels per block of the apply kernels; pixels per dw step. */
    private static final int APPLY_THREADS = 128, APPLY_OUTS = 16, DW_THREADS = 256, DW_TILE = 32;
    private static final ConvGeometry ONE = ConvGeometry.of(1, 0);

    private CudaConv1x1() {}

    /** A 1×1 kernel, stride 1, no padding, 1 ≤ C, K ≤ 64, and fewer than 2³¹ pixels in the batch. */
    static boolean applies(Shape x, Shape w, ConvGeometry g) {
        return x.rank() == 4 && w.rank() == 4 && w.dim(2) == 1 && w.dim(3) == 1 && x.dim(1) == w.dim(1)
                && g.strideH() == 1 && g.strideW() == 1 && g.padH() == 0 && g.padW() == 0
                && w.dim(0) >= 1 && w.dim(0) <= MAX_CHANNELS && w.dim(1) >= 1 && w.dim(1) <= MAX_CHANNELS
                && (long) x.dim(0) * x.dim(2) * x.dim(3) < Integer.MAX_VALUE;
    }

    /** y [N,K,H,W]: y[n,k,p] = Σ_c w[k,c] · x[n,c,p]. */
    static Tensor forward(Tensor x, Tensor w) {
        Shape ys = Shapes.conv2d(x.shape(), w.shape(), ONE);
        require("conv1x1 forward", x.shape(), w.shape());
        Tensor y = CudaBackend.alloc(ys);
        apply(x, w, y, x.dim(1), w.dim(0), false);
        return y;
    }

    /** dx [N,C,H,W] = Wᵀ · dy per pixel. */
    static Tensor backwardInput(Tensor dy, Tensor w, Shape xShape) {
        Shapes.conv2dBackward(dy.shape(), xShape, w.shape(), ONE);
        require("conv1x1 backward input", xShape, w.shape());
        Tensor dx = CudaBackend.alloc(xShape);
        apply(dy, w, dx, w.dim(0), w.dim(1), true);
        return dx;
    }

    /**
     * dw [K,C,1,1] = Σ_{n,p} dy[n,·,p] · x[n,·,p]ᵀ: the pixels are cut into one fixed chunk per block, each block
     * sums its chunk in float, and the chunks are added in order in double, so the result is the same every run.
     */
    static Tensor backwardWeight(Tensor x, Tensor dy, Shape wShape) {
        Shapes.conv2dBackward(dy.shape(), x.shape(), wShape, ONE);
        require("conv1x1 backward weight", x.shape(), wShape);
        Tensor dw = CudaBackend.alloc(wShape);
        long pixels = (long) x.dim(0) * x.dim(2) * x.dim(3);
        if (pixels == 0) {
            Cuda.check(cudart.cudaMemsetAsync(new DevicePointer(dw.storage().address()), 0, dw.numel() * Float.BYTES, CudaContext.get().stream()),
                    "cudaMemsetAsync");
            return dw;
        }
        weightInParts(x, dy, dw, null, null);
        return dw;
    }

    /** dw by {@link #launchBackwardWeight}, the partial products (where more than one chunk) in scratch of this call's. */
    private static void weightInParts(Tensor x, Tensor dy, Tensor dw, Tensor bias, Tensor logs) {
        int parts = dwParts(x.shape())[0];
        if (parts == 1) launchBackwardWeight(x, dy, dw, 0L, x.shape(), dw.shape(), bias, logs);
        else
            try (Scope scope = Scope.open()) {
                long partial = CudaBackend.alloc(Shape.of(parts, (int) dw.numel())).storage().address();
                launchBackwardWeight(x, dy, dw, partial, x.shape(), dw.shape(), bias, logs);
            }
    }

    /** {parts, chunk}: the batch's pixels cut into one chunk (a multiple of DW_TILE) per block, at most one block per SM. */
    static int[] dwParts(Shape xs) {
        long pixels = (long) xs.dim(0) * xs.dim(2) * xs.dim(3);
        long blocks = Math.min(Kernel.multiprocessors(), Math.ceilDiv(pixels, DW_TILE));
        int chunk = (int) (Math.ceilDiv(Math.ceilDiv(pixels, blocks), DW_TILE) * DW_TILE);
        return new int[] {(int) Math.ceilDiv(pixels, chunk), chunk};
    }

    /**
     * The weight-gradient kernels over tensors or device addresses (pixels non-empty): the chunks of {@link #dwParts}
     * into dw directly, or into partial (parts · K·C floats) and then added in order, in double, into dw. With bias and
     * logs (not null), over x taken as (x + bias)·exp(logs), Glow's actnorm fused.
     */
    static void launchBackwardWeight(Object x, Object dy, Object dw, long partial, Shape xs, Shape ws, Object bias, Object logs) {
        int n = xs.dim(0), c = xs.dim(1), hw = xs.dim(2) * xs.dim(3), k = ws.dim(0);
        int[] pc = dwParts(xs);
        int parts = pc[0];
        Object out = parts == 1 ? dw : (Object) partial;
        if (bias == null) DW_PART.launch(parts, 1, 1, DW_THREADS, 1, 1, 0, x, dy, out, n, hw, c, k, pc[1]);
        else ACTNORM_DW_PART.launch(parts, 1, 1, DW_THREADS, 1, 1, 0, x, dy, out, bias, logs, n, hw, c, k, pc[1]);
        if (parts > 1) SUM_PARTS.launchN((long) k * c, partial, dw, (long) k * c, parts);
    }

    private static void apply(Tensor in, Tensor w, Tensor out, int inChannels, int outChannels, boolean transposed) {
        launchApply(in, w, out, in.dim(0), in.dim(2) * in.dim(3), inChannels, outChannels, transposed, null, null);
    }

    /**
     * out[n,o,p] = Σ_i M(o,i) · in[n,i,p] with M = w [O,I] or, transposed, w [I,O], over tensors or device addresses:
     * n images of hw pixels. With bias and logs (not null), Glow's actnorm fused: forward, each input taken as
     * (in + bias)·exp(logs); transposed, each output times exp(logs) of its channel (dx = s·Wᵀ·dy).
     */
    static void launchApply(Object in, Object w, Object out, int n, int hw, int inChannels, int outChannels, boolean transposed, Object bias,
                            Object logs) {
        long pixels = (long) n * hw;
        if (pixels == 0) return;
        int gx = (int) Math.min(Math.ceilDiv(pixels, APPLY_THREADS), 1 << 20), gy = Math.ceilDiv(outChannels, APPLY_OUTS);   // grid-stride beyond gx
        if (bias == null)
            (inChannels <= 16 ? APPLY_16 : inChannels <= 32 ? APPLY_32 : APPLY_64)
                    .launch(gx, gy, 1, APPLY_THREADS, 1, 1, 0, in, w, out, n, hw, inChannels, outChannels, transposed ? 1 : 0);
        else
            (inChannels <= 16 ? ACTNORM_16 : inChannels <= 32 ? ACTNORM_32 : ACTNORM_64)
                    .launch(gx, gy, 1, APPLY_THREADS, 1, 1, 0, in, w, out, bias, logs, n, hw, inChannels, outChannels, transposed ? 1 : 0);
    }

    // ---- Glow's actnorm and its 1×1 convolution in one pass (Backend#actNormConv1x1) ----------------------------------

    /**
     * -Dfrl.cuda.actNormConv=fused: Backend#actNormConv1x1 by the actnorm kernels below where the 1×1 kernels apply (one
     * launch forward, three backward, where the two layers take four and about ten); parts, the default: it passed its
     * tests on the H200 (2026-11-28) but has not been timed in a Glow there.
     */
    static boolean actNormFused() { return CudaFlags.oneOf("frl.cuda.actNormConv", "parts", "parts", "fused").equals("fused"); }

    /** y = conv2d((x + bias)·exp(logs), w), bias and logs [1,C,1,1] (shapes checked by the caller: applies, channels). */
    static Tensor actNormForward(Tensor x, Tensor bias, Tensor logs, Tensor w) {
        Tensor y = CudaBackend.alloc(Shapes.conv2d(x.shape(), w.shape(), ONE));
        launchApply(x, w, y, x.dim(0), x.dim(2) * x.dim(3), x.dim(1), w.dim(0), false, bias, logs);
        return y;
    }

    /** Its gradients: dx = s·Wᵀ·dy, then dbias and dlogs from dx (conv1x1_actnorm_sums), dw over (x + bias)·s. */
    static Backend.ActNormConvGrads actNormBackward(Tensor x, Tensor bias, Tensor logs, Tensor w, Tensor dy) {
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3), k = w.dim(0);
        Tensor dx = CudaBackend.alloc(x.shape()), dbias = CudaBackend.alloc(bias.shape()), dlogs = CudaBackend.alloc(logs.shape()), dw = CudaBackend.alloc(w.shape());
        launchApply(dy, w, dx, n, hw, k, c, true, bias, logs);
        launchActNormSums(x, dx, bias, dbias, dlogs, n, hw, c);
        weightInParts(x, dy, dw, bias, logs);
        return new Backend.ActNormConvGrads(dx, dbias, dlogs, dw);
    }

    /** dbias = Σ dx and dlogs = Σ dx·(x + bias) per channel, over tensors or device addresses (one block a channel). */
    static void launchActNormSums(Object x, Object dx, Object bias, Object dbias, Object dlogs, int n, int hw, int c) {
        ACTNORM_SUMS.launch(c, 1, 1, DW_THREADS, 1, 1, 0, x, dx, bias, dbias, dlogs, n, hw, c);
    }

    private static void require(String op, Shape x, Shape w) {
        if (!applies(x, w, ONE))
            throw new IllegalArgumentException(op + ": needs a 1×1 weight with 1 to " + MAX_CHANNELS + " input and output channels, got x " + x + " and w " + w);
    }
}
