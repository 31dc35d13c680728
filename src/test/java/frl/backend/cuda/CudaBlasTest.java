package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * cuBLAS matmul against the CPU backend for the four transpose combinations, at sizes from 1×1×1 to the
 * VAE's (batch 64 × 200 latents × 1024) and awkward ones (17, 33, inner size 1, a single row or column).
 * NMSE ≤ 1e-7 (TF32 off). The row-major ↔ column-major swap is what a mistake would break first: a
 * non-square case with every dimension different catches a swapped m/n, lda or ldb.
 */
@Tag("gpu")
class CudaBlasTest {
    /** m × k times k × n. */
    record Dims(int m, int k, int n) {
        @Override public String toString() { return m + "×" + k + " · " + k + "×" + n; }
    }

    static final List<Dims> DIMS = List.of(
            new Dims(1, 1, 1), new Dims(3, 17, 5), new Dims(17, 33, 9), new Dims(1, 512, 1), new Dims(1, 257, 33),
            new Dims(33, 1, 17), new Dims(129, 1, 1), new Dims(64, 200, 1024), new Dims(1024, 64, 200), new Dims(300, 1024, 257));

    static Stream<Arguments> cases() {
        return DIMS.stream().flatMap(d -> Stream.of(
                Arguments.of(d, false, false), Arguments.of(d, true, false), Arguments.of(d, false, true), Arguments.of(d, true, true)));
    }

    @ParameterizedTest(name = "{0} transA={1} transB={2}")
    @MethodSource("cases")
    void matchesCpu(Dims d, boolean ta, boolean tb) {
        Backend cuda = GpuTests.cudaOrSkip();
        Backend cpu = Backends.cpu();
        try (Scope s = Scope.open()) {
            Random r = new Random(d.hashCode() * 4L + (ta ? 2 : 0) + (tb ? 1 : 0));
            Shape as = ta ? Shape.of(d.k(), d.m()) : Shape.of(d.m(), d.k()), bs = tb ? Shape.of(d.n(), d.k()) : Shape.of(d.k(), d.n());
            float[] a = CudaConvTest.uniform(r, as), b = CudaConvTest.uniform(r, bs);
            Tensor want = cpu.matmul(cpu.fromHost(as, a), ta, cpu.fromHost(bs, b), tb);
            Tensor got = cuda.matmul(cuda.fromHost(as, a), ta, cuda.fromHost(bs, b), tb);
            assertEquals(Shape.of(d.m(), d.n()), got.shape());
            CudaConvTest.assertClose("matmul " + d + (ta ? " Aᵀ" : "") + (tb ? " Bᵀ" : ""), got, want);
        }
    }

    /** A small product checked by hand, so a transposed result cannot pass by symmetry. */
    @Test void smallProductByHand() {
        Backend cuda = GpuTests.cudaOrSkip();
        try (Scope s = Scope.open()) {
            Tensor a = cuda.fromHost(Shape.of(2, 3), new float[] {1, 2, 3, 4, 5, 6});
            Tensor b = cuda.fromHost(Shape.of(3, 1), new float[] {1, 10, 100});
            Tensor c = cuda.matmul(a, false, b, false);
            assertEquals(Shape.of(2, 1), c.shape());
            assertEquals(List.of(321f, 654f), List.of(c.toFloats()[0], c.toFloats()[1]));
            Tensor ct = cuda.matmul(b, true, a, true); // [1,3]·[3,2] = cᵀ
            assertEquals(Shape.of(1, 2), ct.shape());
            assertEquals(List.of(321f, 654f), List.of(ct.toFloats()[0], ct.toFloats()[1]));
        }
    }

    /** Inner size 0 gives zeros (not whatever the recycled block held); empty outputs are fine. */
    @Test void emptySizes() {
        Backend cuda = GpuTests.cudaOrSkip();
        try (Scope s = Scope.open()) {
            Tensor a = cuda.empty(Shape.of(3, 0)), b = cuda.empty(Shape.of(0, 4));
            float[] nan = new float[12];
            Arrays.fill(nan, Float.NaN);
            try (Scope t = Scope.open()) { cuda.fromHost(Shape.of(3, 4), nan); } // the block the product gets next
            Tensor c = cuda.matmul(a, false, b, false);
            assertEquals(Shape.of(3, 4), c.shape());
            for (float v : c.toFloats()) assertEquals(0f, v);
            assertEquals(Shape.of(0, 4), cuda.matmul(cuda.empty(Shape.of(0, 5)), false, cuda.empty(Shape.of(5, 4)), false).shape());
            assertEquals(Shape.of(3, 0), cuda.matmul(cuda.empty(Shape.of(5, 3)), true, cuda.empty(Shape.of(0, 5)), true).shape());
        }
    }

    /** beta = 0: a recycled block full of NaN does not leak into the product. */
    @Test void outputDoesNotReadRecycledMemory() {
        Backend cuda = GpuTests.cudaOrSkip();
        try (Scope s = Scope.open()) {
            Random r = new Random(3);
            Shape as = Shape.of(40, 30), bs = Shape.of(30, 50);
            Tensor a = cuda.fromHost(as, CudaConvTest.uniform(r, as)), b = cuda.fromHost(bs, CudaConvTest.uniform(r, bs));
            float[] nan = new float[40 * 50];
            Arrays.fill(nan, Float.NaN);
            try (Scope t = Scope.open()) { cuda.fromHost(Shape.of(40, 50), nan); }
            for (float v : cuda.matmul(a, false, b, false).toFloats()) assertFalse(Float.isNaN(v));
        }
    }

    /** Bad shapes raise the CPU backend's error (shared check in frl.backend.Shapes). */
    @Test void badShapesRaiseTheCpuErrors() {
        Backend cuda = GpuTests.cudaOrSkip();
        Backend cpu = Backends.cpu();
        try (Scope s = Scope.open()) {
            String want = assertThrows(IllegalArgumentException.class, () -> cpu.matmul(cpu.empty(Shape.of(3, 4)), false, cpu.empty(Shape.of(5, 2)), false)).getMessage();
            String got = assertThrows(IllegalArgumentException.class, () -> cuda.matmul(cuda.empty(Shape.of(3, 4)), false, cuda.empty(Shape.of(5, 2)), false)).getMessage();
            assertEquals(want, got);
            String rank = assertThrows(IllegalArgumentException.class, () -> cpu.matmul(cpu.empty(Shape.of(3, 4, 1)), false, cpu.empty(Shape.of(4, 2)), false)).getMessage();
            assertEquals(rank, assertThrows(IllegalArgumentException.class, () -> cuda.matmul(cuda.empty(Shape.of(3, 4, 1)), false, cuda.empty(Shape.of(4, 2)), false)).getMessage());
        }
    }
}
