package frl.backend.cpu;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

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
    static int count(long n) { return count(n, GRAIN); }

    /** How many chunks of at least {@code grain} elements (at most {@link Parallel#threads()}, at least 1). */
    static int count(long n, long grain) { return (int) Math.max(1, Math.min(Parallel.threads(), n / Math.max(1, grain))); }

    /** Runs body on chunk c = 0 … chunks−1, covering [n·c/chunks, n·(c+1)/chunks). */
    static void run(long n, int chunks, Body body) {
        Parallel.forRange(chunks, 1, (c0, c1) -> {
            for (int c = c0; c < c1; c++) body.run(c, n * c / chunks, n * (c + 1) / chunks);
        });
    }

    static void run(long n, Range body) { run(n, count(n), (c, from, to) -> body.run(from, to)); }

    /**
     * dst[i] += parts[partsAt + j·size + i] for j = 0 … count−1 in that order, for i &lt; size: per-chunk partial sums
     * combined in a fixed order, so the same bits whatever the timing.
     */
    static void addParts(MemorySegment dst, MemorySegment parts, long partsAt, int count, long size) {
        if (count > 0) run(size, (from, to) -> {
            for (int j = 0; j < count; j++) {
                long at = partsAt + j * size;
                for (long i = from; i < to; i++) dst.setAtIndex(JAVA_FLOAT, i, dst.getAtIndex(JAVA_FLOAT, i) + parts.getAtIndex(JAVA_FLOAT, at + i));
            }
        });
    }
}
