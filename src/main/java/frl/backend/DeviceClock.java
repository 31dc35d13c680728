package frl.backend;

/**
 * Marks queued on a device's stream and the device time between two of them, so an op's device time can be
 * taken without waiting after it.
 */
public interface DeviceClock {
    /** A mark queued now. */
    Object mark();

    /** Milliseconds of device time from mark a to mark b, once the device has passed b (waits for it); both are released. */
    double millisBetween(Object a, Object b);

    /**
     * Keeps the device busy for about {@code millis} from when it gets here, so the work queued meanwhile then runs
     * back to back: marks around each op then time the op, not the host's queueing of it.
     */
    void hold(double millis);

    /** Why {@link #hold} would not keep ops back to back here (the host waits inside a held step), or null. */
    default String holdDefeatedBy() { return null; }
}
