package frl.nn;

import frl.backend.Backends;
import frl.tensor.Scope;
import frl.tensor.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A tree of named parameters, buffers and child modules, named like PyTorch ({@code encoder.main.0.weight})
 * so state dicts line up with a PyTorch twin. The module owns all of its tensors and frees them in
 * {@link #close()}. Registration order is the order of {@link #parameters()} and {@link #stateDict()}:
 * a module's own parameters, then its own buffers, then each child's entries, as torch's state_dict.
 */
public abstract class Module implements AutoCloseable {
    private final Map<String, Parameter> params = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;
    private boolean closed;

    protected Parameter registerParameter(String name, Parameter p) {
        checkName(name);
        params.put(name, p);
        return p;
    }

    /** Registers non-trainable state (running statistics); the module takes ownership of the tensor. */
    protected Tensor registerBuffer(String name, Tensor t) {
        checkName(name);
        buffers.put(name, Scope.detach(t));
        return t;
    }

    public <M extends Module> M addModule(String name, M child) {
        checkName(name);
        if (child == this) throw new IllegalArgumentException("a module cannot contain itself as '" + name + "'");
        children.put(name, child);
        child.train(training);
        return child;
    }

    private void checkName(String name) {
        if (name.isEmpty() || name.contains("."))
            throw new IllegalArgumentException(getClass().getSimpleName() + ": name '" + name + "' must be non-empty and contain no '.'");
        if (params.containsKey(name) || buffers.containsKey(name) || children.containsKey(name))
            throw new IllegalArgumentException(getClass().getSimpleName() + ": name '" + name + "' is already registered");
    }

    public Map<String, Module> children() { return Collections.unmodifiableMap(children); }

    /** Every parameter under its dotted name, in registration order (shared parameters appear once). */
    public Map<String, Parameter> namedParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        Set<Parameter> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        visit("", (prefix, m) -> m.params.forEach((n, p) -> { if (seen.add(p)) out.put(prefix + n, p); }));
        return out;
    }

    public List<Parameter> parameters() { return new ArrayList<>(namedParameters().values()); }

    /** Number of trainable scalars. */
    public long parameterCount() {
        long n = 0;
        for (Parameter p : parameters()) n += p.numel();
        return n;
    }

    /** Parameters and buffers by dotted name, in torch's state_dict order. The tensors are live, not copies. */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        visit("", (prefix, m) -> {
            m.params.forEach((n, p) -> out.put(prefix + n, p.value()));
            m.buffers.forEach((n, b) -> out.put(prefix + n, b));
        });
        return out;
    }

    /**
     * Copies values into this module's parameters and buffers (any device or dtype in, converted). Shapes
     * must match exactly. With {@code strict}, a missing or an unexpected name is an error too; otherwise
     * only the names present on both sides are copied. Nothing is copied unless every check passes.
     */
    public void loadStateDict(Map<String, Tensor> source, boolean strict) {
        Map<String, Tensor> own = stateDict();
        List<String> problems = new ArrayList<>();
        for (var e : own.entrySet()) {
            Tensor src = source.get(e.getKey());
            if (src == null) {
                if (strict) problems.add("missing '" + e.getKey() + "' (expected shape " + e.getValue().shape() + ")");
            } else if (!src.shape().equals(e.getValue().shape())) {
                problems.add("'" + e.getKey() + "': expected shape " + e.getValue().shape() + ", found " + src.shape());
            }
        }
        if (strict) for (String k : source.keySet()) if (!own.containsKey(k)) problems.add("unexpected '" + k + "'");
        if (!problems.isEmpty())
            throw new IllegalArgumentException("loadStateDict into " + getClass().getSimpleName() + ": " + String.join("; ", problems));
        own.forEach((k, dst) -> { Tensor src = source.get(k); if (src != null) copyValues(src, dst); });
    }

    /** Copies src into dst: on the backend when they share device and dtype, else through the host. */
    static void copyValues(Tensor src, Tensor dst) {
        if (src.device().equals(dst.device()) && src.dtype() == dst.dtype()) Backends.of(dst).copyInto(src, dst);
        else dst.copyFrom(src.toDoubles());
    }

    /** Training mode for this module and every descendant (batch statistics in BatchNorm). */
    public Module train(boolean on) {
        training = on;
        for (Module c : children.values()) c.train(on);
        return this;
    }

    public Module eval() { return train(false); }

    public boolean isTraining() { return training; }

    /** Forgets the gradients of every parameter. */
    public void zeroGrad() { for (Parameter p : parameters()) p.zeroGrad(); }

    /** Frees every parameter and buffer of this module and its descendants; idempotent. */
    @Override public void close() {
        if (closed) return;
        closed = true;
        params.values().forEach(Parameter::close);
        buffers.values().forEach(Tensor::close);
        children.values().forEach(Module::close);
    }

    private interface Visitor { void visit(String prefix, Module m); }

    private void visit(String prefix, Visitor v) {
        v.visit(prefix, this);
        children.forEach((n, c) -> c.visit(prefix + n + ".", v));
    }
}
