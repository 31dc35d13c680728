package frl.nn;

import frl.autograd.Layout;
import frl.autograd.Linear;
import frl.autograd.Pointwise;
import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Rng;
import frl.tensor.Tensor;

/**
 * The first two layers of a Glow step, actnorm then the invertible 1×1 convolution, run as one convolution:
 * W·(s⊙(x + b)) = W'·x + W'·b with W' = W·diag(s), s = exp(logs). The folding costs a few C×C ops and saves
 * the two full passes over the activations (add, multiply) that actnorm would take forward, and their
 * gradients backward. Where the backend runs the two as one pass (Backend#fusesActNormConv1x1), that op instead.
 * Parameters and state dict are those of the two layers ({@code actnorm.*}, {@code invconv.*}).
 */
public final class ActNormInvConv extends Module implements Flow {
    public final ActNorm actnorm;
    public final InvConv1x1 invconv;

    public ActNormInvConv(Backend be, int channels, Rng rng) {
        actnorm = addModule("actnorm", new ActNorm(be, channels));
        invconv = addModule("invconv", new InvConv1x1(be, channels, rng));
    }

    @Override public Result forward(Var x) {
        actnorm.ensureInitialized(x.value());
        Var logdet = Pointwise.add(actnorm.logdet(x.shape()), invconv.logdet(x.shape()));
        if (!x.backend().fusesActNormConv1x1()) return new Result(fold(x, invconv.weight(), actnorm.bias, actnorm.logs), logdet);
        int c = x.shape().dim(1);   // a backend that runs the two as one pass (the CUDA backend's actnorm kernels)
        return new Result(Linear.actNormConv1x1(x, actnorm.bias, actnorm.logs, Layout.reshape(invconv.weight(), c, c, 1, 1)), logdet);
    }

    /** W·(exp(logs)⊙(x + bias)) as one 1×1 convolution with bias W'·b: w is [C, C], bias and logs [1, C, 1, 1]. */
    static Var fold(Var x, Var w, Var bias, Var logs) {
        int c = w.shape().dim(0);
        Var folded = Pointwise.mul(w, Layout.reshape(Pointwise.exp(logs), 1, c));
        Var foldedBias = Layout.reshape(Linear.matmul(folded, false, Layout.reshape(bias, 1, c), true), c);
        return InvConv1x1.apply(x, folded, foldedBias);
    }

    /** The two layers one after the other, unfused: the reference the fused forward is tested and timed against. */
    public Result forwardUnfused(Var x) {
        Result a = actnorm.forward(x), b = invconv.forward(a.y());
        return new Result(b.y(), Pointwise.add(a.logdet(), b.logdet()));
    }

    @Override public Tensor reverse(Tensor y) { return actnorm.reverse(invconv.reverse(y)); }
}
