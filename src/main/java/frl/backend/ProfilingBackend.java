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
 * time is what it costs to queue the op, and marks on the device's clock around each op give its device time
 * ({@link #harvest} after a synchronisation); with {@code syncEach} every op also waits for the device, so the
 * host time is the op's whole cost (device work plus launch latency). Register the wrapper with {@link Backends#register}
 * so the autograd layer, which looks backends up by device, goes through it too.
 */
public final class ProfilingBackend {
    /** Calls and nanoseconds of one op. */
    public static final class Stat {
        long calls, nanos;
        double deviceMillis;
    }

    private final Backend inner, proxy;
    private final boolean syncEach;
    private final Map<String, Stat> stats = new ConcurrentHashMap<>();
    /** The inner backend's clock when ops are not waited for (device time from marks around each op), else null. */
    private final DeviceClock clock;
    /** Ops queued since the last {@link #harvest}: name and the marks around it. */
    private final List<Object[]> marked = new ArrayList<>();

    public ProfilingBackend(Backend inner, boolean syncEach) {
        this.inner = inner;
        this.syncEach = syncEach;
        this.clock = syncEach ? null : inner.clock();
        this.proxy = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (p, m, args) -> {
            boolean timed = !m.getName().equals("synchronize") && m.getDeclaringClass() == Backend.class && args != null;
            long t = System.nanoTime();
            Object before = timed && clock != null ? clock.mark() : null;
            try {
                Object r = m.invoke(inner, args);
                if (timed && syncEach) inner.synchronize();
                if (before != null) synchronized (marked) { marked.add(new Object[] {m.getName(), before, clock.mark()}); }
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

    /** Forgets everything counted so far (waits for the device first, so that its marks can be read and reused). */
    public void reset() {
        if (clock != null) inner.synchronize();
        harvest();
        stats.clear();
    }

    /** Adds the device time of the ops queued since the last call; the caller has synchronised the backend. */
    public void harvest() {
        synchronized (marked) {
            for (Object[] e : marked) {
                double ms = clock.millisBetween(e[1], e[2]);
                Stat s = stats.computeIfAbsent((String) e[0], k -> new Stat());
                synchronized (s) { s.deviceMillis += ms; }
            }
            marked.clear();
        }
    }

    /** Device milliseconds summed over every op harvested so far (0 without a device clock). */
    public double deviceMillis() {
        double sum = 0;
        for (Stat s : stats.values()) sum += s.deviceMillis;
        return sum;
    }

    /**
     * One row per op, most time first: calls and host microseconds per {@code per} (e.g. per training step), and
     * with a device clock the device microseconds (sorted by those).
     */
    public List<Map<String, Object>> table(int per) {
        List<Map.Entry<String, Stat>> e = new ArrayList<>(stats.entrySet());
        if (clock != null) e.sort((a, b) -> Double.compare(b.getValue().deviceMillis, a.getValue().deviceMillis));
        else e.sort((a, b) -> Long.compare(b.getValue().nanos, a.getValue().nanos));
        List<Map<String, Object>> rows = new ArrayList<>();
        for (var x : e) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("op", x.getKey());
            r.put("device", inner.name());
            r.put("sync_each", syncEach);
            r.put("calls_per", Math.round(x.getValue().calls * 10.0 / per) / 10.0);
            r.put("us_per", Math.round(x.getValue().nanos / 1e3 / per * 10) / 10.0);
            if (clock != null) r.put("device_us_per", Math.round(x.getValue().deviceMillis * 1e3 / per * 10) / 10.0);
            rows.add(r);
        }
        return rows;
    }
}
