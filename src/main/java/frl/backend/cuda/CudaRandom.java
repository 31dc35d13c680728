package frl.backend.cuda;

import frl.backend.Rng;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/**
 * Random fills from the counter-based {@link Rng} (src/main/cuda/random.cu; CPU twin {@code CpuRandom}): the
 * same reservations on the stream ({@code rng.advance(n)} for uniform, {@code rng.reserveNormals(n)} for
 * normal) and the same per-element formulas in double, so the CPU and CUDA backends draw the same numbers and
 * leave the stream in the same state:
 * <ul>
 * <li>uniform: value i = min((float) (lo + (hi − lo) · Rng.uniform(seed, start + i)), top), bit for bit;</li>
 * <li>normal: value i = (float) (mean + std · Rng.normal(seed, k + i)); CUDA's log and cos may differ from the
 * JVM's in the last bit of a double, so very rarely a value differs by one float ulp.</li>
 * </ul>
 */
final class CudaRandom {
    private static final Kernel UNIFORM = new Kernel("random", "rng_uniform_fill", "plllddf");
    private static final Kernel NORMAL = new Kernel("random", "rng_normal_fill", "pllldd");

    private CudaRandom() {}

    static Tensor uniform(Shape shape, double lo, double hi, Rng rng) {
        if (!(lo <= hi)) throw new IllegalArgumentException("uniform: need lo ≤ hi, got [" + lo + ", " + hi + ")");
        long n = shape.numel();
        Tensor out = CudaBackend.alloc(shape);
        long seed = rng.seed(), start = rng.advance(n);
        launchUniform(out, n, seed, start, lo, hi);
        return out;
    }

    /** n uniform draws in [lo, hi) from counter start of seed, into a tensor or a device address. */
    static void launchUniform(Object out, long n, long seed, long start, double lo, double hi) {
        // float32 rounding can land on hi itself; keep the interval half-open as documented (as the CPU does)
        float top = hi > lo ? Math.max((float) lo, Math.nextDown((float) hi)) : (float) hi;
        if (n > 0) UNIFORM.launchN(n, out, n, seed, start, lo, hi - lo, top);
    }

    static Tensor normal(Shape shape, double mean, double std, Rng rng) {
        if (!(std >= 0)) throw new IllegalArgumentException("normal: need std ≥ 0, got " + std);
        long n = shape.numel();
        Tensor out = CudaBackend.alloc(shape);
        long seed = rng.seed(), first = rng.reserveNormals(n);
        launchNormal(out, n, seed, first, mean, std);
        return out;
    }

    /** n normal draws from the reserved index first of seed, into a tensor or a device address. */
    static void launchNormal(Object out, long n, long seed, long first, double mean, double std) {
        if (n > 0) NORMAL.launchN(n, out, n, seed, first, mean, std);
    }
}
