package frl.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A block of memory owned by exactly one party (a scope, a module, an optimizer, or the caller).
 * Host storages expose a MemorySegment; device storages only an address. Freed once, explicitly.
 */
public abstract class Storage implements AutoCloseable {
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

    /** Raw address (host or device pointer). */
    public abstract long address();

    /** The host memory; device storages throw. */
    public abstract MemorySegment segment();

    /** Copies {@code count} bytes to host memory, starting at byte {@code offset} of this storage. */
    public abstract void copyToHost(long offset, MemorySegment dst, long count);

    /** Copies {@code count} bytes from host memory into this storage at byte {@code offset}. */
    public abstract void copyFromHost(MemorySegment src, long offset, long count);

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
