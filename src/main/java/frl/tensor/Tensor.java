package frl.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.Supplier;

/**
 * A dense, contiguous, row-major tensor (NCHW for images) of F32 or F64 elements in a {@link Storage}.
 * Reshape is a view over the same storage; every other transformation is a backend op.
 */
public final class Tensor implements AutoCloseable {
    private final Shape shape;
    private final DType dtype;
    private final Storage storage;
    private final boolean view;

    private Tensor(Storage storage, Shape shape, DType dtype, boolean view) {
        long need = shape.numel() * dtype.bytes();
        if (need > storage.bytes()) throw new IllegalArgumentException("shape " + shape + " of " + dtype + " needs " + need + " bytes, storage has " + storage.bytes());
        this.storage = storage;
        this.shape = shape;
        this.dtype = dtype;
        this.view = view;
    }

    /** Wraps freshly allocated storage; the innermost open scope (if any) becomes its owner. */
    public static Tensor wrap(Storage storage, Shape shape, DType dtype) {
        Scope.register(storage);
        return new Tensor(storage, shape, dtype, false);
    }

    /** Uninitialised host tensor. */
    public static Tensor host(Shape shape, DType dtype, Device device) {
        return wrap(HostStorage.allocate(shape.numel() * dtype.bytes(), device), shape, dtype);
    }

    public Shape shape() { return shape; }

    public DType dtype() { return dtype; }

    public Device device() { return storage.device(); }

    public Storage storage() { return storage; }

    public long numel() { return shape.numel(); }

    public int dim(int axis) { return shape.dim(axis); }

    public int rank() { return shape.rank(); }

    /** Host memory of this tensor (throws for device tensors). */
    public MemorySegment segment() { return storage.segment().asSlice(0, numel() * dtype.bytes()); }

    /** A view with another shape of the same size; shares storage, owns nothing. */
    public Tensor reshape(int... dims) {
        Shape s = Shape.of(dims);
        if (s.numel() != numel()) throw new IllegalArgumentException("cannot reshape " + shape + " to " + s + ": sizes differ");
        return new Tensor(storage, s, dtype, true);
    }

    public Tensor reshape(Shape s) { return reshape(s.dims()); }

    /** All elements as floats, copied to the Java heap (works for any device). */
    public float[] toFloats() {
        float[] out = new float[(int) numel()];
        if (dtype == DType.F32 && device().isHost()) {
            MemorySegment.copy(segment(), ValueLayout.JAVA_FLOAT, 0, out, 0, out.length);
            return out;
        }
        if (dtype == DType.F32) { // device memory: one copy through native staging, no double[] detour
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment host = arena.allocate(out.length * 4L, 64);
                storage.copyToHost(0, host, host.byteSize());
                MemorySegment.copy(host, ValueLayout.JAVA_FLOAT, 0, out, 0, out.length);
            }
            return out;
        }
        double[] d = toDoubles();
        for (int i = 0; i < out.length; i++) out[i] = (float) d[i];
        return out;
    }

    /** All elements as doubles, copied to the Java heap (works for any device). */
    public double[] toDoubles() {
        int n = (int) numel();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = device().isHost() ? segment() : arena.allocate(n * (long) dtype.bytes(), 64);
            if (!device().isHost()) storage.copyToHost(0, host, host.byteSize());
            return doubles(host, dtype, n);
        }
    }

    /**
     * The elements as they are now, as doubles, once asked for. The copy is queued at once; on a GPU, asking
     * waits for that copy alone, not for the work queued after it (a training step reads its loss this way while
     * the next step runs).
     */
    public Supplier<double[]> toDoublesLater() {
        int n = (int) numel();
        Supplier<MemorySegment> bytes = storage.copyToHostLater(0, n * (long) dtype.bytes());
        return () -> doubles(bytes.get(), dtype, n);
    }

    /** host: native or heap memory (a heap byte[] is only byte-aligned, hence the unaligned layouts). */
    private static double[] doubles(MemorySegment host, DType dtype, int n) {
        double[] out = new double[n];
        if (dtype == DType.F64) MemorySegment.copy(host, ValueLayout.JAVA_DOUBLE_UNALIGNED, 0, out, 0, n);
        else for (int i = 0; i < n; i++) out[i] = host.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
        return out;
    }

    /** Overwrites every element from a heap array of the same length (any device). */
    public Tensor copyFrom(double[] values) {
        checkLength(values.length);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(numel() * dtype.bytes(), 64);
            for (int i = 0; i < values.length; i++) {
                if (dtype == DType.F64) host.setAtIndex(ValueLayout.JAVA_DOUBLE, i, values[i]);
                else host.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) values[i]);
            }
            storage.copyFromHost(host, 0, host.byteSize());
        }
        return this;
    }

    /** Overwrites every element from a heap array of the same length (any device). */
    public Tensor copyFrom(float[] values) {
        checkLength(values.length);
        if (dtype == DType.F32) {
            storage.copyFromHost(MemorySegment.ofArray(values), 0, values.length * 4L);
            return this;
        }
        double[] d = new double[values.length];
        for (int i = 0; i < d.length; i++) d[i] = values[i];
        return copyFrom(d);
    }

    private void checkLength(int n) {
        if (n != numel()) throw new IllegalArgumentException("expected " + numel() + " values for shape " + shape + ", got " + n);
    }

    /** One element as a double (host tensors; for tests and small reads). */
    public double get(long index) {
        return dtype == DType.F64 ? segment().getAtIndex(ValueLayout.JAVA_DOUBLE, index)
                : segment().getAtIndex(ValueLayout.JAVA_FLOAT, index);
    }

    /** The single value of a one-element tensor, any device. */
    public double item() {
        if (numel() != 1) throw new IllegalStateException("item() needs one element, shape is " + shape);
        return toDoubles()[0];
    }

    /** Frees the storage unless this is a view; idempotent. Scopes do this for you. */
    @Override public void close() {
        if (!view) storage.close();
    }

    @Override public String toString() { return "Tensor" + shape + " " + dtype + " on " + device(); }
}
