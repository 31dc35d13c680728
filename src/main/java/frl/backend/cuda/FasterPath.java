package frl.backend.cuda;

import frl.tensor.Tensor;

import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * For an op with a hand-written kernel and a cuDNN way to compute it: in "auto" mode the first call per key (op
 * and shapes) times both with CUDA events (one warm-up, median of 3) and every later call takes the faster. A
 * system property (kernel, cudnn or auto) chooses the mode; auto without it (each kernel behind one passed the
 * CUDA parity suite forced on: on an H100, 2026-11-27; the dense GEMM on an H200, the same day).
 */
final class FasterPath {
    /** Which implementation runs an op. */
    enum Path { KERNEL, CUDNN }

    /** What the first call of a key measured, in milliseconds, and what it chose. */
    record Choice(Path path, float kernelMs, float cudnnMs) {}

    private final String property, fallback;
    private final TimedChoices<Choice> choices = new TimedChoices<>();

    FasterPath(String property) { this(property, "auto"); }

    /** With the property unset, {@code fallback}: "auto", or "cudnn" for a kernel no GPU has run yet. */
    FasterPath(String property, String fallback) {
        this.property = property;
        this.fallback = fallback;
    }

    /** The path forced by the property, or null to choose by timing. */
    Path forced() {
        return switch (CudaFlags.oneOf(property, fallback, "kernel", "cudnn", "auto")) {
            case "kernel" -> Path.KERNEL;
            case "cudnn" -> Path.CUDNN;
            default -> null;
        };
    }

    /** The op by the forced path, else by the faster one for its key. */
    Tensor run(Supplier<String> key, Function<Path, Tensor> body) { return body.apply(choose(key, body)); }

    /** The forced path, else the faster for the op's key (the key built only then: this is on every conv call). */
    Path choose(Supplier<String> key, Function<Path, Tensor> body) {
        Path forced = forced();
        if (forced != null) return forced;
        String k = key.get();
        return choices.get(k, () -> measure(k, body)).path();
    }

    /** The choices made so far, by key (sorted, a copy). */
    Map<String, Choice> choices() { return choices.snapshot(); }

    private static Choice measure(String key, Function<Path, Tensor> body) {
        try (CudaTimer timer = new CudaTimer()) {
            float kernel = timer.median(() -> body.apply(Path.KERNEL).close(), 1, 3), cudnn;
            try {
                cudnn = timer.median(() -> body.apply(Path.CUDNN).close(), 1, 3);
            } catch (UnsupportedOperationException | CudaException e) {
                System.err.println(key + ": the cuDNN path failed (" + e.getMessage() + "); using the kernel");
                cudnn = Float.POSITIVE_INFINITY;
            }
            return new Choice(kernel <= cudnn ? Path.KERNEL : Path.CUDNN, kernel, cudnn);
        }
    }
}
