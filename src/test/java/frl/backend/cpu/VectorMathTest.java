package frl.backend.cpu;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.UnaryOp;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Runs where the Vector API module is present (the project's JVM flags add it). */
class VectorMathTest {
    private static final int L = VectorMath.F.length();

    private static float[] apply(UnaryOperator<FloatVector> f, float[] in) {
        float[] out = new float[in.length];
        for (int i = 0; i < in.length; i += L) f.apply(FloatVector.fromArray(VectorMath.F, in, i)).intoArray(out, i);
        return out;
    }

    /** Distance from the exact value in units of the float ulp there. */
    private static double ulps(float got, double exact) {
        if (Double.isNaN(exact)) return Float.isNaN(got) ? 0 : Double.POSITIVE_INFINITY;
        if (got == exact || got == (float) exact) return 0;
        if (Float.isInfinite((float) exact)) return Double.POSITIVE_INFINITY;   // the rounded result overflows, got did not
        return Math.abs(got - exact) / Math.ulp((float) exact);
    }

    /** The worst error over a fixed sweep: uniform in [lo, hi], and for positive ranges log-uniform too. */
    private static double worstUlps(UnaryOperator<FloatVector> f, DoubleUnaryOperator exact, float lo, float hi) {
        Random r = new Random(11);
        float[] in = new float[L * 8192];
        for (int i = 0; i < in.length; i++)
            in[i] = lo > 0 && i % 2 == 0 ? (float) Math.exp(Math.log(lo) + (Math.log(hi) - Math.log(lo)) * r.nextDouble()) : lo + (hi - lo) * r.nextFloat();
        float[] out = apply(f, in);
        double worst = 0;
        for (int i = 0; i < in.length; i++) worst = Math.max(worst, ulps(out[i], exact.applyAsDouble(in[i])));
        return worst;
    }

    private static void assertUlps(double bound, UnaryOperator<FloatVector> f, DoubleUnaryOperator exact, float lo, float hi) {
        double worst = worstUlps(f, exact, lo, hi);
        assertTrue(worst <= bound, "worst error " + worst + " ulps on [" + lo + ", " + hi + "], bound " + bound);
    }

    @Test void accuracyInUlps() {
        assertUlps(1, VectorMath::exp, Math::exp, -110f, 90f);
        assertUlps(1, VectorMath::exp, Math::exp, -1f, 1f);
        assertUlps(1, VectorMath::log, Math::log, 1e-44f, 3e38f);
        assertUlps(1, VectorMath::log, Math::log, 0.5f, 2f);
        assertUlps(1.5, VectorMath::log1p, Math::log1p, 0f, 1f);
        assertUlps(1.5, VectorMath::log1p, Math::log1p, 1e-30f, 1e-3f);
        assertUlps(1.5, VectorMath::expm1, Math::expm1, -20f, 20f);
        assertUlps(1.5, VectorMath::expm1, Math::expm1, -0.5f, 0.5f);
        assertUlps(2.5, VectorMath::tanh, Math::tanh, -12f, 12f);
        assertUlps(2.5, VectorMath::tanh, Math::tanh, -0.01f, 0.01f);
    }

    @Test void edgeValues() {
        float[] x = new float[Math.max(L, 16)];
        float[] special = {0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, -1f, Float.MIN_VALUE, 88.72f, 88.73f, -87.34f, -103.9f, -104.1f, 1f};
        System.arraycopy(special, 0, x, 0, special.length);
        float[] e = apply(VectorMath::exp, x), l = apply(VectorMath::log, x), t = apply(VectorMath::tanh, x), m = apply(VectorMath::expm1, x);
        assertArrayEquals(new float[] {1, Float.POSITIVE_INFINITY, 0, Float.NaN, (float) Math.exp(-1), 1, (float) Math.exp(88.72f), Float.POSITIVE_INFINITY,
                (float) Math.exp(-87.34f), (float) Math.exp(-103.9f), 0, (float) Math.E}, Arrays.copyOf(e, special.length), "exp (subnormal results included)");
        assertArrayEquals(new float[] {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, Float.NaN, Float.NaN, (float) Math.log(Float.MIN_VALUE)},
                Arrays.copyOf(l, 6), "log");
        assertArrayEquals(new float[] {0, 1, -1, Float.NaN}, Arrays.copyOf(t, 4), "tanh");
        assertArrayEquals(new float[] {0, Float.POSITIVE_INFINITY, -1, Float.NaN}, Arrays.copyOf(m, 4), "expm1");
        assertEquals(Float.MIN_VALUE, m[5], "expm1 of the least subnormal");
        assertEquals(Float.MIN_VALUE, t[5], "tanh of the least subnormal");
    }

    /** The transcendental ops and the softmax loss on fixed inputs, as one line per op of float-bit hashes. */
    static List<String> kernelBits() {
        Backend be = Backends.cpu();
        Random r = new Random(5);
        int n = 2048;
        double[] v = new double[n], positive = new double[n];
        for (int i = 0; i < n; i++) { v[i] = 12 * r.nextGaussian(); positive[i] = Math.abs(v[i]) + 1e-3; }
        float[] targets = new float[16];
        for (int i = 0; i < targets.length; i++) targets[i] = r.nextInt(128);
        List<String> lines = new ArrayList<>();
        try (Scope _ = Scope.open()) {
            Tensor x = be.fromHost(Shape.of(n), v), xp = be.fromHost(Shape.of(n), positive);
            for (UnaryOp op : new UnaryOp[] {UnaryOp.EXP, UnaryOp.LOG, UnaryOp.TANH, UnaryOp.SOFTPLUS, UnaryOp.ELU, UnaryOp.SIGMOID})
                lines.add(op + " " + Arrays.hashCode(be.unary(op, op == UnaryOp.LOG ? xp : x, 1, 0).toFloats()));
            Tensor logits = x.reshape(16, 128), t = be.fromHost(Shape.of(16), targets);
            lines.add("crossEntropy " + Arrays.hashCode(be.crossEntropy(logits, t, 1).toFloats()));
            lines.add("crossEntropyBackward " + Arrays.hashCode(be.crossEntropyBackward(logits, t, be.full(Shape.of(16), 1), 1).toFloats()));
        }
        return lines;
    }

    /** Entry point of the interpreted run below. */
    public static void main(String[] args) { kernelBits().forEach(System.out::println); }

    /**
     * The reason this class exists: the same inputs give the same bits in a JVM that only interprets (-Xint,
     * where the Vector API computes lane by lane in Java) and here after the JIT has compiled the loops.
     */
    @Test void interpretedAndCompiledGiveTheSameBits() throws IOException, InterruptedException {
        assumeTrue(Kernels.active() instanceof VectorApiKernels, "the Vector API module is not present");
        for (int i = 0; i < 3000; i++) kernelBits();   // enough calls for C2 to compile every loop involved
        List<String> compiled = kernelBits();
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process p = new ProcessBuilder(java, "-Xint", "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), VectorMathTest.class.getName()).redirectErrorStream(false).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the interpreted run did not finish");
        assertEquals(0, p.exitValue(), () -> "the interpreted run failed: " + new String(readAll(p), StandardCharsets.UTF_8));
        assertEquals(compiled, out.lines().toList());
    }

    private static byte[] readAll(Process p) {
        try { return p.getErrorStream().readAllBytes(); } catch (IOException e) { return e.toString().getBytes(StandardCharsets.UTF_8); }
    }
}
