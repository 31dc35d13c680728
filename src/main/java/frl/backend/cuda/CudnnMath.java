package frl.backend.cuda;

import java.util.List;

/**
 * How cuDNN's convolutions multiply (CudaConv): in FP32 FMA, or in 3xTF32, on TF32 tensor cores over parts that TF32
 * holds exactly, side by side along the summed axis (float32's accuracy class, as SubPixelPlans.Gemm.TF32X3).
 */
enum CudnnMath {
    FMA, TF32X3;

    /**
     * -Dfrl.cuda.cudnnMath = fma (the default until a GPU has run the parts), 3xtf32, or auto: both, the faster kept
     * per op and shape at its first call.
     */
    static List<CudnnMath> allowed() {
        return switch (CudaFlags.oneOf("frl.cuda.cudnnMath", "fma", "fma", "3xtf32", "auto")) {
            case "3xtf32" -> List.of(TF32X3);
            case "auto" -> List.of(FMA, TF32X3);
            default -> List.of(FMA);
        };
    }
}
