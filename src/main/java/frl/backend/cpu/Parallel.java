package frl.backend.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A parallel-for over the machine's cores (or -Dfrl.threads=N). Nested calls run serially on the calling
 * thread, so an op called from inside another op's loop never waits on the pool it is running in.
 */
public final class Parallel {
    private static final int THREADS = Integer.getInteger("frl.threads", Runtime.getRuntime().availableProcessors());
    private static final ExecutorService POOL = Executors.newFixedThreadPool(Math.max(1, THREADS - 1), r -> {
        Thread t = new Thread(r, "frl-cpu");
        t.setDaemon(true);
        return t;
    });
    private static final ThreadLocal<Boolean> INSIDE = ThreadLocal.withInitial(() -> false);

    /** Body of a loop over [from, to). */
    @FunctionalInterface
    public interface Range { void run(int from, int to); }

    private Parallel() {}

    public static int threads() { return THREADS; }

    /**
     * Splits [0, n) into at most {@link #threads()} contiguous chunks and runs them at once; loops with less
     * than {@code grain} items per chunk run serially.
     */
    public static void forRange(int n, int grain, Range body) {
        int chunks = (int) Math.min(THREADS, Math.max(1, n / (long) Math.max(1, grain)));
        if (chunks <= 1 || INSIDE.get()) {
            if (n > 0) body.run(0, n);
            return;
        }
        List<Future<?>> futures = new ArrayList<>(chunks - 1);
        for (int c = 1; c < chunks; c++) {
            int from = (int) ((long) n * c / chunks), to = (int) ((long) n * (c + 1) / chunks);
            futures.add(POOL.submit(() -> {
                INSIDE.set(true);
                try { body.run(from, to); } finally { INSIDE.set(false); }
            }));
        }
        RuntimeException callerFailure = null;
        INSIDE.set(true);
        try {
            body.run(0, (int) ((long) n / chunks));
        } catch (RuntimeException e) {
            callerFailure = e; // still wait below: the other chunks may be writing memory a scope is about to free
        } finally {
            INSIDE.set(false);
        }
        awaitAll(futures);
        if (callerFailure != null) throw callerFailure;
    }

    private static void awaitAll(List<Future<?>> futures) {
        RuntimeException first = null;
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof Error er) throw er;
                if (first == null) first = e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (first == null) first = new IllegalStateException("interrupted", e);
            }
        }
        if (first != null) throw first;
    }
}
