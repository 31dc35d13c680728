package frl.backend;

/**
 * Marks queued on a device's stream and the device time between two of them, so an op's device time can be
 * taken without waiting after it. Read a pair only after the device has passed both (a synchronisation).
 */
public interface DeviceClock {
    /** A mark queued now. */
    Object mark();

    /** Milliseconds of device time from mark a to mark b; both are released. */
    double millisBetween(Object a, Object b);
}
