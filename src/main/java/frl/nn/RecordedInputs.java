package frl.nn;

import frl.backend.Backend;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/** The persistent inputs of a recorded graph (RecordedStep, RecordedPass): made once, refreshed in place before each replay. */
final class RecordedInputs implements AutoCloseable {
    private final Backend backend;
    private final String what;
    final Tensor[] tensors;

    /** New tensors of these shapes, owned here (no scope frees them); what names the graph in errors ("step", "pass"). */
    RecordedInputs(Backend backend, String what, Shape[] shapes) {
        this.backend = backend;
        this.what = what;
        tensors = new Tensor[shapes.length];
        try {
            for (int i = 0; i < shapes.length; i++) {
                Shape s = shapes[i];
                tensors[i] = Scope.unscoped(() -> backend.empty(s));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Copies the fresh inputs in: as many as recorded, each of its recorded shape. */
    void refresh(Tensor... fresh) {
        if (fresh.length != tensors.length) throw new IllegalArgumentException("the " + what + " was recorded with " + tensors.length + " inputs, got " + fresh.length);
        for (int i = 0; i < tensors.length; i++) {
            if (!fresh[i].shape().equals(tensors[i].shape()))
                throw new IllegalArgumentException("input " + i + " of the recorded " + what + " is " + tensors[i].shape() + ", got " + fresh[i].shape());
            backend.copyInto(fresh[i], tensors[i]);
        }
    }

    @Override public void close() {
        for (Tensor t : tensors) if (t != null) t.close();
    }
}
