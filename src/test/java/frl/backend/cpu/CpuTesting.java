package frl.backend.cpu;

import frl.backend.Backend;
import frl.backend.OpHarness;
import frl.backend.reference.ReferenceBackend;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shared by the CPU op tests: both kernel implementations, the float64 oracle, random inputs, NMSE checks. */
final class CpuTesting {
    static final Backend CPU = CpuBackend.instance();
    static final Backend REF = new ReferenceBackend();

    private CpuTesting() {}

    /** Scalar kernels always; the Vector-API kernels too when the module is present (it is under surefire). */
    static List<Kernels> kernels() {
        List<Kernels> ks = new ArrayList<>(List.of(new ScalarKernels()));
        if (VectorSupport.present()) ks.add(VectorApiKernels.create());
        return ks;
    }

    /** Makes the CPU ops use k until closed. */
    interface Active extends AutoCloseable { @Override void close(); }

    static Active use(Kernels k) {
        Kernels old = Kernels.use(k);
        return () -> Kernels.use(old);
    }

    static float[] uniform(Random r, long n, double lo, double hi) {
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        return v;
    }

    static Tensor cpu(Shape s, float[] v) { return CPU.fromHost(s, v); }

    static Tensor ref(Shape s, float[] v) { return REF.fromHost(s, v); }

    static Shape shape(int... dims) { return Shape.of(dims); }

    /** Same shape, the same non-finite values where the reference has them, NMSE ≤ 1e-7 over the rest. */
    static void assertClose(String what, Tensor got, Tensor want) {
        assertEquals(want.shape(), got.shape(), what + ": shape");
        double[] g = got.toDoubles(), w = want.toDoubles(), gf = new double[g.length], wf = new double[w.length];
        int n = 0;
        for (int i = 0; i < w.length; i++) {
            if (Double.isFinite(w[i])) {
                assertTrue(Double.isFinite(g[i]), what + ": got " + g[i] + " at " + i + ", want " + w[i]);
                gf[n] = g[i];
                wf[n++] = w[i];
            } else {
                assertEquals(w[i], g[i], what + ": at " + i);
            }
        }
        double e = OpHarness.nmse(Arrays.copyOf(gf, n), Arrays.copyOf(wf, n));
        assertTrue(e <= 1e-7, what + ": NMSE " + e + " > 1e-7");
    }
}
