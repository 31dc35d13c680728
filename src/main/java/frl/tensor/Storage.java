package frl.tensor;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * A block of memory owned by exactly one party (a scope, a module, an optimizer, or the caller).
 * Host storages expose a MemorySegment; device storages only an address. Freed once, explicitly (closing again
 * does nothing: a backward pass frees the gradients it made once they are passed on, before their scope closes).
 */
public abstract class Storage implements AutoCloseable {
    private static final AtomicLong MADE = new AtomicLong();
    private final long serial = MADE.incrementAndGet();
    private final long bytes;
    private final Device device;
    private boolean freed;

    protected Storage(long bytes, Device device) {
        this.bytes = bytes;
        this.device = device;
    }

    public long bytes() { return bytes; }

    public Device device() { return device; }

    public boolean isFreed() { return freed; }

    /** How many storages have been made so far: a mark for {@link #madeAfter}. */
    public static long madeSoFar() { return MADE.get(); }

    /** Whether this storage was made after {@code mark} ({@link #madeSoFar()} at some earlier point). */
    public boolean madeAfter(long mark) { return serial > mark; }

    /** Raw address (host or device pointer). */
    public abstract long address();

    /** The host memory; device storages throw. */
    public abstract MemorySegment segment();

    /** Copies {@code count} bytes to host memory, starting at byte {@code offset} of this storage. */
    public abstract void copyToHost(long offset, MemorySegment dst, long count);

    /** Copies {@code count} bytes from host memory into this storage at byte {@code offset}. */
    public abstract void copyFromHost(MemorySegment src, long offset, long count);

    /**
     * Starts copying {@code count} bytes at byte {@code offset} to the host; the supplier returns them (as they were
     * when this was called, whatever is queued later). Here the copy is made at once; a device storage may wait in
     * the supplier for that copy alone, so the host can queue more work first.
     */
    public Supplier<MemorySegment> copyToHostLater(long offset, long count) {
        MemorySegment out = MemorySegment.ofArray(new byte[Math.toIntExact(count)]);
        copyToHost(offset, out, count);
        return () -> out;
    }

    protected abstract void release();

    protected void checkLive() {
        if (freed) throw new IllegalStateException("storage of " + bytes + " bytes on " + device + " was already freed (its scope closed?)");
    }

    @Override public final void close() {
        if (freed) return;
        freed = true;
        release();
    }
}
