package frl.nn;

import frl.autograd.Pointwise;
import frl.autograd.Var;

/** torch.nn.LeakyReLU: x for x > 0, slope·x otherwise, composed as relu(x) − slope·relu(−x). */
public final class LeakyReLU extends Layer {
    private final double slope;

    public LeakyReLU(double slope) {
        if (!(slope >= 0 && slope < 1)) throw new IllegalArgumentException("LeakyReLU: slope must be in [0, 1), got " + slope);
        this.slope = slope;
    }

    @Override public Var forward(Var x) {
        return Pointwise.sub(Pointwise.relu(x), Pointwise.scale(Pointwise.relu(Pointwise.neg(x)), slope));
    }
}
