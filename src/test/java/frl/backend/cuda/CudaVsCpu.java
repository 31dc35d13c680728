package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.OpHarness;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** For the GPU tests of the pointwise, reduce and layout families: one input on both backends, results compared. */
final class CudaVsCpu {
    static final Backend CPU = Backends.cpu();

    private CudaVsCpu() {}

    static Shape shape(int... dims) { return Shape.of(dims); }

    static float[] uniform(Random r, long n, double lo, double hi) {
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        return v;
    }

    /** The same shape, the same non-finite values (NaN included) where the CPU has them, NMSE ≤ tol over the rest. */
    static void assertClose(String what, Tensor cuda, Tensor cpu, double tol) {
        assertEquals(cpu.shape(), cuda.shape(), what + ": shape");
        float[] g = cuda.toFloats(), w = cpu.toFloats();
        double[] gf = new double[g.length], wf = new double[w.length];
        int n = 0;
        for (int i = 0; i < w.length; i++) {
            if (Float.isFinite(w[i])) {
                if (!Float.isFinite(g[i])) fail(what + ": cuda " + g[i] + " at " + i + ", cpu " + w[i]);
                gf[n] = g[i];
                wf[n++] = w[i];
            } else if (Float.compare(w[i], g[i]) != 0) {
                fail(what + ": cuda " + g[i] + " at " + i + ", cpu " + w[i]);
            }
        }
        double e = OpHarness.nmse(Arrays.copyOf(gf, n), Arrays.copyOf(wf, n));
        assertTrue(e <= tol, what + ": NMSE " + e + " > " + tol);
    }

    static void assertClose(String what, Tensor cuda, Tensor cpu) { assertClose(what, cuda, cpu, 1e-7); }

    /** Bit-for-bit equal floats (values that are only moved, or one IEEE operation on each). */
    static void assertExact(String what, Tensor cuda, Tensor cpu) {
        assertEquals(cpu.shape(), cuda.shape(), what + ": shape");
        float[] g = cuda.toFloats(), w = cpu.toFloats();
        for (int i = 0; i < w.length; i++)
            if (Float.floatToIntBits(g[i]) != Float.floatToIntBits(w[i])) fail(what + ": at " + i + " cuda " + g[i] + ", cpu " + w[i]);
    }
}
