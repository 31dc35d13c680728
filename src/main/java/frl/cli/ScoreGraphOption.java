package frl.cli;

import frl.backend.Backend;
import picocli.CommandLine.Option;

/** --score-graph of the commands that score (eval, score, bench). */
final class ScoreGraphOption {
    @Option(names = "--score-graph", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "On a GPU (default; --no-score-graph scores each chunk op by op), record the first whole scoring chunk's passes as a CUDA graph and replay it for the next whole chunks: the same ops, one launch per chunk. A chunk that cannot be recorded is scored as usual, with a warning. The CPU scores each chunk as it comes.")
    boolean graph;

    /** Whether scoring chunks on this backend are recorded: asked for (the default) and on a GPU. */
    boolean records(Backend be) { return graph && !be.device().isHost(); }
}
