package frl.backend.cuda;

import java.util.List;

/**
 * How cuDNN's convolutions multiply (CudaConv): in FP32 FMA, or in 3xTF32, on TF32 tensor cores over parts that TF32
 * holds exactly, side by side along the summed axis (float32's accuracy class, as SubPixelPlans.Gemm.TF32X3).
 */
enum CudnnMath {
    FMA, TF32X3;

    /**
     * Where both may run, the parts must take less than this share of FMA's time, op by op: their split passes and operands
     * three times as large cost a whole step more than the op's own time shows (on the H200, 2026-11-28, taking each op
     * that was faster at all on parts made cifar training 0.96×, while PixelCNN++ gained 1.13×; with this margin, 1.02×).
     */
    static final float PARTS_MARGIN = 0.9f;

    /**
     * -Dfrl.cuda.cudnnMath = auto (the default: both, timed per op and shape at its first call, parts where
     * {@link #PARTS_MARGIN} faster), fma or 3xtf32.
     */
    static List<CudnnMath> allowed() {
        return switch (CudaFlags.oneOf("frl.cuda.cudnnMath", "auto", "fma", "3xtf32", "auto")) {
            case "3xtf32" -> List.of(TF32X3);
            case "auto" -> List.of(FMA, TF32X3);
            default -> List.of(FMA);
        };
    }
}
