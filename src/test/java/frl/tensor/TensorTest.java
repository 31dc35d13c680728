package frl.tensor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class TensorTest {
    @Test void storageIs64ByteAlignedAndRoundTripsValues() {
        try (Scope s = Scope.open()) {
            Tensor f = Tensor.host(Shape.of(3, 5), DType.F32, Device.CPU).copyFrom(new double[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15.5});
            assertEquals(0, f.storage().address() % 64);
            assertEquals(15.5, f.get(14));
            Tensor d = Tensor.host(Shape.of(2), DType.F64, Device.CPU).copyFrom(new double[] {0.1, 1e-300});
            assertArrayEquals(new double[] {0.1, 1e-300}, d.toDoubles());
            assertArrayEquals(new float[] {0.1f, 0f}, d.toFloats());
        }
    }

    @Test void wrongValueCountAndNonScalarItemAreRejected() {
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.host(Shape.of(2, 2), DType.F32, Device.CPU);
            assertThrows(IllegalArgumentException.class, () -> t.copyFrom(new float[3]));
            assertThrows(IllegalStateException.class, t::item);
        }
    }

    /** Memory only reachable by copies, as a GPU's is (this machine has none): what device tensors go through. */
    private static final class CopyOnlyStorage extends Storage {
        private final java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined();
        private final java.lang.foreign.MemorySegment hidden;

        CopyOnlyStorage(long bytes) {
            super(bytes, Device.CUDA);
            hidden = arena.allocate(bytes, 64);
        }

        @Override public long address() { return hidden.address(); }

        @Override public java.lang.foreign.MemorySegment segment() { throw new UnsupportedOperationException("device memory"); }

        @Override public void copyToHost(long offset, java.lang.foreign.MemorySegment dst, long count) {
            java.lang.foreign.MemorySegment.copy(hidden, offset, dst, 0, count);
        }

        @Override public void copyFromHost(java.lang.foreign.MemorySegment src, long offset, long count) {
            java.lang.foreign.MemorySegment.copy(src, 0, hidden, offset, count);
        }

        @Override protected void release() { arena.close(); }
    }

    @Test void deviceTensorsRoundTripThroughCopies() {
        try (Tensor t = Tensor.wrap(new CopyOnlyStorage(5 * 4), Shape.of(5), DType.F32)) {
            float[] v = {1.5f, -2f, 0f, 3.25f, 1e-30f};
            t.copyFrom(v);
            assertArrayEquals(v, t.toFloats());
            assertArrayEquals(new double[] {1.5, -2, 0, 3.25, 1e-30f}, t.toDoubles());
            t.copyFrom(new double[] {7, 8, 9, 10, 11});
            assertArrayEquals(new float[] {7, 8, 9, 10, 11}, t.toFloats());
            assertThrows(UnsupportedOperationException.class, t::segment);
        }
    }

    /** The values as they were when the read was asked for, in F32 and F64, from host and copy-only memory. */
    @Test void toDoublesLaterReturnsTheValuesOfWhenItWasCalled() {
        try (Scope s = Scope.open()) {
            Tensor host32 = Tensor.host(Shape.of(3), DType.F32, Device.CPU).copyFrom(new double[] {1.5, -2, 1e-30});
            Tensor host64 = Tensor.host(Shape.of(2), DType.F64, Device.CPU).copyFrom(new double[] {0.1, -1e-300});
            Tensor device = Tensor.wrap(new CopyOnlyStorage(3 * 4), Shape.of(3), DType.F32).copyFrom(new float[] {4, 5, 6});
            var a = host32.toDoublesLater();
            var b = host64.toDoublesLater();
            var c = device.toDoublesLater();
            host32.copyFrom(new double[] {9, 9, 9});
            host64.copyFrom(new double[] {9, 9});
            device.copyFrom(new float[] {9, 9, 9});
            assertArrayEquals(new double[] {1.5, -2, 1e-30f}, a.get());
            assertArrayEquals(new double[] {0.1, -1e-300}, b.get());
            assertArrayEquals(new double[] {4, 5, 6}, c.get());
            assertArrayEquals(new double[] {4, 5, 6}, c.get(), "asked twice");
        }
    }
}
