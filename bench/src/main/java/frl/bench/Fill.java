package frl.bench;

import frl.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Deterministic benchmark inputs written straight into tensor memory (no heap copies of 256 MB arrays). */
final class Fill {
    private Fill() {}

    /** Values in [-1, 1) from a 64-bit mix of the index. */
    static Tensor uniform(Tensor t, long seed) {
        MemorySegment s = t.segment();
        for (long i = 0; i < t.numel(); i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (mix(seed * 0x9E3779B97F4A7C15L + i) >>> 40) / (float) (1 << 23) - 1f);
        return t;
    }

    /** Integer class indices in [0, classes), stored as floats. */
    static Tensor classes(Tensor t, int classes, long seed) {
        MemorySegment s = t.segment();
        for (long i = 0; i < t.numel(); i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) Math.floorMod(mix(seed + i), classes));
        return t;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
