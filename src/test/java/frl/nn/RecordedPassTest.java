package frl.nn;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.BinaryOp;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A recorded pass takes each replay's inputs and hands back its output (on the CPU a replay runs the pass's code;
 * ScorerTest checks the GPU's graphs); inputs of other shapes or counts, and a pass of another output, are refused.
 */
class RecordedPassTest {
    @Test void eachReplayComputesFromItsOwnInputs() {
        Backend cpu = Backends.cpu();
        Shape s = Shape.of(3);
        try (Scope _ = Scope.open(); RecordedPass pass = new RecordedPass(cpu, new Shape[] {s, s}, s, in -> cpu.binary(BinaryOp.MUL, in[0], in[1]))) {
            assertFalse(pass.recorded(), "the CPU reruns the pass");
            assertArrayEquals(new float[] {2, -6, 12}, pass.replay(cpu.fromHost(s, new float[] {1, 2, 3}), cpu.fromHost(s, new float[] {2, -3, 4})).toFloats());
            assertArrayEquals(new float[] {-1, 0, 9}, pass.replay(cpu.fromHost(s, new float[] {1, 0, 3}), cpu.fromHost(s, new float[] {-1, 5, 3})).toFloats());
            var e = assertThrows(IllegalArgumentException.class, () -> pass.replay(cpu.fromHost(s, new float[] {1, 2, 3})));
            assertEquals("the pass was recorded with 2 inputs, got 1", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> pass.replay(cpu.full(Shape.of(4), 1), cpu.full(s, 1)));
            assertEquals("input 0 of the recorded pass is [3], got [4]", e.getMessage());
        }
        try (Scope _ = Scope.open(); RecordedPass wrong = new RecordedPass(cpu, new Shape[] {s}, Shape.of(2), in -> cpu.affine(in[0], 2, 0))) {
            var e = assertThrows(IllegalArgumentException.class, () -> wrong.replay(cpu.full(s, 1)));
            assertEquals("the recorded pass gave [3], expected [2]", e.getMessage());
        }
    }
}
