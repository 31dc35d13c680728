package frl.nn;

import frl.backend.Backend;
import frl.backend.StepGraph;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.util.function.Function;

/**
 * A forward pass (a scoring chunk) recorded once ({@link Backend#capture}) over persistent input tensors into a
 * persistent output: each {@link #replay} copies the new inputs in, replays, and hands back the output, valid until
 * the next replay. Run the pass once as usual on inputs of these shapes before recording it, so every algorithm is
 * chosen; the pass must use backend ops alone (no copy to the host, no wait).
 */
public final class RecordedPass implements AutoCloseable {
    private final RecordedInputs inputs;
    private final Tensor output;
    private final StepGraph graph;

    /** Records {@code pass} over new tensors of these input shapes, its result copied into a new one of outputShape. */
    public RecordedPass(Backend backend, Shape[] inputShapes, Shape outputShape, Function<Tensor[], Tensor> pass) {
        inputs = new RecordedInputs(backend, "pass", inputShapes);
        Tensor out = null;
        try {
            out = Scope.unscoped(() -> backend.empty(outputShape));
            Tensor target = out;
            graph = backend.capture(() -> {
                Tensor result = pass.apply(inputs.tensors);
                if (!result.shape().equals(outputShape))
                    throw new IllegalArgumentException("the recorded pass gave " + result.shape() + ", expected " + outputShape);
                backend.copyInto(result, target);
            });
        } catch (RuntimeException e) {
            if (out != null) out.close();
            inputs.close();
            throw e;
        }
        output = out;
    }

    /** Queues the pass on these inputs (shaped as recorded); returns its output, valid until the next replay or close. */
    public Tensor replay(Tensor... fresh) {
        inputs.refresh(fresh);
        graph.replay();
        return output;
    }

    /** Whether a device graph was recorded (false: each replay runs the pass's code). */
    public boolean recorded() { return graph.recorded(); }

    @Override public void close() {
        try {
            graph.close();
        } finally {
            output.close();
            inputs.close();
        }
    }
}
