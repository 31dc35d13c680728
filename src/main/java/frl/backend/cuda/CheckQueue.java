package frl.backend.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * The bookkeeping of deferred input checks (CudaContext.DeferredCheck): those queued since the last settling, in
 * order, with a running count so that a read can settle exactly the checks queued before it; those of a graph
 * being recorded (they run at each replay, not now); and those of live graphs (read at every full
 * synchronisation). Thread-safe.
 */
final class CheckQueue<T> {
    private final List<T> pending = new ArrayList<>();
    /** How many checks were ever queued; pending holds the last pending.size() of them. */
    private long queued;
    private List<T> recording;
    private final List<T> graphs = new ArrayList<>();

    /** Queues a check, or gives it to the graph being recorded. */
    synchronized void add(T check) {
        if (recording != null) recording.add(check);
        else {
            pending.add(check);
            queued++;
        }
    }

    /** A mark for {@link #takeBefore}: the checks queued so far. */
    synchronized long mark() { return queued; }

    /** Removes and returns the pending checks queued before {@code mark}, oldest first. */
    synchronized List<T> takeBefore(long mark) {
        long firstPending = queued - pending.size();
        int n = (int) Math.max(0, Math.min(mark, queued) - firstPending);
        List<T> head = pending.subList(0, n);
        List<T> due = new ArrayList<>(head);
        head.clear();
        return due;
    }

    synchronized boolean recording() { return recording != null; }

    /** Checks added from now on belong to the graph being recorded. */
    synchronized void beginRecording() { recording = new ArrayList<>(); }

    /** The recorded graph's checks (added since {@link #beginRecording}). */
    synchronized List<T> endRecording() {
        List<T> r = recording;
        recording = null;
        return r;
    }

    synchronized void addGraph(List<T> checks) { graphs.addAll(checks); }

    synchronized void removeGraph(List<T> checks) { graphs.removeAll(checks); }

    /** The checks of live graphs (a copy). */
    synchronized List<T> graphs() { return new ArrayList<>(graphs); }
}
