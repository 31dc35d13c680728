package frl.autograd;

import frl.backend.Backend;

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
}
