package frl.backend;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Wraps a backend and counts, per op, the calls and the time spent in them (see {@link Mode}). Register the wrapper
 * with {@link Backends#register} so the autograd layer, which looks backends up by device, goes through it too.
 */
public final class ProfilingBackend {
    /** What is timed. */
    public enum Mode {
        /** Host time per op: on an asynchronous device, what it costs to queue the op. */
        QUEUED("queued"),
        /**
         * Device time per op, from marks on the device's clock around each op ({@link #harvest} reads them). Marks
         * only time the op alone when the device is not waiting for the host: hold the device
         * ({@link DeviceClock#hold}) while a step is queued.
         */
        DEVICE("device"),
        /** Host time per op with a wait for the device after each: the op's whole cost, launch latency included. */
        WAIT_EACH("each op waited for");

        public final String label;

        Mode(String label) { this.label = label; }
    }

    /** Calls and time of one op. */
    private static final class Stat {
        long calls, nanos;
        double deviceMillis;
    }

    private final Backend inner, proxy;
    private final Mode mode;
    private final Map<String, Stat> stats = new ConcurrentHashMap<>();
    /** DEVICE and WAIT_EACH modes: the same per op and the shapes it was called with ("conv2d [64, 3, 32, 32] [64, 3, 4, 4]"). */
    private final Map<String, Stat> byShapes = new ConcurrentHashMap<>();
    /** The inner backend's clock in DEVICE mode, else null. */
    private final DeviceClock clock;
    /** Ops queued since the last {@link #harvest}: name and the marks around it. */
    private final ArrayDeque<Object[]> marked = new ArrayDeque<>();

    public ProfilingBackend(Backend inner, Mode mode) {
        this.inner = inner;
        this.mode = mode;
        this.clock = mode == Mode.DEVICE ? inner.clock() : null;
        if (mode == Mode.DEVICE && clock == null) throw new IllegalArgumentException("the " + inner.name() + " backend has no device clock to time ops with");
        this.proxy = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (p, m, args) -> {
            boolean timed = !m.getName().equals("synchronize") && m.getDeclaringClass() == Backend.class && args != null;
            Object before = timed && clock != null ? clock.mark() : null;
            long t = System.nanoTime();
            try {
                Object r = m.invoke(inner, args);
                if (timed && mode == Mode.WAIT_EACH) inner.synchronize();
                return r;
            } catch (InvocationTargetException e) {
                throw e.getCause();
            } finally {
                // paired even when the op failed, so every mark is read (and its event reused) once
                String shaped = before != null || timed && mode == Mode.WAIT_EACH ? withShapes(m.getName(), args) : null;
                if (before != null) synchronized (marked) { marked.add(new Object[] {m.getName(), before, clock.mark(), shaped}); }
                if (timed) {
                    long nanos = System.nanoTime() - t;
                    for (Stat s : shaped == null ? new Stat[] {stat(stats, m.getName())} : new Stat[] {stat(stats, m.getName()), stat(byShapes, shaped)})
                        synchronized (s) { s.calls++; s.nanos += nanos; }
                }
            }
        });
    }

    public Backend backend() { return proxy; }

    public Mode mode() { return mode; }

    private static Stat stat(Map<String, Stat> in, String key) { return in.computeIfAbsent(key, k -> new Stat()); }

    /** The op's name and the shapes among its arguments (tensors' and shapes themselves), in order. */
    private static String withShapes(String op, Object[] args) {
        StringBuilder b = new StringBuilder(op);
        for (Object a : args) {
            if (a instanceof frl.tensor.Tensor t) b.append(' ').append(t.shape());
            else if (a instanceof frl.tensor.Shape sh) b.append(' ').append(sh);
        }
        return b.toString();
    }

    /** Forgets everything counted so far (reading, so reusing, the marks of ops still pending). */
    public void reset() {
        harvest();
        stats.clear();
        byShapes.clear();
    }

    /** Adds the device time of the ops queued since the last call (waiting for each to finish). */
    public void harvest() {
        synchronized (marked) {
            for (Object[] e; (e = marked.poll()) != null; ) {   // taken off first: a mark is read once, even if reading it fails
                double ms = clock.millisBetween(e[1], e[2]);
                for (Stat s : new Stat[] {stat(stats, (String) e[0]), stat(byShapes, (String) e[3])})
                    synchronized (s) { s.deviceMillis += ms; }
            }
        }
    }

    /** Device milliseconds summed over every op harvested so far (0 outside DEVICE mode). */
    public double deviceMillis() {
        double sum = 0;
        for (Stat s : stats.values()) sum += s.deviceMillis;
        return sum;
    }

    /**
     * One row per op, most time first, per {@code per} calls of the profiled code (per training step, say): the
     * calls, and the host microseconds or, in DEVICE mode, the device microseconds.
     */
    public List<Map<String, Object>> table(int per) { return rows(stats, "op", per, Integer.MAX_VALUE); }

    /** DEVICE and WAIT_EACH modes: the same per op and argument shapes, the {@code most} slowest (empty when QUEUED). */
    public List<Map<String, Object>> shapeTable(int per, int most) { return rows(byShapes, "op_shapes", per, most); }

    private List<Map<String, Object>> rows(Map<String, Stat> from, String key, int per, int most) {
        List<Map.Entry<String, Stat>> e = new ArrayList<>(from.entrySet());
        if (mode == Mode.DEVICE) e.sort((a, b) -> Double.compare(b.getValue().deviceMillis, a.getValue().deviceMillis));
        else e.sort((a, b) -> Long.compare(b.getValue().nanos, a.getValue().nanos));
        List<Map<String, Object>> rows = new ArrayList<>();
        for (var x : e.subList(0, Math.min(most, e.size()))) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put(key, x.getKey());
            r.put("device", inner.name());
            r.put("profile", mode.label);
            r.put("calls_per", Math.round(x.getValue().calls * 10.0 / per) / 10.0);
            if (mode == Mode.DEVICE) r.put("device_us_per", Math.round(x.getValue().deviceMillis * 1e3 / per * 10) / 10.0);
            else r.put("us_per", Math.round(x.getValue().nanos / 1e3 / per * 10) / 10.0);
            rows.add(r);
        }
        return rows;
    }
}
