package frl.backend.cuda;

import frl.backend.BackendOpsTest;
import frl.backend.OpHarness;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

import java.util.stream.Stream;

/** The parity suite: every op case of {@link BackendOpsTest} on the CUDA backend against the float64 reference. */
@Tag("gpu")
class CudaBackendOpsTest {
    @TestFactory
    Stream<DynamicTest> everyOpMatchesTheReference() {
        var cuda = GpuTests.cudaOrSkip();
        return BackendOpsTest.cases().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> OpHarness.check(c, cuda)));
    }
}
