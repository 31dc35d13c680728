package frl.cli;

import frl.backend.Backend;
import picocli.CommandLine.Option;

/** --score-graph of the commands that score (eval, score, bench). */
final class ScoreGraphOption {
    @Option(names = "--score-graph", negatable = true, defaultValue = "false", fallbackValue = "true",
            description = "On a GPU, record the first whole scoring chunk's passes as a CUDA graph and replay it for the next whole chunks: the same ops, one launch per chunk. New and not yet run on a GPU, so off by default. A chunk that cannot be recorded is scored as usual, with a warning. The CPU scores each chunk as it comes.")
    boolean graph;

    /** Whether scoring chunks on this backend are recorded: asked for and on a GPU. */
    boolean records(Backend be) { return graph && !be.device().isHost(); }
}
