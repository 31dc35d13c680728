package frl.backend.cuda;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Choices made once per key (an op and its sizes) by timing on the GPU, and kept: the first call of a key measures,
 * every later one reads. Measuring waits for the GPU, so a key first seen while a CUDA graph is recorded is refused.
 * FasterPath (a kernel or cuDNN) and CudaSubPixel (SGEMM or 3xTF32) keep theirs here.
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

    /** The choices made so far, by key (sorted, a copy). */
    Map<String, V> snapshot() { return new TreeMap<>(made); }

    /** Forgets every choice (tests: so a test sees its own timings). */
    void clear() { made.clear(); }
}
