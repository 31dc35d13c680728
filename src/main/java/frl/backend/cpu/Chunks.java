package frl.backend.cpu;

/**
 * Splits a loop over n elements into at most {@link Parallel#threads()} contiguous ranges of at least
 * {@link #GRAIN} elements and runs them with {@link Parallel#forRange}. The split depends only on n, so
 * per-chunk partial results can be combined in a fixed order.
 */
final class Chunks {
    /** Elements below which a chunk is not worth a thread handoff (tens of microseconds of work). */
    static final int GRAIN = 1 << 15;

    @FunctionalInterface
    interface Body { void run(int chunk, long from, long to); }

    @FunctionalInterface
    interface Range { void run(long from, long to); }

    private Chunks() {}

    /** How many chunks a loop over n elements is split into. */
    static int count(long n) { return (int) Math.max(1, Math.min(Parallel.threads(), n / GRAIN)); }

    /** Runs body on chunk c = 0 … chunks−1, covering [n·c/chunks, n·(c+1)/chunks). */
    static void run(long n, int chunks, Body body) {
        Parallel.forRange(chunks, 1, (c0, c1) -> {
            for (int c = c0; c < c1; c++) body.run(c, n * c / chunks, n * (c + 1) / chunks);
        });
    }

    static void run(long n, Range body) { run(n, count(n), (c, from, to) -> body.run(from, to)); }
}
