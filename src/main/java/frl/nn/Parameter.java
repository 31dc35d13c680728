package frl.nn;

import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/**
 * A trainable leaf: owns its value and a persistent gradient buffer, both allocated outside any scope and
 * freed by {@link #close()}. Backward passes add into the buffer (the first contribution after
 * {@link #zeroGrad()} is copied, with the pass's other first contributions in one batch at its end; later ones
 * are added with axpy), so no per-step gradient tensor survives
 * the step's scope. Like PyTorch's {@code zero_grad(set_to_none=True)}, {@link #grad()} is null until a
 * gradient arrives, and optimizers skip such parameters.
 */
public final class Parameter extends Var implements AutoCloseable {
    private final Tensor gradBuffer;
    private boolean hasGrad, frozen;

    private Parameter(Tensor value, Tensor gradBuffer) {
        super(value, true, "parameter", new Var[0], null);
        this.gradBuffer = gradBuffer;
    }

    /** Takes ownership of a tensor (removing it from every open scope) and adds a gradient buffer. */
    public static Parameter of(Tensor value) {
        Scope.detach(value);
        Tensor grad = Scope.unscoped(() -> Backends.of(value).empty(value.shape()));
        return new Parameter(value, grad);
    }

    /** A parameter filled with a constant. */
    public static Parameter full(Backend be, Shape shape, double value) {
        return of(Scope.unscoped(() -> be.full(shape, value)));
    }

    @Override public Tensor grad() { return hasGrad ? gradBuffer : null; }

    /**
     * A frozen parameter takes no gradient (torch's {@code requires_grad_(False)}): ops that read it record nothing
     * for it, so no backward computes its gradient (Likelihood Regret fits the encoder through a fixed decoder).
     */
    public void freeze(boolean on) { frozen = on; }

    @Override public boolean requiresGrad() { return !frozen; }

    @Override public void accumulate(Tensor g) {
        if (frozen) { unneeded(g); return; }
        if (!g.shape().equals(value().shape()))
            throw new IllegalStateException("gradient of shape " + g.shape() + " for a parameter of shape " + value().shape());
        if (hasGrad) {
            copyDeferredGradients();   // the first gradient's copy into the buffer, if the pass put it off
            backend().axpy(1.0, g, gradBuffer);
            unneeded(g);
        } else copyGradient(g, gradBuffer);
        hasGrad = true;
    }

    /** Forgets the gradient (the buffer is kept for the next step). */
    public void zeroGrad() { hasGrad = false; }

    public long numel() { return value().numel(); }

    @Override public void close() {
        value().close();
        gradBuffer.close();
    }
}
