package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.Backends;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** For tests tagged "gpu": the CUDA backend, or a skip with the one-line reason there is none. */
public final class GpuTests {
    private GpuTests() {}

    /**
     * Whether the tests run the GPU paths not yet verified on a GPU (those behind switches that are off by default:
     * bench/gpu/check.sh's NEW_PATHS). True unless -Dfrl.test.newPaths=false: check.sh runs the suite without them
     * first, so that a kernel that faults cannot poison the context for the verified paths' tests, then them alone.
     */
    public static boolean newPaths() { return !"false".equals(System.getProperty("frl.test.newPaths")); }

    /** For a test of new paths only: a skip, with the reason, under -Dfrl.test.newPaths=false. */
    public static void newPathsOrSkip() { assumeTrue(newPaths(), "a path not yet run on a GPU; -Dfrl.test.newPaths=false leaves it out"); }

    public static Backend cudaOrSkip() {
        assumeTrue(Backends.cuda().isPresent(), () -> "no CUDA backend here: " + Backends.cudaProblem());
        return Backends.cuda().orElseThrow();
    }
}
