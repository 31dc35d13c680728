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

/**
 * PixelCNN++'s shifted (causal) convolutions on the GPU, two ways: hand-written implicit-GEMM kernels with the
 * causal padding fused into their loads (src/main/cuda/masked_conv.cu), or the backend's own pad and cuDNN
 * convolution. With {@code -Dfrl.cuda.shifted=auto} (the default) the first call per (op, shift, shapes) times both
 * with CUDA events and keeps the faster; {@code kernel} or {@code cudnn} forces one. CPU twin: CpuConv's shifted
 * convolutions.
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
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3), k = w.dim(0), kh = w.dim(2), kw = w.dim(3);
        if (path == Path.CUDNN) {
            CudaBackend be = CudaBackend.instance();
            try (Scope scope = Scope.open()) {
                Tensor xp = padSpatial(be, x, s.top(kh), 0, s.left(kw), s.right(kw));
                return Scope.keep(be.conv2d(xp, w, ConvGeometry.of(1, 0)));
            }
        }
        Tensor y = CudaBackend.alloc(ys);
        if (y.numel() == 0) return y;
        FORWARD.launch(columnTiles(n, h, wd), Math.ceilDiv(k, TILE), 1, THREADS, 1, 1, 0,
                x, w, y, n, c, h, wd, k, kh, kw, s.top(kh), s.left(kw));
        return y;
    }

    static Tensor backwardInput(Tensor dy, Tensor w, Shape xShape, Shift s, Path path) {
        Shapes.shiftedConv2dBackward(dy.shape(), xShape, w.shape(), s);
        int n = xShape.dim(0), c = xShape.dim(1), h = xShape.dim(2), wd = xShape.dim(3), k = w.dim(0), kh = w.dim(2), kw = w.dim(3);
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
        if (dx.numel() == 0) return dx;
        BACKWARD_INPUT.launch(columnTiles(n, h, wd), Math.ceilDiv(c, TILE), 1, THREADS, 1, 1, 0,
                dy, w, dx, n, c, h, wd, k, kh, kw, s.top(kh), s.left(kw));
        return dx;
    }

    static Tensor backwardWeight(Tensor x, Tensor dy, Shape wShape, Shift s, Path path) {
        Shapes.shiftedConv2dBackward(dy.shape(), x.shape(), wShape, s);
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3), k = wShape.dim(0), kh = wShape.dim(2), kw = wShape.dim(3);
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
        long pixels = (long) n * h * wd;
        if (pixels == 0) return zero(dw);
        int taps = kh * kw;
        if (taps > 65535) throw new IllegalArgumentException("shiftedConv2dBackwardWeight: a " + kh + "×" + kw + " kernel has more taps than a grid has z-slices");
        int tiles = Math.ceilDiv(k, TILE) * Math.ceilDiv(c, TILE) * taps;
        // Split the pixels so that about two blocks per SM run; each split sums ≥ 256 pixels; grid z = taps · splits.
        long want = Math.ceilDiv(2L * CudaContext.get().multiprocessors(), tiles);
        long splits = Math.clamp(want, 1, Math.max(1, Math.min(pixels / 256, 65535 / taps)));
        long chunk = Math.ceilDiv(Math.ceilDiv(pixels, splits), STEP) * STEP;
        if (chunk > Integer.MAX_VALUE) throw new IllegalArgumentException("shiftedConv2dBackwardWeight: " + pixels + " pixels is too many for one call");
        int parts = (int) Math.ceilDiv(pixels, chunk);
        if (parts == 1) {
            BACKWARD_WEIGHT.launch(Math.ceilDiv(c, TILE), Math.ceilDiv(k, TILE), taps, THREADS, 1, 1, 0,
                    x, dy, dw, n, c, h, wd, k, kh, kw, s.top(kh), s.left(kw), (int) chunk);
            return dw;
        }
        try (Scope scope = Scope.open()) {
            Tensor partial = CudaBackend.alloc(Shape.of(parts, (int) dw.numel()));
            BACKWARD_WEIGHT.launch(Math.ceilDiv(c, TILE), Math.ceilDiv(k, TILE), taps * parts, THREADS, 1, 1, 0,
                    x, dy, partial, n, c, h, wd, k, kh, kw, s.top(kh), s.left(kw), (int) chunk);
            SUM_PARTS.launchN(dw.numel(), partial, dw, dw.numel(), parts);
        }
        return dw;
    }

    /** Grid x of the forward and backward-input kernels: one block per 64 pixels of the batch. */
    private static int columnTiles(int n, int h, int w) {
        long tiles = Math.ceilDiv((long) n * h * w, TILE);
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
