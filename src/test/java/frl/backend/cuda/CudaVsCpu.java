package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Shared by the GPU tests of the op families: inputs on both backends, float comparisons against the CPU. */
final class CudaVsCpu {
    static final Backend CPU = Backends.cpu();

    private CudaVsCpu() {}

    static float[] uniform(Random r, long n, double lo, double hi) {
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        return v;
    }

    static Shape shape(int... dims) { return Shape.of(dims); }

    /** The elements of a tensor of either device as floats (device tensors copied without a double[] detour). */
    static float[] floats(Tensor t) {
        if (t.device().isHost()) return t.toFloats();
        float[] out = new float[Math.toIntExact(t.numel())];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(4L * out.length, 64);
            t.storage().copyToHost(0, m, m.byteSize());
            MemorySegment.copy(m, ValueLayout.JAVA_FLOAT, 0, out, 0, out.length);
        }
        return out;
    }

    static double nmse(float[] got, float[] want) {
        double num = 0, den = 0;
        for (int i = 0; i < want.length; i++) {
            if (!Float.isFinite(want[i])) continue;
            double d = (double) got[i] - want[i];
            num += d * d;
            den += (double) want[i] * want[i];
        }
        return den == 0 ? num : num / den;
    }

    /** Same shape; the same non-finite values where the CPU has them; NMSE ≤ tol over the rest. Returns the NMSE. */
    static double assertClose(String what, Tensor got, Tensor want, double tol) {
        assertEquals(want.shape(), got.shape(), what + ": shape");
        return assertClose(what, floats(got), floats(want), tol);
    }

    static double assertClose(String what, Tensor cuda, Tensor cpu) { return assertClose(what, cuda, cpu, 1e-7); }

    /** Bit-for-bit equal floats (values that are only moved, or one IEEE operation on each). */
    static void assertExact(String what, Tensor cuda, Tensor cpu) {
        assertEquals(cpu.shape(), cuda.shape(), what + ": shape");
        assertSameFloats(what, floats(cuda), floats(cpu));
    }

    static double assertClose(String what, float[] got, float[] want, double tol) {
        assertEquals(want.length, got.length, what + ": length");
        for (int i = 0; i < want.length; i++) {
            if (Float.isFinite(want[i])) {
                if (!Float.isFinite(got[i])) fail(what + ": got " + got[i] + " at " + i + ", cpu has " + want[i]);
            } else if (Float.floatToIntBits(got[i]) != Float.floatToIntBits(want[i])) {
                fail(what + ": got " + got[i] + " at " + i + ", cpu has " + want[i]);
            }
        }
        double e = nmse(got, want);
        assertTrue(e <= tol, what + ": NMSE " + e + " > " + tol);
        return e;
    }

    /** Bit-for-bit equality (NaNs of any payload equal), naming the first difference and the count. */
    static void assertSameFloats(String what, float[] got, float[] want) {
        assertEquals(want.length, got.length, what + ": length");
        int first = -1, count = 0;
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToIntBits(got[i]) != Float.floatToIntBits(want[i])) {
                if (first < 0) first = i;
                count++;
            }
        }
        if (count > 0) fail(what + ": " + count + " of " + want.length + " values differ from the cpu's, first at " + first
                + ": " + got[first] + " vs " + want[first]);
    }
}
