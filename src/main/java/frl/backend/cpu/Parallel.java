package frl.backend.cpu;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A parallel-for over the machine's cores (or -Dfrl.threads=N). Nested calls run serially on the calling
 * thread, so an op called from inside another op's loop never waits on the workers it is running on; so does a
 * call made while another thread's loop holds the workers.
 *
 * <p>Handing a loop to a parked thread took about 50 µs here (an executor's submit and wait, empty bodies), which
 * a model's hundreds of small ops a step paid each time. So a worker waits {@link #SPIN_NANOS} for its next loop
 * before it parks, and the caller waits as long for the workers before it parks: a loop handed to a waiting worker
 * costs about a microsecond. The first 20 µs of a wait spin; the rest yield the CPU between looks, so that the JIT's
 * and the collector's threads get these 2 cores: spinning all along, a step of actnorm and 1×1 forward and backward at
 * [64, 16, 16, 16] took 0.35 ms in some stretches and 2.5 ms in others, with 5–10 ms outliers; with the yields it
 * takes 0.9–1.4 ms throughout (1.2–1.6 ms with the executor).
 */
public final class Parallel {
    private static final int THREADS = Math.max(1, Integer.getInteger("frl.threads", Runtime.getRuntime().availableProcessors()));
    /** How long an idle worker, or a caller waiting for its workers, waits (spinning, then yielding) before it parks (-Dfrl.spinMicros). */
    private static final long SPIN_NANOS = Long.getLong("frl.spinMicros", 200) * 1000;
    /** The first part of that spin, on the CPU's pause instruction; after it the thread yields its CPU between looks. */
    private static final long PAUSE_NANOS = Math.min(SPIN_NANOS, 20_000);
    private static final Worker[] WORKERS = new Worker[THREADS - 1];
    private static final AtomicBoolean HELD = new AtomicBoolean();
    private static final ThreadLocal<Boolean> INSIDE = ThreadLocal.withInitial(() -> false);

    static {
        for (int i = 0; i < WORKERS.length; i++) {
            WORKERS[i] = new Worker(i + 1);
            WORKERS[i].start();
        }
    }

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
        if (chunks <= 1 || INSIDE.get() || !HELD.compareAndSet(false, true)) {
            if (n > 0) body.run(0, n);
            return;
        }
        try {
            Loop loop = new Loop(body, n, chunks);
            for (int c = 1; c < chunks; c++) WORKERS[c - 1].hand(loop);
            Throwable callerFailure = null;
            INSIDE.set(true);
            try {
                loop.runChunk(0);
            } catch (Throwable e) {
                // still wait: the other chunks may be writing memory a scope is about to free, and a worker still in
                // this loop must not be handed the next one
                callerFailure = e;
            } finally {
                INSIDE.set(false);
            }
            loop.await();
            rethrow(callerFailure != null ? callerFailure : loop.failure);
        } finally {
            HELD.set(false);
        }
    }

    /**
     * One look's pause in a wait that has lasted {@code waited} ns: the CPU's pause instruction for the first
     * {@link #PAUSE_NANOS}, then yielding the CPU; false, with no pause, once the wait reaches {@link #SPIN_NANOS}
     * (the waiter parks then).
     */
    private static boolean spin(long waited) {
        if (waited >= SPIN_NANOS) return false;
        if (waited < PAUSE_NANOS) Thread.onSpinWait();
        else Thread.yield();
        return true;
    }

    /** Throws f as it is (an Error or RuntimeException; anything else wrapped), if not null. */
    private static void rethrow(Throwable f) {
        if (f instanceof Error e) throw e;
        if (f instanceof RuntimeException e) throw e;
        if (f != null) throw new IllegalStateException(f);
    }

    /** One forRange call: its chunks, the workers' chunks still running, and the first failure among theirs. */
    private static final class Loop {
        final Range body;
        final int n, chunks;
        final AtomicInteger running;
        final Thread caller = Thread.currentThread();
        volatile Throwable failure;

        Loop(Range body, int n, int chunks) {
            this.body = body;
            this.n = n;
            this.chunks = chunks;
            this.running = new AtomicInteger(chunks - 1);
        }

        void runChunk(int c) { body.run((int) ((long) n * c / chunks), (int) ((long) n * (c + 1) / chunks)); }

        /** A worker's chunk ended (normally or not); the last one wakes the caller if it parked. */
        void done() {
            if (running.decrementAndGet() == 0) LockSupport.unpark(caller);
        }

        void await() {
            long start = System.nanoTime();
            while (running.get() > 0)
                if (!spin(System.nanoTime() - start)) LockSupport.parkNanos(this, 100_000);
        }
    }

    /** A thread that runs chunk {@code chunk} of each loop handed to it. */
    private static final class Worker extends Thread {
        private final int chunk;
        private volatile Loop loop;
        private volatile boolean parked;

        Worker(int chunk) {
            super("frl-cpu-" + chunk);
            this.chunk = chunk;
            setDaemon(true);
        }

        void hand(Loop l) {
            loop = l;
            if (parked) LockSupport.unpark(this);   // parked is set before its last look at loop: no wake-up is lost
        }

        @Override public void run() {
            INSIDE.set(true);
            while (true) {
                Loop l = next();
                try {
                    l.runChunk(chunk);
                } catch (Throwable t) {
                    if (l.failure == null) l.failure = t;
                } finally {
                    loop = null;
                    l.done();
                }
            }
        }

        private Loop next() {
            long start = System.nanoTime();
            while (true) {
                Loop l = loop;
                if (l != null) return l;
                if (spin(System.nanoTime() - start)) continue;
                parked = true;
                if (loop == null) LockSupport.park(this);
                parked = false;
                start = System.nanoTime();
            }
        }
    }
}
