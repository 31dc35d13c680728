package frl.autograd;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A tensor on the tape: its value, its gradient, and how to pass a gradient back to the Vars it came from.
 * Gradients of intermediate Vars are never modified in place (an op may hand the same tensor to two
 * parents); only leaves that own a persistent gradient buffer (parameters) accumulate into it.
 */
public class Var {
    /** Passes the gradient of this Var's value back to its parents (through {@link #accumulate}). */
    @FunctionalInterface
    public interface BackwardFn { void apply(Tensor dy); }

    private static final ThreadLocal<int[]> NO_GRAD_DEPTH = ThreadLocal.withInitial(() -> new int[1]);
    /** The backward pass running on this thread, if any. */
    private static final ThreadLocal<GradientLedger> PASS = new ThreadLocal<>();

    private final Tensor value;
    private final String op;
    private final Var[] parents;
    private final BackwardFn backward;
    private final boolean requiresGrad;
    private Tensor grad;

    protected Var(Tensor value, boolean requiresGrad, String op, Var[] parents, BackwardFn backward) {
        this.value = value;
        this.requiresGrad = requiresGrad;
        this.op = op;
        this.parents = parents;
        this.backward = backward;
    }

    /** A leaf that needs no gradient (inputs, targets). */
    public static Var constant(Tensor value) { return new Var(value, false, "constant", new Var[0], null); }

    /** A leaf whose gradient is wanted (inputs of a gradient check; parameters are frl.nn.Parameter). */
    public static Var leaf(Tensor value) { return new Var(value, true, "leaf", new Var[0], null); }

    /**
     * Records the result of an op. When no parent needs a gradient, or inside {@link #noGrad()}, the result
     * is a constant and the backward function is dropped.
     */
    public static Var result(Tensor value, String op, BackwardFn backward, Var... parents) {
        return recorded(parents) ? new Var(value, true, op, parents, backward) : new Var(value, false, op, new Var[0], null);
    }

    /** Whether an op of these parents is put on the tape: outside {@link #noGrad()}, some parent needs a gradient. */
    public static boolean recorded(Var... parents) {
        if (NO_GRAD_DEPTH.get()[0] != 0) return false;
        for (Var p : parents) if (p.requiresGrad()) return true;
        return false;
    }

    /** {@code try (var ng = Var.noGrad()) {...}}: no tape inside. */
    public static NoGrad noGrad() {
        NO_GRAD_DEPTH.get()[0]++;
        return new NoGrad();
    }

    public static final class NoGrad implements AutoCloseable {
        private boolean closed;

        @Override public void close() {
            if (!closed) { closed = true; NO_GRAD_DEPTH.get()[0]--; }
        }
    }

    public Tensor value() { return value; }

    public Shape shape() { return value.shape(); }

    public Backend backend() { return Backends.of(value); }

    /** Whether gradients flow to this Var (a frozen {@code Parameter} says no while it is frozen). */
    public boolean requiresGrad() { return requiresGrad; }

    public String op() { return op; }

    /** The accumulated gradient, or null if none reached this Var (an op's result drops it once passed on). */
    public Tensor grad() { return grad; }

    /**
     * Frees the value now (not when its scope closes), for an op's temporary that nothing reads again: neither its own
     * backward nor those of the ops it fed. Its shape stays readable; a view's base is not freed.
     */
    public void freeValue() { value.close(); }

    /** The same value, cut off from the tape. */
    public Var detach() { return constant(value); }

    /** Adds a gradient contribution; called by the backward functions of this Var's children. */
    public void accumulate(Tensor g) {
        if (!requiresGrad()) { unneeded(g); return; }
        if (!g.shape().equals(value.shape()))
            throw new IllegalStateException("gradient of shape " + g.shape() + " for a value of shape " + value.shape() + " (op " + op + ")");
        GradientLedger pass = PASS.get();
        if (grad == null) grad = g;
        else {
            Tensor sum = backend().binary(frl.backend.BinaryOp.ADD, grad, g);
            if (pass != null) { pass.drop(grad); pass.passedOn(g); }
            grad = sum;
        }
        if (pass != null) pass.hold(grad);
    }

    /** For a Var that does not keep g (it copies it, or wants none): g may be freed once the op passing it on is done. */
    protected static void unneeded(Tensor g) {
        GradientLedger pass = PASS.get();
        if (pass != null) pass.passedOn(g);
    }

    /**
     * Copies g into dst, a parameter's buffer: inside a backward pass, with the pass's other such copies in one
     * Backend#copyAll at its end (g is kept until then, when most activations are freed); else now.
     */
    protected static void copyGradient(Tensor g, Tensor dst) {
        GradientLedger pass = PASS.get();
        if (pass != null) pass.deferCopy(g, dst);
        else Backends.of(dst).copyInto(g, dst);
    }

    /** Runs the copies {@link #copyGradient} has deferred so far in this pass (before a buffer they fill is read). */
    protected static void copyDeferredGradients() {
        GradientLedger pass = PASS.get();
        if (pass != null) pass.copyDeferred();
    }

    /** Backpropagates from a one-element Var (a loss), seeding its gradient with 1. */
    public void backward() {
        if (value.numel() != 1) throw new IllegalStateException("backward() needs a scalar, shape is " + value.shape() + "; use backward(grad)");
        backward(backend().full(value.shape(), 1.0));
    }

    /**
     * Backpropagates the given gradient of this Var through the tape, in reverse topological order. Leaves keep
     * their gradients; an op's result drops its gradient once its backward has run, and the gradients this pass
     * made are freed as soon as no Var holds them (GradientLedger).
     */
    public void backward(Tensor seed) {
        if (!requiresGrad()) throw new IllegalStateException("backward through a Var that needs no gradient (op " + op + ")");
        GradientLedger outer = PASS.get(), pass = new GradientLedger();
        PASS.set(pass);
        try {
            accumulate(seed);
            for (Var v : reverseTopological()) {
                if (v.backward == null || v.grad == null) continue;
                v.backward.apply(v.grad);
                pass.drop(v.grad);
                v.grad = null;
                pass.freeUnheld();
            }
            pass.copyDeferred();
            pass.freeUnheld();
        } finally {
            PASS.set(outer);
        }
    }

    private List<Var> reverseTopological() {
        List<Var> order = new ArrayList<>();
        Set<Var> seen = new HashSet<>();
        ArrayDeque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[] {this, 0});
        seen.add(this);
        while (!stack.isEmpty()) {
            Object[] top = stack.peek();
            Var v = (Var) top[0];
            int i = (int) top[1];
            if (i < v.parents.length) {
                top[1] = i + 1;
                Var p = v.parents[i];
                if (p.requiresGrad() && seen.add(p)) stack.push(new Object[] {p, 0});
            } else {
                stack.pop();
                order.add(v);
            }
        }
        java.util.Collections.reverse(order);
        return order;
    }

    @Override public String toString() { return "Var(" + op + ", " + value + ")"; }
}
