package frl.backend;

import frl.tensor.Shape;
import frl.tensor.Tensor;

/**
 * The phase convolutions of {@link Backend} as their definitions: the NCHW op and a layout change. The float64
 * reference uses them, and a fast backend where its direct path does not apply.
 */
public final class PhasesByComposition {
    private PhasesByComposition() {}

    public static Tensor conv2dBackwardInputToPhases(Backend be, Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        Shapes.phases("conv2dBackwardInputToPhases", xShape, g);
        try (Tensor x = be.conv2dBackwardInput(dy, w, xShape, g)) { return be.toPhases(x, g); }
    }

    public static Tensor conv2dFromPhases(Backend be, Tensor xPhases, Tensor w, Shape xShape, ConvGeometry g) {
        Shapes.requirePhases("conv2dFromPhases", xPhases, xShape, g);
        try (Tensor x = be.fromPhases(xPhases, xShape, g)) { return be.conv2d(x, w, g); }
    }

    public static Tensor conv2dBackwardWeightFromPhases(Backend be, Tensor xPhases, Tensor dy, Shape xShape, Shape wShape, ConvGeometry g) {
        Shapes.requirePhases("conv2dBackwardWeightFromPhases", xPhases, xShape, g);
        try (Tensor x = be.fromPhases(xPhases, xShape, g)) { return be.conv2dBackwardWeight(x, dy, wShape, g); }
    }
}
