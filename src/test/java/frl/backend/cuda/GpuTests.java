package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.Backends;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** For tests tagged "gpu": the CUDA backend, or a skip with the one-line reason there is none. */
public final class GpuTests {
    private GpuTests() {}

    public static Backend cudaOrSkip() {
        assumeTrue(Backends.cuda().isPresent(), () -> "no CUDA backend here: " + Backends.cudaProblem());
        return Backends.cuda().orElseThrow();
    }
}
