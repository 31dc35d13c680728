package frl.backend;

/**
 * The device work of one step, recorded once and replayed ({@link Backend#capture}). On a GPU the replay is one
 * CUDA graph launch instead of hundreds of kernel launches and no host work; on a backend that runs ops at once a
 * replay runs the step's code again. Either way a replay does what running the step's code would.
 * <p>
 * What the step may do: read and write tensors that outlive the graph (its inputs, refreshed in place between
 * replays, and its outputs, read after), and allocate temporaries, which the graph keeps. What it may not: copy
 * to or from the host, or depend on host values that change between replays (a random draw's counter, an
 * optimizer's step count): those belong before or after the replay.
 */
public interface StepGraph extends AutoCloseable {
    /** Queues the step. */
    void replay();

    /** Whether the step was recorded as a device graph (false: each replay runs its code). */
    boolean recorded();

    /** Frees what the graph holds (waits for its replays). */
    @Override void close();

    /** The graph of a backend that runs ops at once: each replay runs the step again. */
    static StepGraph rerun(Runnable step) {
        return new StepGraph() {
            @Override public void replay() { step.run(); }

            @Override public boolean recorded() { return false; }

            @Override public void close() {}
        };
    }
}
