package frl.backend.cuda;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * Choices made once per key (an op and its sizes) by timing on the GPU, and kept: the first call of a key measures,
 * every later one reads. Measuring waits for the GPU, so a key first seen while a CUDA graph is recorded is refused.
 * FasterPath (a kernel or cuDNN), CudaSubPixel (its plans' modes) and CudaUnfold (in chunks or not) keep theirs here.
 */
final class TimedChoices<V> {
    private final Map<String, V> made = new ConcurrentHashMap<>();

    /** The choice for {@code key}, made by {@code measure} at the key's first call (one measurement at a time). */
    V get(String key, Supplier<V> measure) {
        V v = made.get(key);
        return v != null ? v : measured(key, measure);
    }

    private synchronized V measured(String key, Supplier<V> measure) {
        V known = made.get(key);
        if (known != null) return known;
        if (CudaContext.get().capturing()) throw CudaConv.firstSeenWhileCapturing(key);
        V v = measure.get();
        made.put(key, v);
        return v;
    }

    /**
     * The one candidate, or for the key the fastest of the candidates, each run by {@code run} after one warm-up, the
     * median of 3 (the first of equals), chosen at the key's first call (the key built only then). The runs must leave
     * nothing that the chosen one's next run does not overwrite.
     */
    V fastest(Supplier<String> key, List<V> candidates, Consumer<V> run) { return fastest(key, candidates, run, v -> 1f); }

    /**
     * The same, each candidate's time multiplied by its handicap before they are compared: a candidate with handicap h
     * wins only where it took less than 1/h of the others' time.
     */
    V fastest(Supplier<String> key, List<V> candidates, Consumer<V> run, ToDoubleFunction<V> handicap) {
        if (candidates.size() == 1) return candidates.getFirst();
        return get(key.get(), () -> {
            try (CudaTimer timer = new CudaTimer()) {
                V best = null;
                double bestMs = Double.POSITIVE_INFINITY;
                for (V v : candidates) {
                    double ms = timer.median(() -> run.accept(v), 1, 3) * handicap.applyAsDouble(v);
                    if (ms < bestMs) {
                        best = v;
                        bestMs = ms;
                    }
                }
                return best;
            }
        });
    }

    /** The choices made so far, by key (sorted, a copy). */
    Map<String, V> snapshot() { return new TreeMap<>(made); }

    /** Forgets every choice (tests: so a test sees its own timings). */
    void clear() { made.clear(); }
}
