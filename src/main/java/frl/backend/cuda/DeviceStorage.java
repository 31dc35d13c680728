package frl.backend.cuda;

import frl.tensor.Device;
import frl.tensor.Storage;
import org.bytedeco.cuda.global.cudart;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Supplier;

/** Device memory from the context's caching allocator; reads to the host wait for the stream, small writes from it do not. */
final class DeviceStorage extends Storage {
    private final CudaContext ctx;
    private final long address;

    DeviceStorage(CudaContext ctx, long bytes) { this(ctx, bytes, ctx.allocator().allocate(bytes)); }

    private DeviceStorage(CudaContext ctx, long bytes, long address) {
        super(bytes, Device.CUDA);
        this.ctx = ctx;
        this.address = address;
    }

    /** A block apart from the temporaries of a graph being captured ({@link DeviceAllocator#allocateApart}). */
    static DeviceStorage apart(CudaContext ctx, long bytes) { return new DeviceStorage(ctx, bytes, ctx.allocator().allocateApart(bytes)); }

    @Override public long address() {
        checkLive();
        return address;
    }

    @Override public MemorySegment segment() {
        throw new UnsupportedOperationException("a cuda tensor has no host memory: copy it with toFloats()/toDoubles()");
    }

    @Override public void copyToHost(long offset, MemorySegment dst, long count) {
        checkRange(offset, count);
        if (!dst.isNative()) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment staging = a.allocate(count, 64);
                copyToHost(offset, staging, count);
                MemorySegment.copy(staging, 0, dst, 0, count);
            }
            return;
        }
        Cuda.check(cudart.cudaMemcpyAsync(new DevicePointer(dst.address()), new DevicePointer(address + offset), count,
                cudart.cudaMemcpyDeviceToHost, ctx.stream()), "cudaMemcpyAsync(device to host, " + count + " bytes)");
        ctx.sync("device-to-host copy");
    }

    /** Small copies are queued through a pinned block and return without waiting for the stream; large ones wait. */
    @Override public void copyFromHost(MemorySegment src, long offset, long count) {
        checkRange(offset, count);
        if (PinnedStaging.ON && count <= PinnedStaging.MAX_BYTES) {
            ctx.staging().upload(src, address + offset, count);
            return;
        }
        if (!src.isNative()) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment staging = a.allocate(count, 64);
                MemorySegment.copy(src, 0, staging, 0, count);
                copyFromHost(staging, offset, count);
            }
            return;
        }
        Cuda.check(cudart.cudaMemcpyAsync(new DevicePointer(address + offset), new DevicePointer(src.address()), count,
                cudart.cudaMemcpyHostToDevice, ctx.stream()), "cudaMemcpyAsync(host to device, " + count + " bytes)");
        ctx.sync("host-to-device copy"); // the host memory may be freed as soon as we return
    }

    /** Small reads wait for their own copy only (a pinned block and an event); large ones for the stream. */
    @Override public Supplier<MemorySegment> copyToHostLater(long offset, long count) {
        checkRange(offset, count);
        if (!PinnedStaging.ON || count > PinnedStaging.MAX_BYTES) return super.copyToHostLater(offset, count);
        return ctx.staging().download(address + offset, count);
    }

    private void checkRange(long offset, long count) {
        checkLive();
        if (ctx.capturing())
            throw new IllegalStateException("a copy between the host and the GPU cannot be captured in a CUDA graph: fill the graph's inputs before replaying it, read its outputs after");
        if (offset < 0 || count < 0 || offset + count > bytes())
            throw new IndexOutOfBoundsException("copy of " + count + " bytes at " + offset + " outside a device block of " + bytes() + " bytes");
    }

    @Override protected void release() { ctx.allocator().free(address, bytes()); }
}
