package frl.autograd;

import frl.backend.Backend;
import frl.backend.ConvGeometry;
import frl.backend.Shapes;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/** Losses on Vars. */
public final class Loss {
    private Loss() {}

    /** Per-element −log softmax(logits)[target] over the class axis; targets are constants. */
    public static Var crossEntropy(Var logits, Var targets, int axis) {
        Backend be = logits.backend();
        int a = logits.shape().axis(axis);
        return Var.result(be.crossEntropy(logits.value(), targets.value(), a), "crossEntropy",
                dy -> logits.accumulate(be.crossEntropyBackward(logits.value(), targets.value(), dy, a)), logits);
    }

    /**
     * −log p(x) per pixel [N, 1, H, W] under PixelCNN++'s discretised logistic mixture of the parameters
     * (Backend#mixtureNll): one op each way. x is data and takes no gradient.
     */
    public static Var mixtureNll(Var x, Var params, int mixtures) {
        if (x.requiresGrad()) throw new IllegalArgumentException("mixtureNll: the pixels x are data and take no gradient; pass a constant");
        Backend be = params.backend();
        return Var.result(be.mixtureNll(x.value(), params.value(), mixtures), "mixtureNll",
                dy -> params.accumulate(be.mixtureNllBackward(x.value(), params.value(), mixtures, dy)), params);
    }

    /**
     * crossEntropy(logits, targets, 2) for the logits [R, C, classes, N·Q] that the transposed convolution of x by w
     * (no bias, no output padding) gives in phases ({@link Linear#convTranspose2dToPhases}: [R, C·classes, N, Q]), the
     * C·classes output channels as C groups of classes; targets [R, C, N·Q]. Where x and w both take gradients, one
     * node whose backward is {@link Backend#crossEntropyOfPhasesBackward} (the same ops on a backend that does not fuse
     * them, so the same bits); else the two nodes.
     */
    public static Var crossEntropyOfPhases(Var x, Var w, ConvGeometry g, Var targets, int classes) {
        Backend be = x.backend();
        Shape out = Linear.convTransposeOutput(x.shape(), w.shape(), g, 0, 0), logitsShape = logitsShape(Shapes.phases("crossEntropyOfPhases", out, g), classes);
        if (!Var.recorded(x, w, targets) && be.fusesCrossEntropyOfPhases())   // scoring: the logits need not be stored
            return Var.constant(be.crossEntropyOfPhases(x.value(), w.value(), out, g, targets.value(), classes));
        if (!x.requiresGrad() || !w.requiresGrad()) {
            Var phases = Linear.convTranspose2dToPhases(x, w, null, g);
            return crossEntropy(Layout.reshape(phases, logitsShape.dims()), targets, 2);
        }
        Tensor[] lossAndPhases = be.crossEntropyOfPhasesAndLogits(x.value(), w.value(), out, g, targets.value(), classes);
        Tensor logits = lossAndPhases[1].reshape(logitsShape);
        return Var.result(lossAndPhases[0], "crossEntropyOfPhases", dy -> {
            Tensor[] grads = be.crossEntropyOfPhasesBackward(logits, targets.value(), dy, 2, w.value(), x.value(), out, g);
            x.accumulate(grads[0]);
            w.accumulate(grads[1]);
        }, x, w);
    }

    /** The logits [R, C, classes, N·Q] of phases [R, C·classes, N, Q]. */
    private static Shape logitsShape(Shape s, int classes) {
        if (s.rank() != 4 || classes < 1 || s.dim(1) % classes != 0)
            throw new IllegalArgumentException("crossEntropyOfPhases: the output in phases " + s + " does not hold " + classes + " classes per channel");
        return Shape.of(s.dim(0), s.dim(1) / classes, classes, s.dim(2) * s.dim(3));
    }
}
