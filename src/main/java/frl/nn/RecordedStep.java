package frl.nn;

import frl.backend.Backend;
import frl.backend.StepGraph;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.util.function.Consumer;

/**
 * A training step recorded once ({@link Backend#capture}) over persistent input tensors: the step's forward and
 * backward, then the optimizer's update. Each {@link #replay} copies the new inputs in and prepares the optimizer's
 * step (its counts and factors, on the host) before replaying. Run the step once as usual before recording it, so
 * every algorithm is chosen.
 */
public final class RecordedStep implements AutoCloseable {
    private final Optimizer optimizer;
    private final RecordedInputs inputs;
    private final StepGraph graph;

    /** Records {@code forwardBackward} over new tensors of these shapes, followed by the optimizer's update. */
    public RecordedStep(Backend backend, Optimizer optimizer, Shape[] shapes, Consumer<Tensor[]> forwardBackward) {
        this.optimizer = optimizer;
        inputs = new RecordedInputs(backend, "step", shapes);
        try {
            graph = backend.capture(() -> {
                forwardBackward.accept(inputs.tensors);
                optimizer.apply();
            });
        } catch (RuntimeException e) {
            inputs.close();
            throw e;
        }
    }

    /** Queues the step on these inputs (shaped as recorded). */
    public void replay(Tensor... fresh) {
        inputs.refresh(fresh);
        long[] counted = optimizer.steps();
        optimizer.prepare();
        try {
            graph.replay();
        } catch (RuntimeException e) { // the update did not run: the step counts (saved with a checkpoint) must not say it did
            optimizer.setSteps(counted);
            throw e;
        }
    }

    /** Whether a device graph was recorded (false: each replay runs the step's code). */
    public boolean recorded() { return graph.recorded(); }

    @Override public void close() {
        try {
            graph.close();
        } finally {
            inputs.close();
        }
    }
}
