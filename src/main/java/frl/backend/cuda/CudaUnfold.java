package frl.backend.cuda;

import frl.backend.ConvGeometry;
import frl.backend.Shapes;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.util.Map;
import java.util.function.Consumer;

/**
 * Convolutions as unfolded GEMMs on the GPU ({@link UnfoldPlans} over CudaSubPixel's steps, kernels in
 * src/main/cuda/unfold.cu): a third way beside cuDNN and the sub-pixel GEMMs, which CudaConv times per op and shape
 * under -Dfrl.cuda.unfold (cudnn, the other ways, until a GPU has run it). cuDNN ran the VAE's middle convolutions at
 * 1–15 TFLOP/s on the H200; there a GEMM of 256 × 1,024 outputs over 2,048 terms, split in 8, fills the SMs.
 */
final class CudaUnfold {
    private CudaUnfold() {}

    private static final String FAMILY = "unfold";
    static final Kernel IM2COL = new Kernel(FAMILY, "unfold_im2col", "ppa");
    static final Kernel COL2IM = new Kernel(FAMILY, "unfold_col2im", "ppa");
    static final Kernel ROWS_TO_NCHW = new Kernel(FAMILY, "unfold_rows_to_nchw", "ppia");
    static final Kernel NCHW_TO_ROWS = new Kernel(FAMILY, "unfold_nchw_to_rows", "ppa");

    /** The choice between this path and the others (cuDNN, or the sub-pixel GEMMs where they apply), per op and shape. */
    static final FasterPath CHOICE = new FasterPath("frl.cuda.unfold", "cudnn");

    static boolean applies(Shape x, Shape w, ConvGeometry g) { return UnfoldPlans.applies(x, w, g); }

    static Tensor conv2d(Tensor x, Tensor w, ConvGeometry g) {
        Tensor y = CudaBackend.alloc(Shapes.conv2d(x.shape(), w.shape(), g));
        run("conv2d", x.shape(), w.shape(), g, d -> UnfoldPlans.conv2d(CudaSubPixel.GPU, d, at(x), at(w), at(y)));
        return y;
    }

    static Tensor backwardInput(Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        Shapes.conv2dBackward(dy.shape(), xShape, w.shape(), g);
        Tensor dx = CudaBackend.alloc(xShape);
        UnfoldPlans.backwardInput(CudaSubPixel.GPU, UnfoldPlans.Dims.of(xShape, w.shape(), g, false), at(dy), at(w), at(dx)); // nothing to split
        return dx;
    }

    static Tensor backwardWeight(Tensor x, Tensor dy, Shape wShape, ConvGeometry g) {
        Shapes.conv2dBackward(dy.shape(), x.shape(), wShape, g);
        Tensor dw = CudaBackend.alloc(wShape);
        run("backwardWeight", x.shape(), wShape, g, d -> UnfoldPlans.backwardWeight(CudaSubPixel.GPU, d, at(x), at(dy), at(dw)));
        return dw;
    }

    /** Under -Dfrl.cuda.splitK=auto, whether each op and shape sums in chunks: both ways timed at its first call. */
    private static final TimedChoices<Boolean> SPLITS = new TimedChoices<>();

    static Map<String, Boolean> splitChoices() { return SPLITS.snapshot(); }

    /**
     * A plan whole or in chunks as -Dfrl.cuda.splitK says (auto: the faster for this op and shape, one warm-up and the
     * median of 3 each). The plans write their outputs whole, so a timed run leaves nothing the last does not overwrite.
     */
    private static void run(String op, Shape x, Shape w, ConvGeometry g, Consumer<UnfoldPlans.Dims> plan) {
        boolean split = SPLITS.fastest(() -> op + " x" + x + " w" + w + " " + g, SubPixelPlans.splitK().candidates(),
                s -> plan.accept(UnfoldPlans.Dims.of(x, w, g, s)));
        plan.accept(UnfoldPlans.Dims.of(x, w, g, split));
    }

    private static long at(Tensor t) { return t.storage().address(); }
}
