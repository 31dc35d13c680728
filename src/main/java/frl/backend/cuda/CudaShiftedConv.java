package frl.backend.cuda;

import frl.backend.ConvGeometry;
import frl.backend.Shapes;
import frl.backend.Shift;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.bytedeco.cuda.global.cudart;

import frl.backend.cuda.FasterPath.Path;

import java.util.Map;
import java.util.function.Function;
import java.util.function.LongConsumer;

/**
 * PixelCNN++'s shifted (causal) convolutions on the GPU, two ways: hand-written implicit-GEMM kernels with the
 * causal padding fused into their loads (src/main/cuda/masked_conv.cu in FP32 FMA, or on TF32 tensor cores in 3xTF32,
 * shifted_mma.cu, under -Dfrl.cuda.shiftedKernel=mma), or the backend's own pad and cuDNN convolution (in the math of
 * -Dfrl.cuda.cudnnMath). With {@code -Dfrl.cuda.shifted=auto} (the default) the first call per (op, shift, shapes)
 * times both with CUDA events and keeps the faster; {@code kernel} or {@code cudnn} forces one. CPU twin: CpuConv's
 * shifted convolutions.
 *
 * <p>The cuDNN path: forward pads x (kh−1 rows on top, the shift's columns) and runs a valid convolution. The
 * backward ops use that the shifted output is the top-left H×W corner of a symmetric convolution with padding
 * (kh−1, left): dy zero-padded at the bottom and right to that convolution's output is its gradient, so each op
 * is one pad and one cuDNN call.
 */
final class CudaShiftedConv {
    private static final String FAMILY = "masked_conv";
    private static final Kernel FORWARD = new Kernel(FAMILY, "shifted_fwd", "pppiiiiiiiii");
    private static final Kernel BACKWARD_INPUT = new Kernel(FAMILY, "shifted_bwd_input", "pppiiiiiiiii");
    private static final Kernel BACKWARD_WEIGHT = new Kernel(FAMILY, "shifted_bwd_weight", "pppiiiiiiiiii");
    private static final Kernel SUM_PARTS = new Kernel(FAMILY, "shifted_sum_parts", "ppli");
    /** Tile of the kernels (64 rows × 64 columns, 256 threads) and their reduction step. */
    private static final int TILE = 64, STEP = 16, THREADS = 256;
    /** The three on TF32 tensor cores in 3xTF32 (src/main/cuda/shifted_mma.cu). */
    private static final Kernel MMA_FORWARD = new Kernel("shifted_mma", "shifted_mma_fwd", "pppiiiiiiiiii");
    private static final Kernel MMA_BACKWARD_INPUT = new Kernel("shifted_mma", "shifted_mma_bwd_input", "pppiiiiiiiiii");
    private static final Kernel MMA_FORWARD_ELU = new Kernel("shifted_mma", "shifted_mma_fwd_elu", "pppiiiiiiiiii");
    private static final Kernel MMA_BACKWARD_WEIGHT = new Kernel("shifted_mma", "shifted_mma_bwd_weight", "pppiiiiiiiiii");
    /** Their tiles: 128 pixels × 80 channels (forward, input gradient), 80 × 80 channels (weight gradient, 320 threads). */
    private static final int MMA_PIXELS = 128, MMA_CHANNELS = 80, MMA_WEIGHT_THREADS = 320;
    private static final FasterPath CHOOSER = new FasterPath("frl.cuda.shifted");

    private CudaShiftedConv() {}

    // ---- the backend ops: the path chosen by timing, or forced ----------------------------------------

    static Tensor forward(Tensor x, Tensor w, Shift s) {
        Shapes.shiftedConv2d(x.shape(), w.shape(), s);
        return run("forward", s, x.shape(), w.shape(), p -> forward(x, w, s, p));
    }

    static Tensor backwardInput(Tensor dy, Tensor w, Shape xShape, Shift s) {
        Shapes.shiftedConv2dBackward(dy.shape(), xShape, w.shape(), s);
        return run("backwardInput", s, xShape, w.shape(), p -> backwardInput(dy, w, xShape, s, p));
    }

    static Tensor backwardWeight(Tensor x, Tensor dy, Shape wShape, Shift s) {
        Shapes.shiftedConv2dBackward(dy.shape(), x.shape(), wShape, s);
        return run("backwardWeight", s, x.shape(), wShape, p -> backwardWeight(x, dy, wShape, s, p));
    }

    /** The choices made so far, by "op SHIFT x[..] w[..]" (sorted, a copy). */
    static Map<String, FasterPath.Choice> choices() { return CHOOSER.choices(); }

    static Path forced() { return CHOOSER.forced(); }

    private static Tensor run(String op, Shift s, Shape x, Shape w, Function<Path, Tensor> body) {
        return CHOOSER.run(() -> op + " " + s + " x" + x + " w" + w, body);
    }

    // ---- each path (package-private: the GPU test and the benchmark call them directly) ----------------

    static Tensor forward(Tensor x, Tensor w, Shift s, Path path) {
        Shape ys = Shapes.shiftedConv2d(x.shape(), w.shape(), s);
        int kh = w.dim(2), kw = w.dim(3);
        if (path == Path.CUDNN) {
            CudaBackend be = CudaBackend.instance();
            try (Scope scope = Scope.open()) {
                Tensor xp = padSpatial(be, x, s.top(kh), 0, s.left(kw), s.right(kw));
                return Scope.keep(be.conv2d(xp, w, ConvGeometry.of(1, 0)));
            }
        }
        Tensor y = CudaBackend.alloc(ys);
        if (y.numel() > 0) {
            boolean tensorCores = tensorCores();
            withScratch(tensorCores ? reductionParts(x.shape(), ys.dim(1), x.dim(1), kh * kw)[0] : 1, y.numel(),
                    partial -> launchForward(x, w, y, partial, x.shape(), w.shape(), s, tensorCores));
        }
        return y;
    }

    /**
     * Backend#shiftedConv2dOfConcatElu on tensor cores: the forward kernel taking elu(±x) as it loads x, timed against
     * concat-ELU then the cuDNN forward under -Dfrl.cuda.shifted (auto: the faster per shapes, as the forward's).
     */
    static Tensor forwardOfConcatElu(Tensor x, Tensor w, Shift s) {
        Shape cs = Shapes.doubledChannels(x.shape());
        Shapes.shiftedConv2d(cs, w.shape(), s);
        return run("forwardOfConcatElu", s, cs, w.shape(), p -> forwardOfConcatElu(x, w, s, p));
    }

    /** The same by one path: the tensor-core kernel (KERNEL), or concat-ELU then the cuDNN forward. */
    static Tensor forwardOfConcatElu(Tensor x, Tensor w, Shift s, Path path) {
        Shape cs = Shapes.doubledChannels(x.shape()), ys = Shapes.shiftedConv2d(cs, w.shape(), s);
        if (path == Path.CUDNN)
            try (Tensor c = CudaBackend.instance().concatElu(x)) {
                return forward(c, w, s, Path.CUDNN);
            }
        Tensor y = CudaBackend.alloc(ys);
        if (y.numel() > 0)
            withScratch(reductionParts(cs, ys.dim(1), cs.dim(1), w.dim(2) * w.dim(3))[0], y.numel(), partial -> launchForwardOfConcatElu(x, w, y, partial, x.shape(), w.shape(), s));
        return y;
    }

    /** The tensor-core forward of concatElu(x) over tensors or device addresses: x [N,C,H,W], w [K,2C,kh,kw], y [N,K,H,W] (non-empty), in parts as the forward. */
    static void launchForwardOfConcatElu(Object x, Object w, Object y, long partial, Shape xs, Shape ws, Shift s) {
        Shape cs = Shapes.doubledChannels(xs);
        launchMma(MMA_FORWARD_ELU, x, w, y, partial, cs, ws, s, ws.dim(0), cs.dim(1));
    }

    /**
     * A tensor-core kernel shaped as the forward (shifted_mma_fwd, _fwd_elu, _bwd_input) for the convolution whose input
     * is xs [N,C,H,W]: grid x its pixel tiles, y the tiles of its {@code rows} output channels, z the {@link #reductionParts}
     * of its sum over {@code reduced} channels, written into out, or in several parts into partial and summed in order into out.
     */
    private static void launchMma(Kernel kernel, Object src, Object w, Object out, long partial, Shape xs, Shape ws, Shift s, int rows, int reduced) {
        int n = xs.dim(0), c = xs.dim(1), h = xs.dim(2), wd = xs.dim(3), k = ws.dim(0), kh = ws.dim(2), kw = ws.dim(3);
        int[] pp = reductionParts(xs, rows, reduced, kh * kw);
        kernel.launch(pixelTiles(n, h, wd, MMA_PIXELS), Math.ceilDiv(rows, MMA_CHANNELS), pp[0], THREADS, 1, 1, 0, src, w, pp[0] == 1 ? out : (Object) partial,
                n, c, h, wd, k, kh, kw, s.top(kh), s.left(kw), pp[1]);
        sumParts(partial, out, (long) n * rows * h * wd, pp[0]);
    }

    /**
     * -Dfrl.cuda.shiftedKernel: the hand-written kernels in FP32 FMA (fma, masked_conv.cu, the default until a GPU has run
     * the other) or on TF32 tensor cores in 3xTF32 (mma, shifted_mma.cu).
     */
    static boolean tensorCores() { return CudaFlags.oneOf("frl.cuda.shiftedKernel", "fma", "fma", "mma").equals("mma"); }

    /**
     * Whether a 1×1 stride-1 unpadded convolution of x [N,C,H,W] by w [K,C,1,1] runs on these kernels too, as a shifted
     * one with nothing to shift: under -Dfrl.cuda.shiftedKernel=mma (the FMA kernels' 64×64 tiles are not for it).
     */
    static boolean takesOneByOne(Shape xs, Shape ws, ConvGeometry g) {
        return tensorCores() && xs.rank() == 4 && ws.rank() == 4 && ws.dim(2) == 1 && ws.dim(3) == 1 && xs.dim(1) == ws.dim(1)
                && g.strideH() == 1 && g.strideW() == 1 && g.padH() == 0 && g.padW() == 0;
    }

    /**
     * The forward kernel over tensors or device addresses: y [N,K,H,W] from x [N,C,H,W] and w [K,C,kh,kw] (non-empty).
     * On tensor cores in {@link #reductionParts} parts: into partial (parts · y's floats; 0 for one part), then summed in
     * order into y.
     */
    static void launchForward(Object x, Object w, Object y, long partial, Shape xs, Shape ws, Shift s, boolean tensorCores) {
        int n = xs.dim(0), c = xs.dim(1), h = xs.dim(2), wd = xs.dim(3), k = ws.dim(0), kh = ws.dim(2), kw = ws.dim(3);
        if (tensorCores) launchMma(MMA_FORWARD, x, w, y, partial, xs, ws, s, k, c);
        else FORWARD.launch(pixelTiles(n, h, wd, TILE), Math.ceilDiv(k, TILE), 1, THREADS, 1, 1, 0, x, w, y, n, c, h, wd, k, kh, kw, s.top(kh), s.left(kw));
    }

    /**
     * {parts, per} of the tensor-core forward and input gradient, whose reduction runs in stages of one tap and 16 of the
     * {@code reduced} channels: one part where the pixel and channel tiles fill the GPU once with two blocks an SM,
     * else as many parts of {@code per} stages (at least 4) as fill it; grid z = parts.
     */
    static int[] reductionParts(Shape xs, int rows, int reduced, int taps) {
        long tiles = Math.ceilDiv((long) xs.dim(0) * xs.dim(2) * xs.dim(3), MMA_PIXELS) * Math.ceilDiv(rows, MMA_CHANNELS);
        int stages = taps * Math.ceilDiv(reduced, STEP);
        int parts = (int) Math.clamp(2L * Kernel.multiprocessors() / Math.max(1, tiles), 1, Math.max(1, stages / 4));
        int per = Math.max(1, Math.ceilDiv(stages, parts));
        return new int[] {Math.max(1, Math.ceilDiv(stages, per)), per};   // no stages (no channels to sum): one part that writes zeros
    }

    /** Where there are several parts, out[i] = Σ_s partial[s·n + i] in order (masked_conv.cu's shifted_sum_parts). */
    private static void sumParts(long partial, Object out, long n, int parts) {
        if (parts > 1) SUM_PARTS.launchN(n, partial, out, n, parts);
    }

    /** Runs launch with device scratch for {@code parts} partial results of {@code floats} each; 0 where one part writes the result. */
    private static void withScratch(int parts, long floats, LongConsumer launch) {
        if (parts == 1) {
            launch.accept(0L);
            return;
        }
        try (Scope scope = Scope.open()) {
            launch.accept(CudaBackend.alloc(Shape.of(parts, Math.toIntExact(floats))).storage().address());
        }
    }

    static Tensor backwardInput(Tensor dy, Tensor w, Shape xShape, Shift s, Path path) {
        Shapes.shiftedConv2dBackward(dy.shape(), xShape, w.shape(), s);
        int h = xShape.dim(2), wd = xShape.dim(3), kh = w.dim(2), kw = w.dim(3);
        if (path == Path.CUDNN) {
            CudaBackend be = CudaBackend.instance();
            ConvGeometry g = symmetric(s, kh, kw);
            Shape full = Shapes.conv2d(xShape, w.shape(), g);
            try (Scope scope = Scope.open()) {
                Tensor dyFull = padSpatial(be, dy, 0, full.dim(2) - h, 0, full.dim(3) - wd);
                return Scope.keep(be.conv2dBackwardInput(dyFull, w, xShape, g));
            }
        }
        Tensor dx = CudaBackend.alloc(xShape);
        if (dx.numel() > 0) {
            boolean tensorCores = tensorCores();
            withScratch(tensorCores ? reductionParts(xShape, xShape.dim(1), w.dim(0), kh * kw)[0] : 1, dx.numel(),
                    partial -> launchBackwardInput(dy, w, dx, partial, xShape, w.shape(), s, tensorCores));
        }
        return dx;
    }

    /** The input-gradient kernel over tensors or device addresses: dx [N,C,H,W] from dy [N,K,H,W] and w (non-empty), in parts as the forward. */
    static void launchBackwardInput(Object dy, Object w, Object dx, long partial, Shape xs, Shape ws, Shift s, boolean tensorCores) {
        int n = xs.dim(0), c = xs.dim(1), h = xs.dim(2), wd = xs.dim(3), k = ws.dim(0), kh = ws.dim(2), kw = ws.dim(3);
        if (tensorCores) launchMma(MMA_BACKWARD_INPUT, dy, w, dx, partial, xs, ws, s, c, k);
        else BACKWARD_INPUT.launch(pixelTiles(n, h, wd, TILE), Math.ceilDiv(c, TILE), 1, THREADS, 1, 1, 0, dy, w, dx, n, c, h, wd, k, kh, kw, s.top(kh), s.left(kw));
    }

    static Tensor backwardWeight(Tensor x, Tensor dy, Shape wShape, Shift s, Path path) {
        Shapes.shiftedConv2dBackward(dy.shape(), x.shape(), wShape, s);
        int n = x.dim(0), h = x.dim(2), wd = x.dim(3), kh = wShape.dim(2), kw = wShape.dim(3);
        if (path == Path.CUDNN) {
            CudaBackend be = CudaBackend.instance();
            ConvGeometry g = symmetric(s, kh, kw);
            Shape full = Shapes.conv2d(x.shape(), wShape, g);
            try (Scope scope = Scope.open()) {
                Tensor dyFull = padSpatial(be, dy, 0, full.dim(2) - h, 0, full.dim(3) - wd);
                return Scope.keep(be.conv2dBackwardWeight(x, dyFull, wShape, g));
            }
        }
        Tensor dw = CudaBackend.alloc(wShape);
        if (dw.numel() == 0) return dw;
        if ((long) n * h * wd == 0) return zero(dw);
        boolean tensorCores = tensorCores();
        withScratch(weightParts(x.shape(), wShape, tensorCores)[0], dw.numel(), partial -> launchBackwardWeight(x, dy, dw, partial, x.shape(), wShape, s, tensorCores));
        return dw;
    }

    /**
     * {parts, chunk}: the pixels split so that about two blocks per SM run, each part summing at least 256 of them
     * (a multiple of the reduction step); grid z = taps · parts.
     */
    static int[] weightParts(Shape xs, Shape ws, boolean tensorCores) {
        long pixels = (long) xs.dim(0) * xs.dim(2) * xs.dim(3);
        int taps = ws.dim(2) * ws.dim(3), c = xs.dim(1), k = ws.dim(0), tile = tensorCores ? MMA_CHANNELS : TILE;
        if (taps > 65535) throw new IllegalArgumentException("shiftedConv2dBackwardWeight: a " + ws.dim(2) + "×" + ws.dim(3) + " kernel has more taps than a grid has z-slices");
        int tiles = Math.ceilDiv(k, tile) * Math.ceilDiv(c, tile) * taps;
        long want = Math.ceilDiv(2L * Kernel.multiprocessors(), tiles);
        long splits = Math.clamp(want, 1, Math.max(1, Math.min(pixels / 256, 65535 / taps)));
        long chunk = Math.ceilDiv(Math.ceilDiv(pixels, splits), STEP) * STEP;
        if (chunk > Integer.MAX_VALUE) throw new IllegalArgumentException("shiftedConv2dBackwardWeight: " + pixels + " pixels is too many for one call");
        return new int[] {(int) Math.ceilDiv(pixels, chunk), (int) chunk};
    }

    /**
     * The weight-gradient kernels over tensors or device addresses (x, dy and their pixels non-empty): the parts of
     * {@link #weightParts} into dw directly, or into partial (parts · dw's floats) and then summed in order into dw.
     */
    static void launchBackwardWeight(Object x, Object dy, Object dw, long partial, Shape xs, Shape ws, Shift s, boolean tensorCores) {
        int n = xs.dim(0), c = xs.dim(1), h = xs.dim(2), wd = xs.dim(3), k = ws.dim(0), kh = ws.dim(2), kw = ws.dim(3), taps = kh * kw;
        int[] pc = weightParts(xs, ws, tensorCores);
        int parts = pc[0], chunk = pc[1];
        Object out = parts == 1 ? dw : (Object) partial;
        if (tensorCores) MMA_BACKWARD_WEIGHT.launch(Math.ceilDiv(c, MMA_CHANNELS), Math.ceilDiv(k, MMA_CHANNELS), taps * parts, MMA_WEIGHT_THREADS, 1, 1, 0, x, dy,
                out, n, c, h, wd, k, kh, kw, s.top(kh), s.left(kw), chunk);
        else BACKWARD_WEIGHT.launch(Math.ceilDiv(c, TILE), Math.ceilDiv(k, TILE), taps * parts, THREADS, 1, 1, 0, x, dy, out, n, c, h, wd, k, kh, kw, s.top(kh),
                s.left(kw), chunk);
        sumParts(partial, dw, ws.numel(), parts);
    }

    /** Grid x of the forward and backward-input kernels: one block per {@code tile} pixels of the batch. */
    private static int pixelTiles(int n, int h, int w, int tile) {
        long tiles = Math.ceilDiv((long) n * h * w, tile);
        if (tiles > Integer.MAX_VALUE) throw new IllegalArgumentException("shifted conv: " + (long) n * h * w + " pixels is too many for one call");
        return (int) tiles;
    }

    /** The symmetric convolution whose top-left H×W output corner is the shifted convolution. */
    static ConvGeometry symmetric(Shift s, int kh, int kw) { return new ConvGeometry(1, 1, s.top(kh), s.left(kw)); }

    /** Zero-pads the spatial axes of [N,C,H,W] (the tensor itself when there is nothing to add). */
    private static Tensor padSpatial(CudaBackend be, Tensor t, int top, int bottom, int left, int right) {
        if (top == 0 && bottom == 0 && left == 0 && right == 0) return t;
        return be.pad(t, new int[] {0, 0, top, left}, new int[] {0, 0, bottom, right}, 0);
    }

    private static Tensor zero(Tensor t) {
        CudaContext ctx = CudaContext.get();
        Cuda.check(cudart.cudaMemsetAsync(new DevicePointer(t.storage().address()), 0, t.numel() * Float.BYTES, ctx.stream()), "cudaMemsetAsync");
        return t;
    }
}
