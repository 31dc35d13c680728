package frl.backend.cpu;

import frl.backend.MixtureMath;
import frl.backend.Shapes;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Softmax cross-entropy with class targets, fused: per block of positions the max and Σ exp over the classes
 * are computed (see {@link SoftmaxBlocks}) and used at once, so probabilities are never stored. And PixelCNN++'s
 * discretised logistic mixture, one pass over the pixels each way.
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
    static int[] classes(Tensor targets, int classes) {
        MemorySegment ts = targets.segment();
        int[] t = new int[(int) targets.numel()];
        for (int i = 0; i < t.length; i++) t[i] = Shapes.classIndex(ts.getAtIndex(JAVA_FLOAT, i), classes, i);
        return t;
    }

    /** Pixels per task of the mixture: a few hundred vectors' worth of work. */
    private static final int MIXTURE_PIXELS = 256;

    /** Backend#mixtureNll, parallel over runs of pixels of each image. */
    static Tensor mixtureNll(Tensor x, Tensor params, int m) {
        Tensor out = CpuBackend.alloc(Shapes.mixtureNll("mixtureNll", x.shape(), params.shape(), m));
        MemorySegment xs = x.segment(), ps = params.segment(), os = out.segment();
        Kernels k = Kernels.active();
        overPixels(x.shape(), m, (i, c, pc, hw, q0, q1) -> k.mixtureNll(xs, (long) i * c * hw, ps, (long) i * pc * hw, os, (long) i * hw, hw, q0, q1, c, m));
        return out;
    }

    /** Backend#mixtureNllBackward, the same way. */
    static Tensor mixtureNllBackward(Tensor x, Tensor params, int m, Tensor dnll) {
        Shapes.mixtureNllBackward(x.shape(), params.shape(), m, dnll.shape());
        Tensor dp = CpuBackend.alloc(params.shape());
        MemorySegment xs = x.segment(), ps = params.segment(), gs = dnll.segment(), ds = dp.segment();
        Kernels k = Kernels.active();
        overPixels(x.shape(), m, (i, c, pc, hw, q0, q1) ->
                k.mixtureNllBackward(xs, (long) i * c * hw, ps, (long) i * pc * hw, gs, (long) i * hw, ds, (long) i * pc * hw, hw, q0, q1, c, m));
        return dp;
    }

    @FunctionalInterface
    private interface PixelRun { void run(int image, int c, int pc, int hw, int q0, int q1); }

    /** Runs of MIXTURE_PIXELS pixels of each image of x [N, C, H, W], in parallel. */
    private static void overPixels(Shape xs, int m, PixelRun body) {
        int n = xs.dim(0), c = xs.dim(1), hw = Math.multiplyExact(xs.dim(2), xs.dim(3)), runs = Math.ceilDiv(hw, MIXTURE_PIXELS);
        int pc = MixtureMath.parameterChannels(c, m);
        Parallel.forRange(Math.multiplyExact(n, runs), 1, (from, to) -> {
            for (int t = from; t < to; t++) {
                int q0 = (t % runs) * MIXTURE_PIXELS;
                body.run(t / runs, c, pc, hw, q0, Math.min(hw, q0 + MIXTURE_PIXELS));
            }
        });
    }
}
