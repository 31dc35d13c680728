package frl.backend;

import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Per-op calls and host time, and in DEVICE mode device time from clock marks around each op. */
class ProfilingBackendTest {
    /** Marks that count up by one, so every op "takes" 1 ms of device time; reading mark {@code failAt} fails once. */
    private static final class CountingClock implements DeviceClock {
        long next, failAt = -1, reads;

        @Override public Object mark() { return next++; }

        @Override public double millisBetween(Object a, Object b) {
            reads++;
            if ((Long) b == failAt) {
                failAt = -1;
                throw new IllegalStateException("mark " + b + " unreadable");
            }
            return (Long) b - (Long) a;
        }

        @Override public void hold(double millis) {}
    }

    /** The CPU backend with that clock. */
    private static Backend withClock(Backend cpu, DeviceClock clock) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (p, m, args) -> {
            if (m.getName().equals("clock")) return clock;
            try {
                return m.invoke(cpu, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }

    private static Map<String, Object> row(List<Map<String, Object>> table, String op) {
        return table.stream().filter(r -> r.get("op").equals(op)).findFirst().orElseThrow();
    }

    private static void someOps(Backend be) {
        try (Scope s = Scope.open()) {
            Tensor x = be.full(Shape.of(8), 1);
            for (int i = 0; i < 3; i++) be.affine(x, 2, 1);
            for (int i = 0; i < 2; i++) be.unary(UnaryOp.EXP, x, 0, 0);
        }
    }

    @Test void countsCallsAndHostTimePerOp() {
        for (ProfilingBackend.Mode mode : new ProfilingBackend.Mode[] {ProfilingBackend.Mode.QUEUED, ProfilingBackend.Mode.WAIT_EACH}) {
            ProfilingBackend prof = new ProfilingBackend(Backends.cpu(), mode);
            someOps(prof.backend());
            List<Map<String, Object>> table = prof.table(1);
            assertEquals(3.0, row(table, "affine").get("calls_per"));
            assertEquals(2.0, row(table, "unary").get("calls_per"));
            assertTrue(row(table, "affine").containsKey("us_per"));
            assertFalse(row(table, "affine").containsKey("device_us_per"));
            assertEquals(mode.label, row(table, "affine").get("profile"));
        }
        var e = assertThrows(IllegalArgumentException.class, () -> new ProfilingBackend(Backends.cpu(), ProfilingBackend.Mode.DEVICE));
        assertTrue(e.getMessage().contains("no device clock"), e.getMessage());
    }

    @Test void addsTheDeviceTimeBetweenTheMarksAroundEachOp() {
        CountingClock clock = new CountingClock();
        ProfilingBackend prof = new ProfilingBackend(withClock(Backends.cpu(), clock), ProfilingBackend.Mode.DEVICE);
        someOps(prof.backend());
        prof.reset();
        assertEquals(6, clock.reads, "reset reads (so frees) the warm-up's marks");
        assertEquals(0.0, prof.deviceMillis());
        someOps(prof.backend());
        prof.harvest();
        List<Map<String, Object>> table = prof.table(1);
        assertEquals(3000.0, row(table, "affine").get("device_us_per"));
        assertEquals(2000.0, row(table, "unary").get("device_us_per"));
        assertEquals(List.of("affine", "unary", "full"), table.stream().map(r -> r.get("op")).toList(), "most device time first");
        assertEquals(6.0, prof.deviceMillis(), "full, 3 affine, 2 exp");
        prof.harvest();
        assertEquals(6.0, prof.deviceMillis(), "each op harvested once");
    }

    @Test void splitsTheDeviceTimeByTheShapesAnOpWasCalledWith() {
        CountingClock clock = new CountingClock();
        ProfilingBackend prof = new ProfilingBackend(withClock(Backends.cpu(), clock), ProfilingBackend.Mode.DEVICE);
        Backend be = prof.backend();
        try (Scope s = Scope.open()) {
            Tensor small = be.full(Shape.of(8), 1), large = be.full(Shape.of(2, 16), 1);
            for (int i = 0; i < 3; i++) be.affine(large, 2, 1);
            be.affine(small, 2, 1);
        }
        prof.harvest();
        List<Map<String, Object>> shapes = prof.shapeTable(1, 1);
        assertEquals(List.of("affine [2, 16]"), shapes.stream().map(r -> r.get("op_shapes")).toList(), "the slowest");
        assertEquals(3.0, shapes.get(0).get("calls_per"));
        assertEquals(3000.0, shapes.get(0).get("device_us_per"));
        assertEquals(List.of("affine [2, 16]", "affine [8]", "full [2, 16]", "full [8]"),
                prof.shapeTable(1, 10).stream().map(r -> (String) r.get("op_shapes")).sorted().toList());
        assertEquals(4000.0, row(prof.table(1), "affine").get("device_us_per"), "the per-op row still sums every shape");
        assertTrue(new ProfilingBackend(Backends.cpu(), ProfilingBackend.Mode.QUEUED).shapeTable(1, 5).isEmpty(), "not when QUEUED");
    }

    @Test void splitsTheHostTimeByShapesWhenEachOpIsWaitedFor() {
        ProfilingBackend prof = new ProfilingBackend(Backends.cpu(), ProfilingBackend.Mode.WAIT_EACH);
        Backend be = prof.backend();
        try (Scope s = Scope.open()) {
            Tensor small = be.full(Shape.of(8), 1), large = be.full(Shape.of(2, 16), 1);
            for (int i = 0; i < 3; i++) be.affine(large, 2, 1);
            be.affine(small, 2, 1);
        }
        List<Map<String, Object>> shapes = prof.shapeTable(1, 10);
        assertEquals(List.of("affine [2, 16]", "affine [8]", "full [2, 16]", "full [8]"), shapes.stream().map(r -> (String) r.get("op_shapes")).sorted().toList());
        Map<String, Object> large = shapes.stream().filter(r -> r.get("op_shapes").equals("affine [2, 16]")).findFirst().orElseThrow();
        assertEquals(3.0, large.get("calls_per"));
        assertTrue(large.containsKey("us_per") && !large.containsKey("device_us_per"), large.toString());
    }

    @Test void aMarkIsReadOnceEvenWhenReadingItFails() {
        CountingClock clock = new CountingClock();
        ProfilingBackend prof = new ProfilingBackend(withClock(Backends.cpu(), clock), ProfilingBackend.Mode.DEVICE);
        someOps(prof.backend());
        clock.failAt = 3;   // the second op's closing mark
        assertThrows(IllegalStateException.class, prof::harvest);
        prof.harvest();
        assertEquals(6, clock.reads, "each of the six ops' pairs read once");
        assertEquals(5.0, prof.deviceMillis(), "the unreadable op is left out, the others counted once");
    }
}
