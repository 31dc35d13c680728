package frl.autograd;

import frl.backend.Backends;
import frl.tensor.Storage;
import frl.tensor.Tensor;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which gradients of one backward pass are still held by a Var, so that the others are freed as soon as the op
 * that used them is done, not when the step's scope closes: without it a backward pass keeps every intermediate
 * gradient at once, about as much memory again as the forward activations.
 * <p>
 * Gradients are counted by storage, because an op may pass its gradient on uncopied or as a view (a sum, a
 * reshape), and a storage is freed only when no Var holds it and it was made during this pass: a gradient that
 * is a forward value or a constant is never freed here. Candidates are freed only after the op's backward has
 * returned, so a tensor an op hands to two parents is still there for the second.
 */
final class GradientLedger {
    private final long mark = Storage.madeSoFar();
    private final Map<Storage, Integer> holders = new IdentityHashMap<>();
    private final List<Storage> candidates = new ArrayList<>();
    private final List<Tensor> copyFrom = new ArrayList<>(), copyTo = new ArrayList<>();

    /** A Var now holds g as its gradient. */
    void hold(Tensor g) { holders.merge(g.storage(), 1, Integer::sum); }

    /** A Var no longer holds g. */
    void drop(Tensor g) {
        holders.computeIfPresent(g.storage(), (s, n) -> n == 1 ? null : n - 1);
        candidates.add(g.storage());
    }

    /** g was handed to a Var that keeps its own copy (a parameter's buffer). */
    void passedOn(Tensor g) { candidates.add(g.storage()); }

    /**
     * g, a parameter's first gradient of this pass, to be copied into its buffer dst at the pass's end with the others,
     * in one {@link frl.backend.Backend#copyAll} (hundreds of launches on a GPU become one per 128); held until then.
     */
    void deferCopy(Tensor g, Tensor dst) {
        hold(g);
        copyFrom.add(g);
        copyTo.add(dst);
    }

    /** Runs the deferred copies: at the pass's end, and before a parameter adds a second gradient into its buffer. */
    void copyDeferred() {
        if (copyFrom.isEmpty()) return;
        Backends.of(copyTo.getFirst()).copyAll(copyFrom.toArray(Tensor[]::new), copyTo.toArray(Tensor[]::new));
        for (Tensor g : copyFrom) drop(g);
        copyFrom.clear();
        copyTo.clear();
    }

    /** Frees the candidates that no Var holds and that this pass made. */
    void freeUnheld() {
        for (Storage s : candidates)
            if (!holders.containsKey(s) && s.madeAfter(mark)) s.close();
        candidates.clear();
    }
}
