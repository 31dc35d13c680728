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

/** Per-op calls and host time, and device time from clock marks around each op where the backend has a clock. */
class ProfilingBackendTest {
    /**
     * The CPU backend with a clock whose marks count up by one: every op then "takes" 1 ms of device time. As on
     * a GPU, a mark can be read only once the backend has been synchronised after it.
     */
    private static Backend withCountingClock(Backend cpu) {
        long[] synced = {-1};
        DeviceClock clock = new DeviceClock() {
            long next;

            @Override public Object mark() { return next++; }

            @Override public double millisBetween(Object a, Object b) {
                if ((Long) b > synced[0]) throw new IllegalStateException("mark " + b + " not reached yet");
                return (Long) b - (Long) a;
            }
        };
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (p, m, args) -> {
            if (m.getName().equals("clock")) return clock;
            if (m.getName().equals("synchronize")) synced[0] = Long.MAX_VALUE;
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
        ProfilingBackend prof = new ProfilingBackend(Backends.cpu(), false);
        someOps(prof.backend());
        prof.harvest();
        List<Map<String, Object>> table = prof.table(1);
        assertEquals(3.0, row(table, "affine").get("calls_per"));
        assertEquals(2.0, row(table, "unary").get("calls_per"));
        assertFalse(row(table, "affine").containsKey("device_us_per"), "no clock on the CPU");
        assertEquals(0.0, prof.deviceMillis());
    }

    @Test void addsTheDeviceTimeBetweenTheMarksAroundEachOp() {
        ProfilingBackend prof = new ProfilingBackend(withCountingClock(Backends.cpu()), false);
        someOps(prof.backend());
        prof.reset();   // waits for the device before it reads the warm-up's marks
        assertEquals(0.0, prof.deviceMillis());
        someOps(prof.backend());
        prof.backend().synchronize();
        prof.harvest();
        List<Map<String, Object>> table = prof.table(1);
        assertEquals(3000.0, row(table, "affine").get("device_us_per"));
        assertEquals(2000.0, row(table, "unary").get("device_us_per"));
        assertEquals(List.of("affine", "unary", "full"), table.stream().map(r -> r.get("op")).toList(), "most device time first");
        assertEquals(6.0, prof.deviceMillis(), "full, 3 affine, 2 exp");
        prof.harvest();
        assertEquals(6.0, prof.deviceMillis(), "each op harvested once");
    }
}
