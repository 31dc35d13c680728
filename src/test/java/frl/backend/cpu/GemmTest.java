package frl.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every GEMM implementation against a float64 triple loop, on sub-matrices with offsets and padded rows. */
class GemmTest {
    /** OpenBLAS must load here: its natives ship in the dependency jars. */
    static List<Gemm> gemms() { return List.of(OpenBlasGemm.load(), JavaGemm.best(), JavaGemm.scalar()); }

    static Stream<Arguments> cases() {
        int[][] sizes = {
            {1, 1, 1}, {17, 33, 3}, {33, 17, 300},   // k spans two KC blocks
            {7, 1600, 20},                          // n spans two NC blocks
            {300, 200, 100}, {70, 300, 64},         // big enough to be split over rows, then columns
            {13, 5, 0},                              // k = 0: C = beta·C
        };
        return gemms().stream().flatMap(g -> Stream.of(sizes).flatMap(s -> Stream.of(
                Arguments.of(g, false, false, s), Arguments.of(g, true, false, s),
                Arguments.of(g, false, true, s), Arguments.of(g, true, true, s))));
    }

    @ParameterizedTest(name = "{0} ta={1} tb={2} mnk={3}")
    @MethodSource("cases")
    void matchesFloat64(Gemm gemm, boolean ta, boolean tb, int[] mnk) {
        int m = mnk[0], n = mnk[1], k = mnk[2];
        int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
        int lda = aCols + 3, ldb = bCols + 1, ldc = n + 2, aOff = 5, bOff = 2, cOff = 7;
        Random rnd = new Random(m * 31L + n * 7L + k);
        try (Arena arena = Arena.ofShared()) {
            float[] a = random(rnd, aOff + aRows * lda), b = random(rnd, bOff + bRows * ldb), c = random(rnd, cOff + m * ldc);
            for (float beta : new float[] {0f, -1.5f}) {
                float alpha = 0.75f;
                float[] c0 = c.clone();
                if (beta == 0) for (int i = 0; i < c0.length; i++) c0[i] = Float.NaN;   // beta = 0 must not read C
                MemorySegment cs = copy(arena, c0);
                gemm.sgemm(ta, tb, m, n, k, alpha, copy(arena, a), aOff, lda, copy(arena, b), bOff, ldb, beta, cs, cOff, ldc);
                double err = 0, ref2 = 0;
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double s = 0;
                        for (int p = 0; p < k; p++) {
                            double av = ta ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                            double bv = tb ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
                            s += av * bv;
                        }
                        double expect = alpha * s + (beta == 0 ? 0 : beta * (double) c[cOff + i * ldc + j]);
                        double got = cs.getAtIndex(ValueLayout.JAVA_FLOAT, cOff + i * ldc + j);
                        err += (got - expect) * (got - expect);
                        ref2 += expect * expect;
                    }
                }
                double nmse = ref2 == 0 ? err : err / ref2;
                assertTrue(nmse <= 1e-7, gemm.name() + " NMSE " + nmse + " beta=" + beta);
                // C's padding, before the offset and between rows, is left alone
                assertEquals(c0[0], cs.getAtIndex(ValueLayout.JAVA_FLOAT, 0), 0f);
                assertEquals(c0[cOff + n], cs.getAtIndex(ValueLayout.JAVA_FLOAT, cOff + n), 0f);
            }
        }
    }

    @Test void rejectsBadArguments() {
        Gemm gemm = JavaGemm.best();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment s = arena.allocate(16 * Float.BYTES);
            var tooShortLd = assertThrows(IllegalArgumentException.class,
                    () -> gemm.sgemm(false, false, 2, 2, 4, 1f, s, 0, 3, s, 0, 2, 0f, s, 0, 2));
            assertTrue(tooShortLd.getMessage().contains("leading dimension of A"), tooShortLd.getMessage());
            var pastEnd = assertThrows(IllegalArgumentException.class,
                    () -> gemm.sgemm(false, false, 4, 4, 4, 1f, s, 0, 4, s, 1, 4, 0f, s, 0, 4));
            assertTrue(pastEnd.getMessage().contains("B (4×4"), pastEnd.getMessage());
        }
    }

    @Test void selection() {
        assertEquals("openblas", Gemm.active().name(), "the OpenBLAS natives should load in this build");
        assertTrue(Gemm.describe().startsWith("openblas: OpenBLAS"), Gemm.describe());
        assertTrue(Gemm.named("java").name().startsWith("java-"));
        var bad = assertThrows(IllegalArgumentException.class, () -> Gemm.named("mkl"));
        assertTrue(bad.getMessage().contains("-Dfrl.blas=mkl"));
    }

    static float[] random(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = rnd.nextFloat() * 2 - 1;
        return v;
    }

    static MemorySegment copy(Arena arena, float[] v) {
        MemorySegment s = arena.allocate(Math.max(1, v.length) * (long) Float.BYTES, 64);
        MemorySegment.copy(v, 0, s, ValueLayout.JAVA_FLOAT, 0, v.length);
        return s;
    }
}
