package frl.backend;

import frl.autograd.GradCheck;
import frl.autograd.Var;
import frl.backend.reference.ReferenceBackend;
import frl.tensor.Scope;
import frl.tensor.Tensor;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs an {@link OpCase}: (1) float64 finite-difference gradient check on the reference backend, (2) a fast
 * backend's forward and backward against the reference, NMSE ≤ the case's tolerance. Records which backend
 * methods the gradient checks reached, for the coverage report.
 */
public final class OpHarness {
    /** Backend methods called while a gradient check ran. */
    public static final Set<String> REACHED = ConcurrentHashMap.newKeySet();
    private static final Backend REFERENCE = recording(new ReferenceBackend());

    static { Backends.register(REFERENCE); }

    private OpHarness() {}

    private static Backend recording(Backend inner) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (p, m, args) -> {
            REACHED.add(m.getName());
            try {
                return m.invoke(inner, args);
            } catch (java.lang.reflect.InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }

    public static Backend reference() { return REFERENCE; }

    /** The gradient check and the comparison of {@code fast} against the reference. */
    public static void check(OpCase c, Backend fast) {
        long seed = c.name().hashCode();
        double[][] values = draw(c, seed);
        try (Scope scope = Scope.open()) {
            Tensor[] ref = tensors(REFERENCE, c, values);
            boolean[] wrt = new boolean[ref.length];
            for (int i = 0; i < wrt.length; i++) wrt[i] = c.inputs().get(i).differentiable();
            GradCheck.Result r = GradCheck.check(c.f(), ref, wrt, 12, 1e-6, 1e-5, 1e-7, seed);
            assertTrue(r.passed(), c.name() + ": gradient check failed: " + r.mismatches());
            if (fast != null) compare(c, fast, values, seed);
        }
    }

    private static double[][] draw(OpCase c, long seed) {
        Random random = new Random(seed);
        double[][] v = new double[c.inputs().size()][];
        for (int i = 0; i < v.length; i++) v[i] = c.inputs().get(i).draw(random);
        return v;
    }

    private static Tensor[] tensors(Backend b, OpCase c, double[][] values) {
        Tensor[] t = new Tensor[values.length];
        for (int i = 0; i < t.length; i++) t[i] = b.fromHost(c.inputs().get(i).shape(), values[i]);
        return t;
    }

    /** Forward output and input gradients (for a fixed random output gradient) on one backend. */
    private static double[][] run(OpCase c, Backend b, double[][] values, long seed) {
        Tensor[] t = tensors(b, c, values);
        Var[] vars = new Var[t.length];
        for (int i = 0; i < t.length; i++) vars[i] = c.inputs().get(i).differentiable() ? Var.leaf(t[i]) : Var.constant(t[i]);
        Var out = c.f().apply(vars);
        Random random = new Random(seed + 1);
        double[] seedGrad = new double[(int) out.value().numel()];
        for (int i = 0; i < seedGrad.length; i++) seedGrad[i] = random.nextGaussian();
        out.backward(b.fromHost(out.shape(), seedGrad));
        double[][] res = new double[t.length + 1][];
        res[0] = out.value().toDoubles();
        for (int i = 0; i < t.length; i++) res[i + 1] = vars[i].grad() == null ? new double[0] : vars[i].grad().toDoubles();
        return res;
    }

    private static void compare(OpCase c, Backend fast, double[][] values, long seed) {
        double[][] want = run(c, REFERENCE, values, seed), got = run(c, fast, values, seed);
        for (int k = 0; k < want.length; k++) {
            String what = k == 0 ? "forward" : "gradient of input " + (k - 1);
            assertEquals(want[k].length, got[k].length, c.name() + " " + what + ": sizes differ");
            double e = nmse(got[k], want[k]);
            assertTrue(e <= c.nmseTol(), c.name() + " on " + fast.name() + ": " + what + " NMSE " + e + " > " + c.nmseTol());
        }
    }

    /** Σ(a−r)² / Σr², with an all-zero reference compared absolutely. */
    public static double nmse(double[] a, double[] r) {
        double num = 0, den = 0;
        for (int i = 0; i < r.length; i++) { num += (a[i] - r[i]) * (a[i] - r[i]); den += r[i] * r[i]; }
        return den == 0 ? num : num / den;
    }

    /** Methods of {@link Backend} that must be reached by gradient checks but were not. */
    public static Set<String> uncovered() {
        Set<String> missing = new TreeSet<>();
        for (Method m : Backend.class.getMethods()) {
            if (m.isDefault() || java.lang.reflect.Modifier.isStatic(m.getModifiers())) continue;
            if (m.isAnnotationPresent(NotDifferentiable.class)) continue;
            if (Arrays.asList("name", "device", "dtype").contains(m.getName())) continue;
            if (!REACHED.contains(m.getName())) missing.add(m.getName());
        }
        return missing;
    }
}
