package frl.backend.cuda;

import frl.backend.ConvGeometry;
import frl.backend.Shapes;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.util.Map;

/**
 * Convolutions as unfolded GEMMs on the GPU ({@link UnfoldPlans} over CudaSubPixel's steps, kernels in
 * src/main/cuda/unfold.cu): a third way beside cuDNN and the sub-pixel GEMMs, which CudaConv times per op and shape
 * under -Dfrl.cuda.unfold (cudnn, the other ways, by default: as auto it made cifar training 0.97× on the H200). Its GEMMs run in SGEMM or 3xTF32 as
 * -Dfrl.cuda.gemm says (auto, the default: the faster per op and shape). cuDNN ran the VAE's middle convolutions at
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
        run("conv2d", x.shape(), w.shape(), g, true, (gemm, d) -> UnfoldPlans.conv2d(CudaSubPixel.GPU, gemm, d, at(x), at(w), at(y)));
        return y;
    }

    static Tensor backwardInput(Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        Shapes.conv2dBackward(dy.shape(), xShape, w.shape(), g);
        Tensor dx = CudaBackend.alloc(xShape);
        run("backwardInput", xShape, w.shape(), g, false, (gemm, d) -> UnfoldPlans.backwardInput(CudaSubPixel.GPU, gemm, d, at(dy), at(w), at(dx)));
        return dx;
    }

    static Tensor backwardWeight(Tensor x, Tensor dy, Shape wShape, ConvGeometry g) {
        Shapes.conv2dBackward(dy.shape(), x.shape(), wShape, g);
        Tensor dw = CudaBackend.alloc(wShape);
        run("backwardWeight", x.shape(), wShape, g, true, (gemm, d) -> UnfoldPlans.backwardWeight(CudaSubPixel.GPU, gemm, d, at(x), at(dy), at(dw)));
        return dw;
    }

    /** A plan in its GEMM arithmetic over its sizes. */
    private interface Plan { void run(SubPixelPlans.Gemm gemm, UnfoldPlans.Dims d); }

    /** Where more than one mode may run, the mode each op and shape took (SGEMM or 3xTF32, whole or in chunks). */
    private static final TimedChoices<CudaSubPixel.Mode> MODES = new TimedChoices<>();

    static Map<String, CudaSubPixel.Mode> modeChoices() { return MODES.snapshot(); }

    /**
     * A plan in the mode the switches allow, or the fastest for this op and shape (one warm-up and the median of 3 each):
     * -Dfrl.cuda.gemm (auto: SGEMM and 3xTF32), and where the plan can sum in chunks, -Dfrl.cuda.splitK. The plans
     * write their outputs whole, so a timed run leaves nothing the last does not overwrite.
     */
    private static void run(String op, Shape x, Shape w, ConvGeometry g, boolean splits, Plan plan) {
        CudaSubPixel.Mode m = MODES.fastest(() -> op + " x" + x + " w" + w + " " + g, CudaSubPixel.modes(false, splits),
                mode -> plan.run(mode.gemm(), UnfoldPlans.Dims.of(x, w, g, mode.splitK())));
        plan.run(m.gemm(), UnfoldPlans.Dims.of(x, w, g, m.splitK()));
    }

    private static long at(Tensor t) { return t.storage().address(); }
}
