package frl.backend.cpu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A lost wake-up would hang a loop: the timeout makes that a failure. */
@Timeout(60)
class ParallelTest {
    /** Every index of [0, n) runs exactly once, whatever n and the grain. */
    @Test void coversEveryIndexOnce() {
        for (int n : new int[] {0, 1, 2, 3, 7, 64, 1001})
            for (int grain : new int[] {1, 2, 5, 1000}) {
                AtomicIntegerArray seen = new AtomicIntegerArray(Math.max(1, n));
                Parallel.forRange(n, grain, (from, to) -> {
                    for (int i = from; i < to; i++) seen.incrementAndGet(i);
                });
                for (int i = 0; i < n; i++) assertEquals(1, seen.get(i), "index " + i + " of n = " + n + ", grain " + grain);
            }
    }

    /** Chunks run on the workers too, and still do after the workers have parked (a pause past their spin). */
    @Test void chunksRunOnSeveralThreadsBeforeAndAfterTheWorkersPark() throws InterruptedException {
        assumeTrue(Parallel.threads() >= 2, "one thread: nothing runs in parallel");
        for (int round = 0; round < 3; round++) {
            Set<Thread> ran = ConcurrentHashMap.newKeySet();
            Parallel.forRange(Parallel.threads(), 1, (from, to) -> ran.add(Thread.currentThread()));
            assertEquals(Parallel.threads(), ran.size(), "round " + round);
            Thread.sleep(20);
        }
    }

    /** A chunk's failure reaches the caller, after every other chunk has ended; the next loop runs as usual. */
    @Test void aWorkersFailureIsRethrownOnceAllChunksEnded() {
        assumeTrue(Parallel.threads() >= 2, "one thread: the caller runs every chunk");
        AtomicInteger ended = new AtomicInteger();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Parallel.forRange(Parallel.threads(), 1, (from, to) -> {
            if (from > 0) throw new IllegalStateException("chunk " + from);
            try {
                Thread.sleep(30);
            } catch (InterruptedException ie) {
                throw new AssertionError(ie);
            }
            ended.incrementAndGet();
        }));
        assertTrue(e.getMessage().startsWith("chunk "), e.getMessage());
        assertEquals(1, ended.get(), "the caller's chunk ended before the failure was rethrown");
        AtomicInteger sum = new AtomicInteger();
        Parallel.forRange(100, 1, (from, to) -> sum.addAndGet(to - from));
        assertEquals(100, sum.get());
    }

    /**
     * An Error in the caller's chunk (an assertion, say) is rethrown only after the workers' chunks have ended, so the
     * next loop cannot be handed to a worker still running the last one (that loop's chunk would be lost).
     */
    @Test void anErrorInTheCallersChunkWaitsForTheWorkers() {
        assumeTrue(Parallel.threads() >= 2, "one thread: the caller runs every chunk");
        AtomicInteger ended = new AtomicInteger();
        AssertionError e = assertThrows(AssertionError.class, () -> Parallel.forRange(Parallel.threads(), 1, (from, to) -> {
            if (from == 0) throw new AssertionError("caller's chunk");
            try {
                Thread.sleep(50);
            } catch (InterruptedException ie) {
                throw new IllegalStateException(ie);
            }
            ended.incrementAndGet();
        }));
        assertEquals("caller's chunk", e.getMessage());
        assertEquals(Parallel.threads() - 1, ended.get(), "the workers' chunks ended before the Error was rethrown");
        AtomicIntegerArray seen = new AtomicIntegerArray(1000);
        Parallel.forRange(1000, 1, (from, to) -> {
            for (int i = from; i < to; i++) seen.incrementAndGet(i);
        });
        for (int i = 0; i < 1000; i++) assertEquals(1, seen.get(i), "index " + i + " of the next loop");
    }

    /** A loop inside a chunk runs serially on that chunk's thread. */
    @Test void nestedLoopsRunOnTheCallingThread() {
        AtomicInteger elsewhere = new AtomicInteger(), inner = new AtomicInteger();
        Parallel.forRange(8, 1, (from, to) -> {
            Thread outer = Thread.currentThread();
            Parallel.forRange(1000, 1, (f, t) -> {
                if (Thread.currentThread() != outer) elsewhere.incrementAndGet();
                inner.addAndGet(t - f);
            });
        });
        assertEquals(0, elsewhere.get());
        assertEquals(Math.min(8, Parallel.threads()) * 1000, inner.get());
    }

    /** Two threads' loops at once: each covers its range, whichever holds the workers. */
    @Test void concurrentCallersEachCoverTheirRange() throws InterruptedException {
        int n = 5000;
        AtomicIntegerArray[] seen = {new AtomicIntegerArray(n), new AtomicIntegerArray(n)};
        CountDownLatch start = new CountDownLatch(1);
        Thread[] callers = new Thread[2];
        Throwable[] failed = new Throwable[2];
        for (int k = 0; k < 2; k++) {
            int which = k;
            callers[k] = new Thread(() -> {
                try {
                    start.await();
                    for (int rep = 0; rep < 200; rep++)
                        Parallel.forRange(n, 1, (from, to) -> {
                            for (int i = from; i < to; i++) seen[which].incrementAndGet(i);
                        });
                } catch (Throwable t) {
                    failed[which] = t;
                }
            });
            callers[k].start();
        }
        start.countDown();
        for (Thread t : callers) t.join();
        for (int k = 0; k < 2; k++) {
            assertNull(failed[k]);
            for (int i = 0; i < n; i++) assertEquals(200, seen[k].get(i), "caller " + k + ", index " + i);
        }
    }
}
