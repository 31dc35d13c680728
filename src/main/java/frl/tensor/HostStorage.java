package frl.tensor;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Host memory from the C allocator (64-byte aligned), freed explicitly: allocation and release cost no
 * GC pressure and no Arena handshakes, which matters for the many short-lived activations of a step.
 */
public final class HostStorage extends Storage {
    private static final long ALIGN = 64;
    private static final MethodHandle ALIGNED_ALLOC;
    private static final MethodHandle FREE;
    static {
        Linker linker = Linker.nativeLinker();
        var libc = linker.defaultLookup();
        ALIGNED_ALLOC = linker.downcallHandle(libc.find("aligned_alloc").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
        FREE = linker.downcallHandle(libc.find("free").orElseThrow(),
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
    }

    private static final java.util.concurrent.atomic.AtomicLong LIVE = new java.util.concurrent.atomic.AtomicLong();
    private static final java.util.concurrent.atomic.AtomicLong PEAK = new java.util.concurrent.atomic.AtomicLong();

    private final MemorySegment segment;

    private HostStorage(MemorySegment segment, Device device) {
        super(segment.byteSize(), device);
        this.segment = segment;
    }

    /** Uninitialised host memory of at least {@code bytes} bytes. */
    public static HostStorage allocate(long bytes, Device device) {
        long rounded = Math.max(ALIGN, (bytes + ALIGN - 1) / ALIGN * ALIGN);
        MemorySegment raw;
        try {
            raw = (MemorySegment) ALIGNED_ALLOC.invokeExact(ALIGN, rounded);
        } catch (Throwable t) {
            throw new IllegalStateException("aligned_alloc failed", t);
        }
        if (raw.address() == 0) throw new OutOfMemoryError("cannot allocate " + bytes + " bytes of host memory for a tensor");
        PEAK.accumulateAndGet(LIVE.addAndGet(bytes), Math::max);
        return new HostStorage(raw.reinterpret(bytes), device);
    }

    @Override public long address() { checkLive(); return segment.address(); }

    @Override public MemorySegment segment() { checkLive(); return segment; }

    @Override public void copyToHost(long offset, MemorySegment dst, long count) {
        MemorySegment.copy(segment(), offset, dst, 0, count);
    }

    @Override public void copyFromHost(MemorySegment src, long offset, long count) {
        MemorySegment.copy(src, 0, segment(), offset, count);
    }

    /** Bytes of host tensor memory allocated and not yet freed, across all threads. */
    public static long liveBytes() { return LIVE.get(); }

    /** The most {@link #liveBytes()} has been since start (or the last {@link #resetPeak()}). */
    public static long peakBytes() { return PEAK.get(); }

    public static void resetPeak() { PEAK.set(LIVE.get()); }

    @Override protected void release() {
        LIVE.addAndGet(-bytes());
        try {
            FREE.invokeExact(segment);
        } catch (Throwable t) {
            throw new IllegalStateException("free failed", t);
        }
    }
}
