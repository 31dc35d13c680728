package frl.tensor;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Host memory from the C allocator (64-byte aligned), freed explicitly: allocation and release cost no
 * GC pressure and no Arena handshakes, which matters for the many short-lived activations of a step.
 * Freed blocks of 1 MiB and more are kept for reuse by an allocation of the same rounded size ({@link BlockCache},
 * within the high-water mark of live bytes and -Dfrl.hostCacheBytes, default no cap): glibc would otherwise hand
 * large blocks back to the OS and page-fault them in again on the next step.
 */
public final class HostStorage extends Storage {
    private static final long ALIGN = 64;
    private static final long CACHE_MIN = 1L << 20;
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

    private static final AtomicLong LIVE = new AtomicLong();
    private static final AtomicLong PEAK = new AtomicLong();
    /** PEAK without resets: what the cache may fill up to. */
    private static final AtomicLong HIGH_WATER = new AtomicLong();
    private static final BlockCache CACHE = new BlockCache(Long.getLong("frl.hostCacheBytes", Long.MAX_VALUE), HostStorage::free);

    private final MemorySegment segment;
    private final long rounded;

    private HostStorage(MemorySegment segment, long rounded, Device device) {
        super(segment.byteSize(), device);
        this.segment = segment;
        this.rounded = rounded;
    }

    /** Uninitialised host memory of at least {@code bytes} bytes. */
    public static HostStorage allocate(long bytes, Device device) {
        long rounded = Math.max(ALIGN, (bytes + ALIGN - 1) / ALIGN * ALIGN);
        MemorySegment raw = rounded >= CACHE_MIN ? CACHE.take(rounded) : null;
        if (raw == null) raw = fresh(rounded, bytes);
        long live = LIVE.addAndGet(rounded);
        PEAK.accumulateAndGet(live, Math::max);
        HIGH_WATER.accumulateAndGet(live, Math::max);
        return new HostStorage(raw.reinterpret(bytes), rounded, device);
    }

    /** A new block from the C allocator; when it has none, the cached blocks go back to it and it is asked once more. */
    private static MemorySegment fresh(long rounded, long bytes) {
        if (rounded >= CACHE_MIN) CACHE.makeRoom(rounded, LIVE.get(), HIGH_WATER.get());   // small blocks: glibc's heap keeps them mapped
        MemorySegment raw = alignedAlloc(rounded);
        if (raw.address() == 0) {
            dropCache();
            raw = alignedAlloc(rounded);
        }
        if (raw.address() == 0)
            throw new OutOfMemoryError("cannot allocate " + bytes + " bytes of host memory for a tensor (" + (LIVE.get() >> 20) + " MiB in use)");
        return raw;
    }

    private static MemorySegment alignedAlloc(long rounded) {
        try {
            return (MemorySegment) ALIGNED_ALLOC.invokeExact(ALIGN, rounded);
        } catch (Throwable t) {
            throw new IllegalStateException("aligned_alloc failed", t);
        }
    }

    /** Returns every cached block to the C allocator. */
    public static void dropCache() { CACHE.clear(); }

    private static void free(MemorySegment m) {
        try {
            FREE.invokeExact(m);
        } catch (Throwable t) {
            throw new IllegalStateException("free failed", t);
        }
    }

    @Override public long address() { checkLive(); return segment.address(); }

    @Override public MemorySegment segment() { checkLive(); return segment; }

    @Override public void copyToHost(long offset, MemorySegment dst, long count) {
        MemorySegment.copy(segment(), offset, dst, 0, count);
    }

    @Override public void copyFromHost(MemorySegment src, long offset, long count) {
        MemorySegment.copy(src, 0, segment(), offset, count);
    }

    /** Bytes of host tensor memory in use (allocated and not yet freed), across all threads. */
    public static long liveBytes() { return LIVE.get(); }

    /** The most {@link #liveBytes()} has been since start (or the last {@link #resetPeak()}). */
    public static long peakBytes() { return PEAK.get(); }

    public static void resetPeak() { PEAK.set(LIVE.get()); }

    @Override protected void release() {
        LIVE.addAndGet(-rounded);
        if (rounded < CACHE_MIN || !CACHE.keep(segment, rounded, LIVE.get(), HIGH_WATER.get())) free(segment);
    }
}
