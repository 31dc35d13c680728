package frl.backend.cpu;

import frl.backend.Shapes;
import frl.tensor.Tensor;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Softmax cross-entropy with class targets, fused: per block of positions the max and Σ exp over the classes
 * are computed (see {@link SoftmaxBlocks}) and used at once, so probabilities are never stored.
 */
final class CpuLoss {
    private CpuLoss() {}

    /** loss = logsumexp(logits) − logits[target], per position of the [outer, inner] view. */
    static Tensor crossEntropy(Tensor logits, Tensor targets, int axis) {
        Tensor loss = CpuBackend.alloc(Shapes.crossEntropy(logits, targets, axis));
        int[] view = Shapes.aroundAxis(logits.shape(), axis);
        int[] target = classes(targets, view[1]);
        int inner = view[2];
        MemorySegment xs = logits.segment(), out = loss.segment();
        SoftmaxBlocks.forEach(Kernels.active(), xs, view, (st, base, pos, n) -> {
            for (int j = 0; j < n; j++) {
                float picked = xs.getAtIndex(JAVA_FLOAT, base + (long) target[(int) pos + j] * inner + j);
                out.setAtIndex(JAVA_FLOAT, pos + j, (float) (st.logSumExp(j) - picked));
            }
        });
        return loss;
    }

    /** dlogits = (softmax − onehot(target)) · dloss: exp(x − max) · dloss / Σ, then dloss off at the target. */
    static Tensor crossEntropyBackward(Tensor logits, Tensor targets, Tensor dloss, int axis) {
        Shapes.crossEntropy(logits, targets, axis);
        Shapes.requireSameShape("crossEntropyBackward (targets vs dloss)", targets, dloss);
        Tensor dx = CpuBackend.alloc(logits.shape());
        int[] view = Shapes.aroundAxis(logits.shape(), axis);
        int[] target = classes(targets, view[1]);
        int inner = view[2];
        MemorySegment gs = dloss.segment(), out = dx.segment();
        SoftmaxBlocks.forEach(Kernels.active(), logits.segment(), view, (st, base, pos, n) -> {
            for (int j = 0; j < n; j++) st.scale[j] = gs.getAtIndex(JAVA_FLOAT, pos + j) / st.sum[j];
            st.writeScaledExp(out, base, n);
            for (int j = 0; j < n; j++) {
                long at = base + (long) target[(int) pos + j] * inner + j;
                out.setAtIndex(JAVA_FLOAT, at, out.getAtIndex(JAVA_FLOAT, at) - gs.getAtIndex(JAVA_FLOAT, pos + j));
            }
        });
        return dx;
    }

    /** Targets as class indices, all checked before any parallel work starts. */
    private static int[] classes(Tensor targets, int classes) {
        MemorySegment ts = targets.segment();
        int[] t = new int[(int) targets.numel()];
        for (int i = 0; i < t.length; i++) t[i] = Shapes.classIndex(ts.getAtIndex(JAVA_FLOAT, i), classes, i);
        return t;
    }
}
