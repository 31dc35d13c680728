package frl.backend.cpu;

import frl.backend.Rng;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Random fills from the counter-based {@link Rng}, so every backend reproduces them bit for bit in float64
 * before the final rounding to float32:
 * <ul>
 * <li>uniform: {@code start = rng.advance(n)}; value i = lo + (hi − lo) · Rng.uniform(seed, start + i).</li>
 * <li>normal: {@code k = rng.reserveNormals(n)}; value i = mean + std · Rng.normal(seed, k + i), which reads
 * counters 2(k+i) and 2(k+i)+1 (the reservation skips an odd counter so pairs never straddle two draws).</li>
 * </ul>
 */
final class CpuRandom {
    private static final int GRAIN = 1 << 14;

    private CpuRandom() {}

    static Tensor uniform(Shape shape, double lo, double hi, Rng rng) {
        if (!(lo <= hi)) throw new IllegalArgumentException("uniform: need lo ≤ hi, got [" + lo + ", " + hi + ")");
        int n = count("uniform", shape);
        Tensor out = CpuBackend.alloc(shape);
        long seed = rng.seed(), start = rng.advance(n);
        // float32 rounding can land on hi itself; keep the interval half-open as documented
        float top = hi > lo ? Math.max((float) lo, Math.nextDown((float) hi)) : (float) hi;
        MemorySegment s = out.segment();
        Parallel.forRange(n, GRAIN, (from, to) -> {
            for (int i = from; i < to; i++) {
                float v = (float) (lo + (hi - lo) * Rng.uniform(seed, start + i));
                s.setAtIndex(ValueLayout.JAVA_FLOAT, i, Math.min(v, top));
            }
        });
        return out;
    }

    static Tensor normal(Shape shape, double mean, double std, Rng rng) {
        if (!(std >= 0)) throw new IllegalArgumentException("normal: need std ≥ 0, got " + std);
        int n = count("normal", shape);
        Tensor out = CpuBackend.alloc(shape);
        long seed = rng.seed(), first = rng.reserveNormals(n);
        MemorySegment s = out.segment();
        Parallel.forRange(n, GRAIN, (from, to) -> {
            for (int i = from; i < to; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (mean + std * Rng.normal(seed, first + i)));
        });
        return out;
    }

    private static int count(String op, Shape shape) {
        long n = shape.numel();
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException(op + ": " + n + " elements in " + shape + " exceed the cpu backend's 2^31 − 1 limit");
        return (int) n;
    }
}
