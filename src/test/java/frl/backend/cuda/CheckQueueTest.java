package frl.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which deferred checks a read settles, and which belong to a graph (pure bookkeeping; the flags need a GPU). */
class CheckQueueTest {
    @Test void aReadSettlesExactlyTheChecksQueuedBeforeIt() {
        CheckQueue<String> q = new CheckQueue<>();
        q.add("a");
        q.add("b");
        long first = q.mark();
        q.add("c");
        long second = q.mark();
        q.add("d");
        assertEquals(List.of("a", "b"), q.takeBefore(first));
        assertEquals(List.of(), q.takeBefore(first), "settled once");
        q.add("e");
        assertEquals(List.of("c"), q.takeBefore(second));
        assertEquals(List.of("d", "e"), q.takeBefore(Long.MAX_VALUE));
        assertEquals(List.of(), q.takeBefore(Long.MAX_VALUE));
    }

    @Test void checksOfAGraphBeingRecordedAreNotPendingButReadWithTheLiveGraphs() {
        CheckQueue<String> q = new CheckQueue<>();
        q.add("before");
        q.beginRecording();
        assertTrue(q.recording());
        q.add("in graph");
        long mark = q.mark();
        List<String> graph = q.endRecording();
        assertFalse(q.recording());
        assertEquals(List.of("in graph"), graph);
        assertEquals(List.of("before"), q.takeBefore(mark), "the graph's check was not queued");
        q.addGraph(graph);
        assertEquals(List.of("in graph"), q.graphs());
        q.removeGraph(graph);
        assertEquals(List.of(), q.graphs());
    }
}
