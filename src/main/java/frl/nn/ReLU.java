package frl.nn;

import frl.autograd.Pointwise;
import frl.autograd.Var;

/** torch.nn.ReLU. */
public final class ReLU extends Layer {
    @Override public Var forward(Var x) { return Pointwise.relu(x); }
}
