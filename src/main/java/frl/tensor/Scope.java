package frl.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Owns the storages created while it is open on this thread and frees them when closed:
 * {@code try (Scope s = Scope.open()) { ...a training step... }}. Scopes nest; a result that must outlive
 * the scope is handed outwards with {@link #keep}. Storages created with no scope open belong to the caller.
 */
public final class Scope implements AutoCloseable {
    private static final ThreadLocal<ArrayDeque<Scope>> STACK = ThreadLocal.withInitial(ArrayDeque::new);

    private final List<Storage> owned = new ArrayList<>();
    private final Thread thread = Thread.currentThread();
    private boolean closed;

    private Scope() {}

    public static Scope open() {
        Scope s = new Scope();
        STACK.get().push(s);
        return s;
    }

    /** The innermost open scope of this thread, or null. */
    public static Scope current() { return STACK.get().peek(); }

    static void register(Storage storage) {
        Scope s = current();
        if (s != null) s.owned.add(storage);
    }

    /** Moves the tensor's storage from the innermost scope to the one around it (or to the caller if none). */
    public static <T extends Tensor> T keep(T t) {
        ArrayDeque<Scope> stack = STACK.get();
        Scope inner = stack.peek();
        if (inner == null) return t;
        if (!inner.owned.remove(t.storage())) return t;
        var it = stack.iterator();
        it.next();
        if (it.hasNext()) it.next().owned.add(t.storage());
        return t;
    }

    /** Takes the tensor's storage out of every open scope: the caller now frees it (Tensor.close). */
    public static <T extends Tensor> T detach(T t) {
        for (Scope s : STACK.get()) s.owned.remove(t.storage());
        return t;
    }

    /** Runs code with no scope collecting its allocations (for parameters and optimizer state). */
    public static <R> R unscoped(java.util.function.Supplier<R> body) {
        ArrayDeque<Scope> stack = STACK.get();
        ArrayDeque<Scope> saved = new ArrayDeque<>(stack);
        stack.clear();
        try {
            return body.get();
        } finally {
            stack.addAll(saved);
        }
    }

    /** Number of live storages this scope owns (for leak checks and memory logs). */
    public int size() { return owned.size(); }

    @Override public void close() {
        if (closed) return;
        if (Thread.currentThread() != thread) throw new IllegalStateException("a scope must be closed on the thread that opened it");
        ArrayDeque<Scope> stack = STACK.get();
        if (stack.peek() != this) throw new IllegalStateException("scopes must be closed innermost first");
        stack.pop();
        closed = true;
        for (int i = owned.size() - 1; i >= 0; i--) owned.get(i).close();
        owned.clear();
    }
}
