package frl.backend;

import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** On a backend that runs ops at once, a recorded step runs at each replay, from the inputs as they are then. */
class StepGraphTest {
    @Test void theCpuRunsTheStepAtEachReplayAndNotBefore() {
        Backend cpu = Backends.cpu();
        try (Scope s = Scope.open()) {
            Tensor x = cpu.fromHost(Shape.of(2), new float[] {1, 2}), acc = cpu.full(Shape.of(2), 0);
            try (StepGraph g = cpu.capture(() -> cpu.axpy(2, x, acc))) {
                assertFalse(g.recorded());
                assertArrayEquals(new double[] {0, 0}, acc.toDoubles(), "nothing runs when the step is recorded");
                g.replay();
                x.copyFrom(new float[] {10, 20});
                g.replay();
                assertArrayEquals(new double[] {22, 44}, acc.toDoubles());
            }
        }
    }
}
