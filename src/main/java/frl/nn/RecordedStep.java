package frl.nn;

import frl.backend.Backend;
import frl.backend.StepGraph;
import frl.tensor.Scope;
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
    private final Backend backend;
    private final Optimizer optimizer;
    private final Tensor[] inputs;
    private final StepGraph graph;

    /** Records {@code forwardBackward} over new tensors of these shapes, followed by the optimizer's update. */
    public RecordedStep(Backend backend, Optimizer optimizer, Shape[] shapes, Consumer<Tensor[]> forwardBackward) {
        this.backend = backend;
        this.optimizer = optimizer;
        inputs = new Tensor[shapes.length];
        try {
            for (int i = 0; i < shapes.length; i++) {
                Shape s = shapes[i];
                inputs[i] = Scope.unscoped(() -> backend.empty(s));
            }
            graph = backend.capture(() -> {
                forwardBackward.accept(inputs);
                optimizer.apply();
            });
        } catch (RuntimeException e) {
            closeInputs();
            throw e;
        }
    }

    /** Queues the step on these inputs (shaped as recorded). */
    public void replay(Tensor... fresh) {
        if (fresh.length != inputs.length) throw new IllegalArgumentException("the step was recorded with " + inputs.length + " inputs, got " + fresh.length);
        for (int i = 0; i < inputs.length; i++) backend.copyInto(fresh[i], inputs[i]);
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

    private void closeInputs() {
        for (Tensor t : inputs) if (t != null) t.close();
    }

    @Override public void close() {
        try {
            graph.close();
        } finally {
            closeInputs();
        }
    }
}
