package frl.backend;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Wraps a backend and counts, per op, the calls and the host time spent in them. On an asynchronous device that
 * time is what it costs to queue the op; with {@code syncEach} every op also waits for the device, so the time
 * is the op's whole cost (device work plus launch latency). Register the wrapper with {@link Backends#register}
 * so the autograd layer, which looks backends up by device, goes through it too.
 */
public final class ProfilingBackend {
    /** Calls and nanoseconds of one op. */
    public static final class Stat {
        long calls, nanos;
    }

    private final Backend inner, proxy;
    private final boolean syncEach;
    private final Map<String, Stat> stats = new ConcurrentHashMap<>();

    public ProfilingBackend(Backend inner, boolean syncEach) {
        this.inner = inner;
        this.syncEach = syncEach;
        this.proxy = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (p, m, args) -> {
            boolean timed = !m.getName().equals("synchronize") && m.getDeclaringClass() == Backend.class && args != null;
            long t = System.nanoTime();
            try {
                Object r = m.invoke(inner, args);
                if (timed && syncEach) inner.synchronize();
                return r;
            } catch (InvocationTargetException e) {
                throw e.getCause();
            } finally {
                if (timed) {
                    Stat s = stats.computeIfAbsent(m.getName(), k -> new Stat());
                    synchronized (s) { s.calls++; s.nanos += System.nanoTime() - t; }
                }
            }
        });
    }

    public Backend backend() { return proxy; }

    public void reset() { stats.clear(); }

    /** One row per op, most time first: calls and microseconds per {@code per} (e.g. per training step). */
    public List<Map<String, Object>> table(int per) {
        List<Map.Entry<String, Stat>> e = new ArrayList<>(stats.entrySet());
        e.sort((a, b) -> Long.compare(b.getValue().nanos, a.getValue().nanos));
        List<Map<String, Object>> rows = new ArrayList<>();
        for (var x : e) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("op", x.getKey());
            r.put("device", inner.name());
            r.put("sync_each", syncEach);
            r.put("calls_per", Math.round(x.getValue().calls * 10.0 / per) / 10.0);
            r.put("us_per", Math.round(x.getValue().nanos / 1e3 / per * 10) / 10.0);
            rows.add(r);
        }
        return rows;
    }
}
