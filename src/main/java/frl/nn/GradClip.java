package frl.nn;

import frl.backend.Backend;
import frl.backend.UnaryOp;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.util.List;

/** torch.nn.utils.clip_grad_norm_ (2-norm over all gradients together). */
public final class GradClip {
    private GradClip() {}

    /**
     * Scales every gradient by maxNorm / (total + 1e-6) when that is below 1 and returns the total norm
     * before clipping. Parameters without a gradient are ignored.
     */
    public static double clipGradNorm(List<Parameter> params, double maxNorm) {
        if (!(maxNorm > 0)) throw new IllegalArgumentException("clipGradNorm: max norm must be > 0, got " + maxNorm);
        double sumSquares = 0;
        for (Parameter p : params) {
            Tensor g = p.grad();
            if (g == null) continue;
            Backend be = p.backend();
            try (Scope _ = Scope.open()) {
                Tensor flat = g.reshape((int) g.numel());
                sumSquares += be.sumTo(be.unary(UnaryOp.SQUARE, flat, 0, 0), Shape.of(1)).item();
            }
        }
        double total = Math.sqrt(sumSquares);
        double coef = maxNorm / (total + 1e-6);
        if (coef < 1) {
            for (Parameter p : params) {
                Tensor g = p.grad();
                if (g == null) continue;
                Backend be = p.backend();
                try (Scope _ = Scope.open()) {
                    be.copyInto(be.affine(g, coef, 0), g);
                }
            }
        }
        return total;
    }
}
