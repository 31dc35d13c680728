package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.DeviceClock;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Device time between marks on the stream: more for more work, marks reused once read, and holds. */
@Tag("gpu")
class CudaClockTest {
    @Test void aHoldKeepsTheDeviceBusyThatLong() {
        Backend cuda = GpuTests.cudaOrSkip();
        DeviceClock clock = cuda.clock();
        try (Scope s = Scope.open()) {
            Tensor x = cuda.full(Shape.of(1 << 20), 1);
            clock.hold(1);   // the kernel loaded before timing
            Object a = clock.mark();
            clock.hold(20);
            Object b = clock.mark(), c = clock.mark();
            cuda.affine(x, 2, 1);   // queued while the device is held: timed alone afterwards
            Object d = clock.mark();
            double held = clock.millisBetween(a, b), op = clock.millisBetween(c, d);
            assertTrue(held >= 19 && held < 200, "held " + held + " ms for 20");
            assertTrue(op < 5, "an affine over 1 Mi floats took " + op + " ms");
        }
    }

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
