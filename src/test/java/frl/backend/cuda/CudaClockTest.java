package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.DeviceClock;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Device time between marks on the stream: more for more work, and marks reused once read. */
@Tag("gpu")
class CudaClockTest {
    @Test void marksAroundWorkTimeIt() {
        Backend cuda = GpuTests.cudaOrSkip();
        DeviceClock clock = cuda.clock();
        try (Scope s = Scope.open()) {
            Tensor big = cuda.full(Shape.of(64 << 20), 1), out = cuda.empty(big.shape());
            for (int round = 0; round < 3; round++) {
                Object a = clock.mark();
                cuda.copyInto(big, out);
                Object b = clock.mark(), c = clock.mark();   // a pair is released when read: one pair per interval
                for (int i = 0; i < 10; i++) cuda.copyInto(big, out);
                Object d = clock.mark();
                cuda.synchronize();
                double one = clock.millisBetween(a, b), ten = clock.millisBetween(c, d);
                assertTrue(one > 0 && ten > 5 * one && ten < 1000, "round " + round + ": one copy " + one + " ms, ten " + ten + " ms");
            }
        }
    }
}
