package frl.nn;

import frl.autograd.Pointwise;
import frl.autograd.Reduce;
import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A recorded step takes each replay's inputs and counts an optimizer step per replay: the same weights as running
 * the steps (on the CPU a replay runs the step's code; CudaGraphTest and TrainerTest check the GPU's graphs).
 */
class RecordedStepTest {
    private static final float[][] INPUTS = {{1, -2, 3}, {0.5f, 4, -1}, {-3, 1, 2}};

    /** loss = Σ w·x, so the gradient is x. */
    private static void forwardBackward(Parameter w, Optimizer opt, Tensor x) {
        opt.zeroGrad();
        Reduce.sumAll(Pointwise.mul(w, Var.constant(x))).backward();
    }

    @Test void replaysTrainAsTheStepsRun() {
        Backend cpu = Backends.cpu();
        try (Parameter run = Parameter.full(cpu, Shape.of(3), 0.5); Parameter replayed = Parameter.full(cpu, Shape.of(3), 0.5);
             Adam runOpt = new Adam(List.of(run), 0.1); Adam replayOpt = new Adam(List.of(replayed), 0.1)) {
            try (Scope s = Scope.open()) {   // the first step runs as usual on both
                forwardBackward(run, runOpt, cpu.fromHost(Shape.of(3), INPUTS[0]));
                runOpt.step();
                forwardBackward(replayed, replayOpt, cpu.fromHost(Shape.of(3), INPUTS[0]));
                replayOpt.step();
            }
            try (RecordedStep step = new RecordedStep(cpu, replayOpt, new Shape[] {Shape.of(3)}, in -> forwardBackward(replayed, replayOpt, in[0]))) {
                assertFalse(step.recorded(), "the cpu runs the step again");
                for (int i = 1; i < INPUTS.length; i++) {
                    try (Scope s = Scope.open()) {
                        forwardBackward(run, runOpt, cpu.fromHost(Shape.of(3), INPUTS[i]));
                        runOpt.step();
                        step.replay(cpu.fromHost(Shape.of(3), INPUTS[i]));
                    }
                    assertArrayEquals(run.value().toFloats(), replayed.value().toFloats(), "after step " + (i + 1));
                }
                assertArrayEquals(runOpt.steps(), replayOpt.steps());
                assertThrows(IllegalArgumentException.class, step::replay);
            }
        }
    }

    @Test void aReplayThatFailsCountsNoStep() {
        Backend cpu = Backends.cpu();
        boolean[] fail = {false};
        try (Parameter w = Parameter.full(cpu, Shape.of(3), 0.5); Adam opt = new Adam(List.of(w), 0.1)) {
            try (Scope s = Scope.open()) {
                forwardBackward(w, opt, cpu.fromHost(Shape.of(3), INPUTS[0]));
                opt.step();
            }
            try (RecordedStep step = new RecordedStep(cpu, opt, new Shape[] {Shape.of(3)}, in -> {
                if (fail[0]) throw new IllegalStateException("the device refused the graph");
                forwardBackward(w, opt, in[0]);
            })) {
                long[] before = opt.steps();
                float[] weights = w.value().toFloats();
                fail[0] = true;
                try (Scope s = Scope.open()) {
                    Tensor x = cpu.fromHost(Shape.of(3), INPUTS[1]);
                    assertThrows(IllegalStateException.class, () -> step.replay(x));
                }
                assertArrayEquals(before, opt.steps(), "no update ran, so no step is counted");
                assertArrayEquals(weights, w.value().toFloats());
                fail[0] = false;
                try (Scope s = Scope.open()) { step.replay(cpu.fromHost(Shape.of(3), INPUTS[1])); }
                assertArrayEquals(new long[] {before[0] + 1}, opt.steps());
            }
        }
    }
}
