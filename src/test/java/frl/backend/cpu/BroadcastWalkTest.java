package frl.backend.cpu;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static frl.backend.cpu.CpuTesting.shape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BroadcastWalkTest {
    /** Per element of the space: {position, offset in a, offset in b}. */
    private static List<List<Long>> elements(BroadcastWalk w, long from, long to) {
        List<List<Long>> out = new ArrayList<>();
        w.walk(from, to, (pos, a, b, n) -> {
            for (int i = 0; i < n; i++) out.add(List.of(pos + i, w.repeatsA() ? a : a + i, w.repeatsB() ? b : b + i));
        });
        return out;
    }

    @Test
    void offsetsFollowBroadcastingAndPiecesJoinUp() {
        // [3,1,5] with [4,1] in [3,4,5]: a at (i, 0, k) = 5i + k, b at (j, 0) = j.
        BroadcastWalk w = new BroadcastWalk(shape(3, 4, 5), shape(3, 1, 5), shape(4, 1));
        List<List<Long>> all = elements(w, 0, 60);
        for (int i = 0; i < 3; i++) for (int j = 0; j < 4; j++) for (int k = 0; k < 5; k++) {
            long pos = (i * 4 + j) * 5 + k;
            assertEquals(List.of(pos, 5L * i + k, (long) j), all.get((int) pos));
        }
        List<List<Long>> pieces = new ArrayList<>(elements(w, 0, 7));
        pieces.addAll(elements(w, 7, 23));
        pieces.addAll(elements(w, 23, 60));
        assertEquals(all, pieces);
    }

    @Test
    void alikeAxesMergeIntoLongRuns() {
        List<Integer> runs = new ArrayList<>();
        new BroadcastWalk(shape(2, 3, 4, 5), shape(2, 3, 4, 5), shape(2, 3, 4, 5)).walk(0, 120, (p, a, b, n) -> runs.add(n));
        assertEquals(List.of(120), runs);
        runs.clear();
        BroadcastWalk channel = new BroadcastWalk(shape(2, 3, 4, 5), shape(2, 3, 4, 5), shape(1, 3, 1, 1));
        channel.walk(0, 120, (p, a, b, n) -> runs.add(n));
        assertEquals(6, runs.size());
        assertTrue(channel.repeatsB());
        assertFalse(channel.repeatsA());
    }

    @Test
    void theChannelAxisIsTheOneAxisTheSmallShapeSpans() {
        assertEquals(1, BroadcastWalk.channelAxis(shape(2, 3, 4, 5), shape(1, 3, 1, 1)));
        assertEquals(1, BroadcastWalk.channelAxis(shape(2, 3, 4, 5), shape(3, 1, 1)));
        assertEquals(1, BroadcastWalk.channelAxis(shape(5, 7), shape(7)));
        assertEquals(0, BroadcastWalk.channelAxis(shape(33, 17), shape(33, 1)));
        assertEquals(-1, BroadcastWalk.channelAxis(shape(2, 3, 4, 5), shape(1, 3, 4, 1)), "two axes");
        assertEquals(-1, BroadcastWalk.channelAxis(shape(2, 3, 4, 5), shape(1, 1, 1, 1)), "one value");
        assertEquals(-1, BroadcastWalk.channelAxis(shape(2, 3, 4, 5), shape(1, 2, 1, 1)), "not the axis's size");
        assertEquals(-1, BroadcastWalk.channelAxis(shape(3, 4), shape(2, 3, 4)), "more axes than the space");
    }
}
