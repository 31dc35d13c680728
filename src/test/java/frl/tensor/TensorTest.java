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
}
