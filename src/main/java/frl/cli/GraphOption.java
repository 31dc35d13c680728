package frl.cli;

import frl.backend.Backend;
import picocli.CommandLine.Option;

/** --graph / --no-graph of the commands that run training steps (train, bench). */
final class GraphOption {
    @Option(names = "--graph", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "On a GPU (default; --no-graph runs each step op by op), record the training step (forward, backward, Adam update) as a CUDA graph once it has run (bench: after the warm-up) and replay it: the same ops, one launch per step. A step that cannot be recorded runs as usual, with a warning. The CPU runs each step as it comes.")
    boolean graph;

    /** Whether steps on this backend are recorded: asked for (the default) and on a GPU. */
    boolean records(Backend be) { return graph && !be.device().isHost(); }
}
